"""`assay forecast` as a user runs it: files in, forecasts and scores out, clear errors."""

import os
import subprocess
import sys

import pandas as pd


def assay(*args):
    return subprocess.run(
        [sys.executable, "-m", "assay", *args],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        timeout=300,
    )


def test_forecast_long_csv_end_to_end(tmp_path, hourly_long):
    data, out = tmp_path / "sales.csv", tmp_path / "forecast.csv"
    hourly_long.to_csv(data, index=False)
    args = ["forecast", str(data), "--time", "ts", "--target", "sales", "--id", "store"]
    proc = assay(*args, "--horizon", "12", "--time-limit", "20", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "ensemble:" in proc.stdout and "season 24" in proc.stdout
    frame = pd.read_csv(out)
    assert list(frame.columns) == ["id", "step", "time", "forecast"]
    assert len(frame) == 3 * 12 and frame["forecast"].notna().all()
    piped = assay(*args, "--horizon", "3", "--models", "snaive")
    assert piped.returncode == 0, piped.stderr
    assert piped.stdout.splitlines()[0] == "id,step,time,forecast"


def test_forecast_wide_with_test_file_prints_scores(tmp_path, seasonal):
    train, test = tmp_path / "train.csv", tmp_path / "test.csv"
    rows = [[i, *y[:-12]] for i, y in zip(seasonal.ids, seasonal.values, strict=True)]
    pd.DataFrame(rows).to_csv(train, index=False)
    rows = [[i, *y[-12:]] for i, y in zip(seasonal.ids, seasonal.values, strict=True)]
    pd.DataFrame(rows).to_csv(test, index=False)
    proc = assay(
        "forecast",
        str(train),
        "--wide",
        "--horizon",
        "12",
        "--season",
        "12",
        "--models",
        "snaive,theta,damped",
        "--test",
        str(test),
        "--out",
        str(tmp_path / "f.csv"),
    )
    assert proc.returncode == 0, proc.stderr
    assert "test: smape" in proc.stdout and "owa" in proc.stdout
    assert "theta" in proc.stdout and "naive2" in proc.stdout  # each candidate's backtest


def test_bad_target_column_exits_3_naming_it(tmp_path, hourly_long):
    data = tmp_path / "sales.csv"
    hourly_long.to_csv(data, index=False)
    proc = assay("forecast", str(data), "--time", "ts", "--target", "revenue", "--horizon", "3")
    assert proc.returncode == 3
    assert "Target column 'revenue'" in proc.stderr and "'sales'" in proc.stderr
    assert "Traceback" not in proc.stderr

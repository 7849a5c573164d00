"""`assay forecast` as a user runs it: files in, forecasts and scores out, clear errors."""

import os
import subprocess
import sys

import numpy as np
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
        "--levels",
        "95",
        "--out",
        str(tmp_path / "f.csv"),
    )
    assert proc.returncode == 0, proc.stderr
    assert "test: smape" in proc.stdout and "owa" in proc.stdout
    assert "theta" in proc.stdout and "naive2" in proc.stdout  # each candidate's backtest
    assert "test 95% intervals: coverage" in proc.stdout and "msis" in proc.stdout


def test_bad_target_column_exits_3_naming_it(tmp_path, hourly_long):
    data = tmp_path / "sales.csv"
    hourly_long.to_csv(data, index=False)
    proc = assay("forecast", str(data), "--time", "ts", "--target", "revenue", "--horizon", "3")
    assert proc.returncode == 3
    assert "Target column 'revenue'" in proc.stderr and "'sales'" in proc.stderr
    assert "Traceback" not in proc.stderr


BOUNDS = ["lo_80", "hi_80", "lo_95", "hi_95"]


def test_levels_write_ordered_bounds_beside_the_forecast(tmp_path, hourly_long):
    data, out = tmp_path / "sales.csv", tmp_path / "forecast.csv"
    hourly_long.to_csv(data, index=False)
    args = ["forecast", str(data), "--time", "ts", "--target", "sales", "--id", "store"]
    proc = assay(*args, "--horizon", "6", "--models", "snaive,theta", "--levels", "80,95")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0] == "id,step,time,forecast,lo_80,hi_80,lo_95,hi_95"
    # levels in any order; statistical models only, so the test's time is not the boosters'
    proc = assay(*args, "-H", "6", "--models", "ses,damped", "--levels", "95,80", "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    frame = pd.read_csv(out)
    assert list(frame.columns) == ["id", "step", "time", "forecast", *BOUNDS]
    assert len(frame) == 3 * 6 and frame[BOUNDS].notna().all().all()
    ordered = frame[["lo_95", "lo_80", "forecast", "hi_80", "hi_95"]].to_numpy()
    assert (np.diff(ordered, axis=1) >= 0).all()
    assert (frame["hi_80"] > frame["lo_80"]).all()


def _noisy_seasonal_long(n_series: int, length: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Monthly series: level + a yearly sine + Gaussian noise of a known sigma per series."""
    rng = np.random.default_rng(seed)
    t = np.arange(length)
    sigmas = rng.uniform(1.0, 5.0, n_series)
    frames = []
    for i, sigma in enumerate(sigmas):
        pattern = 20 * np.sin(2 * np.pi * t / 12 + rng.uniform(0, 2 * np.pi))
        y = rng.uniform(80, 120) + pattern + sigma * rng.normal(size=length)
        dates = pd.date_range("2000-01-01", periods=length, freq="MS")
        frames.append(pd.DataFrame({"id": f"s{i:03d}", "month": dates, "y": y}))
    return pd.concat(frames, ignore_index=True), sigmas


def test_80_percent_intervals_cover_80_percent_of_a_held_out_tail(tmp_path):
    """100 series with Gaussian noise of known sigma; the last 12 months of each are held
    out. The 80% bounds must cover about 80% of those 1200 values (3 backtest origins x 100
    series = 300 errors per step; the coverage's standard deviation is about 0.03), and be
    about as wide as the noise demands: zero-width bounds cover ~0, bounds 10x too wide ~1."""
    horizon = 12
    frame, sigmas = _noisy_seasonal_long(n_series=100, length=108, seed=0)
    last = frame.groupby("id")["month"].transform("max")
    held_out = frame["month"] > last - pd.DateOffset(months=horizon)
    data, out = tmp_path / "train.csv", tmp_path / "forecast.csv"
    frame[~held_out].to_csv(data, index=False)
    proc = assay(
        "forecast",
        str(data),
        "--time",
        "month",
        "--target",
        "y",
        "--id",
        "id",
        "--horizon",
        str(horizon),
        "--models",
        "snaive,ses,theta",
        "--levels",
        "80,95",
        "--out",
        str(out),
    )
    assert proc.returncode == 0, proc.stderr
    forecast = pd.read_csv(out, parse_dates=["time"])
    truth = frame[held_out].rename(columns={"month": "time"})
    joined = forecast.merge(truth, on=["id", "time"], validate="one_to_one")
    assert len(joined) == 100 * horizon
    inside_80 = ((joined["y"] >= joined["lo_80"]) & (joined["y"] <= joined["hi_80"])).mean()
    inside_95 = ((joined["y"] >= joined["lo_95"]) & (joined["y"] <= joined["hi_95"])).mean()
    assert abs(inside_80 - 0.80) < 0.07, inside_80
    assert 0.90 < inside_95 < 0.99, inside_95
    # half-widths against the noise alone (1.2816 sigma at 80%): the forecast errors carry
    # the noise plus some estimation error, so a little wider, never much narrower
    sigma = pd.Series(sigmas, index=[f"s{i:03d}" for i in range(len(sigmas))])
    ratio = (joined["hi_80"] - joined["lo_80"]) / 2 / (1.2816 * joined["id"].map(sigma))
    assert 0.8 < ratio.median() < 2.0, ratio.median()


def test_bad_levels_exit_3_saying_what_to_give(tmp_path, hourly_long):
    data = tmp_path / "sales.csv"
    hourly_long.to_csv(data, index=False)
    args = ["forecast", str(data), "--time", "ts", "--target", "sales", "--horizon", "3"]
    for bad in ("80,120", "abc"):
        proc = assay(*args, "--id", "store", "--levels", bad)
        assert proc.returncode == 3, (bad, proc.stderr)
        assert "--levels" in proc.stderr and "between 0 and 100" in proc.stderr
        assert "--levels 80,95" in proc.stderr  # what to give instead
        assert "Traceback" not in proc.stderr and proc.stdout == ""

"""The CLI as a user runs it: real processes, real files, exit codes and messages."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from assay.store import open_store


def assay(*args, env=None, check=True):
    proc = subprocess.run(
        [sys.executable, "-m", "assay", *args],
        capture_output=True,
        text=True,
        env=env or os.environ.copy(),
        timeout=300,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"assay {args} exited {proc.returncode}:\n{proc.stderr}")
    return proc


def test_fit_predict_leaderboard_runs(tmp_path):
    out = tmp_path / "predictor"
    fit = assay(
        "fit",
        "builtin:iris",
        "--target",
        "target",
        "--trials",
        "3",
        "--models",
        "linear,knn",
        "--out",
        str(out),
    )
    assert "Leaderboard (logloss" in fit.stdout and "ensemble" in fit.stdout
    assert (out / "manifest.json").exists()
    data = tmp_path / "flowers.csv"
    from assay.data import read_table

    read_table("builtin:iris").drop(columns=["target"]).head(7).to_csv(data, index=False)
    assay("predict", str(out), str(data), "--out", str(tmp_path / "p.csv"))
    predictions = pd.read_csv(tmp_path / "p.csv")
    assert list(predictions.columns) == [
        "prediction",
        "proba_setosa",
        "proba_versicolor",
        "proba_virginica",
    ]
    assert len(predictions) == 7
    piped = assay("predict", str(out), str(data))
    assert piped.stdout.splitlines()[0].startswith("prediction,")
    assert "ensemble" in assay("leaderboard", str(out)).stdout
    runs = assay("runs").stdout
    assert "finished" in runs and "multiclass" in runs


def test_bad_input_exits_3_with_a_message_and_no_traceback(tmp_path):
    proc = assay("fit", str(tmp_path / "nope.csv"), "--target", "y", check=False)
    assert proc.returncode == 3
    assert "nope.csv" in proc.stderr and "Traceback" not in proc.stderr
    data = tmp_path / "d.csv"
    pd.DataFrame({"colour": ["a", "b"] * 10, "price": range(20)}).to_csv(data, index=False)
    proc = assay("fit", str(data), "--target", "prise", check=False)
    assert proc.returncode == 3 and "price" in proc.stderr
    usage = assay("fit", str(data), check=False)
    assert usage.returncode == 2


@pytest.mark.slow  # one kill; tests/reliability/test_faults.py kills ten times
def test_kill_9_mid_fit_keeps_finished_trials(tmp_path, assay_home):
    data = tmp_path / "big.csv"
    from sklearn.datasets import make_classification

    X, y = make_classification(n_samples=1000, n_features=10, random_state=0)
    pd.DataFrame(X).assign(y=y).to_csv(data, index=False)
    fit = ["fit", str(data), "--target", "y", "--trials", "200", "--models", "linear,knn"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "assay", *fit],  # far from done when two trials are recorded
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=os.environ.copy(),
    )
    db = Path(assay_home) / "assay.db"
    deadline = time.monotonic() + 240
    try:
        while time.monotonic() < deadline:
            if db.exists():
                runs = open_store().runs()
                if runs and len(open_store().trials(runs[0].run_id)) >= 2:
                    break
            time.sleep(0.5)
        else:
            pytest.fail("assay fit recorded fewer than 2 trials in 240 s")
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    store = open_store()  # opening marks runs of dead processes interrupted
    run = store.runs()[0]
    assert run.state.value == "interrupted"
    trials = store.trials(run.run_id)
    assert len(trials) >= 2 and all(t.state.value for t in trials)
    assert "interrupted" in assay("runs").stdout


def test_fit_with_a_trial_count_and_fast_deploy(tmp_path):
    import json

    out = tmp_path / "fast"
    args = ["fit", "builtin:iris", "--target", "target", "--models", "linear,knn"]
    fit = assay(*args, "--trials", "3", "--deploy", "fast", "--out", str(out))
    assert "(3 trials)" in fit.stdout and "members refitted on all rows" in fit.stdout
    assert "stacking used: " in fit.stdout or "stacking not used: " in fit.stdout
    members = json.loads((out / "manifest.json").read_text())["members"]
    assert members and all(len(m["folds"]) == 1 for m in members)
    bad = assay(*args, "--trials", "3", "--deploy", "quick", check=False)
    assert bad.returncode == 2  # a usage error: --deploy takes auto, bagged or fast
    assert "'quick' is not one of" in bad.stderr and "--deploy" in bad.stderr


def test_explain_compare_and_report_from_the_command_line(tmp_path):
    from assay.data import read_table

    frame = read_table("builtin:breast_cancer")
    frame.iloc[:400].to_csv(tmp_path / "train.csv", index=False)
    frame.iloc[400:].to_csv(tmp_path / "held_out.csv", index=False)
    for name, models in (("a", "lightgbm"), ("b", "linear")):
        assay("fit", str(tmp_path / "train.csv"), "--target", "target", "--trials", "1",
              "--models", models, "--out", str(tmp_path / name))  # fmt: skip
    board = assay("leaderboard", str(tmp_path / "a")).stdout
    assert "fold_mean" in board and "p_vs_top" in board
    out = assay("explain", str(tmp_path / "a"), str(tmp_path / "held_out.csv"),
                "--out", str(tmp_path / "explain"), "--pd", "2").stdout  # fmt: skip
    assert "Permutation importance" in out and "Mean |SHAP|" in out
    assert out.count("partial dependence of") == 2
    importance = pd.read_csv(tmp_path / "explain" / "importance.csv")
    assert list(importance.columns) == ["feature", "importance", "ci_low", "ci_high", "p_value"]
    assert len(importance) == 30 and (tmp_path / "explain" / "shap.csv").exists()
    linear = assay("explain", str(tmp_path / "b"), str(tmp_path / "held_out.csv"), "--pd", "0")
    assert "SHAP skipped" in linear.stderr and "LightGBM" in linear.stderr
    out = assay("compare", str(tmp_path / "a"), str(tmp_path / "b"),
                str(tmp_path / "held_out.csv"), "--no-refit").stdout  # fmt: skip
    assert "paired bootstrap" in out and "paired t-test (fixed models" in out
    assert "significantly better" in out or "No significant difference" in out
    missing = assay("explain", str(tmp_path / "a"), str(tmp_path / "train.csv").replace(
        "train", "nope"), check=False)  # fmt: skip
    assert missing.returncode == 3 and "nope" in missing.stderr
    assay("report", str(tmp_path / "a"), "--out", str(tmp_path / "r.html"))
    assert "plotly" in (tmp_path / "r.html").read_text()


def test_printed_paths_come_out_whole_and_as_given(tmp_path):
    """A script reads "Predictor saved to PATH" off a pipe: a path longer than the line and
    one with brackets in its name come out on that line, as they are."""
    out = tmp_path / ("a-folder-name-long-enough-to-pass-the-line-width-" * 3) / "run[final][/x]"
    fit = assay(
        "fit", "builtin:iris", "--target", "target", "--trials", "1", "--models", "linear",
        "--out", str(out), "--report",
    )  # fmt: skip
    lines = fit.stdout.splitlines()
    assert f"Predictor saved to {out}" in lines
    assert f"Predict with: assay predict {out} DATA --out predictions.csv" in lines
    report = next(line for line in lines if line.startswith("Report written to "))
    assert Path(report.removeprefix("Report written to ")).is_file()

"""`assay fit` options come from the fit settings: each reaches the stored run, and a
resume takes the options a resume may change."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from assay import AutoML
from assay._fit_settings import FitSettings
from assay.store import RunState, open_store


def assay(*args):
    return subprocess.run(
        [sys.executable, "-m", "assay", *args],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        timeout=600,
    )


@pytest.fixture
def csv(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(150, 3))
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    frame["y"] = np.where(X[:, 0] - X[:, 2] + rng.normal(0, 0.5, 150) > 0, "yes", "no")
    path = tmp_path / "data.csv"
    frame.to_csv(path, index=False)
    return path


def test_every_fit_option_with_a_flag_is_on_the_command_line():
    shown = assay("fit", "--help").stdout
    flags = [o.flag for o in FitSettings.options().values() if o.flag]
    assert len(flags) >= 14
    for flag in flags:
        assert flag in shown, flag


def test_command_line_options_reach_the_stored_run(csv):
    proc = assay(
        "fit", str(csv), "--target", "y", "--trials", "1", "--models", "linear",
        "--jobs", "1", "--memory", "3000", "--seed", "2", "--folds", "3", "--stack", "off",
        "--embed", "off", "--deploy", "fast", "--portfolio", "handmade", "--metric",
        "logloss", "--task", "binary",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    (run,) = open_store().runs()
    record = run.settings
    assert (record["n_jobs"], record["memory_limit_mb"], record["random_state"]) == (1, 3000, 2)
    assert (record["n_folds"], record["stack"], record["embed"]) == (3, "off", False)
    assert (record["deploy"], record["portfolio"], record["models"]) == (
        "fast",
        "handmade",
        ["linear"],
    )
    assert (run.metric, run.task, run.state) == ("logloss", "binary", RunState.FINISHED)


def test_a_wrong_choice_is_refused_with_the_choices(csv):
    proc = assay("fit", str(csv), "--target", "y", "--stack", "sometimes")
    assert proc.returncode == 2
    assert "auto" in proc.stderr and "off" in proc.stderr


def test_resume_from_the_command_line_takes_a_new_time_limit(csv):
    def stop(progress) -> None:
        if hasattr(progress, "last"):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        AutoML(time_limit_s=300, models=["linear", "knn"], memory_limit_mb=3000.0).fit(
            str(csv), target="y", callback=stop
        )
    (run,) = open_store().runs()
    refused = assay("fit", "--resume", run.run_id, "--seed", "4")
    assert refused.returncode == 3 and "resume keeps the run's random_state" in refused.stderr
    proc = assay("fit", "--resume", run.run_id, "--time", "9")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert " of 9s " in proc.stdout, proc.stdout

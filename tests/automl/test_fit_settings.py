"""Fit options are declared once: every one reaches the constructor, get_params, the stored
run, resume, the scikit-learn wrappers and the command line; and a run's predictor is
where the store says, however the fit was started."""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from assay import AutoClassifier, AutoML, AutoRegressor, Predictor
from assay.config import settings
from assay.errors import ConfigError
from assay.store import RunState, open_store

# a value other than the default for every option a run stores; a new option must be
# added here, which is the point: the test then checks it survives a resume
STORED = {
    "task": "binary",
    "metric": "logloss",
    "time_limit_s": None,  # with n_trials: no limit (a resume computes the time left)
    "random_state": 3,
    "n_folds": 3,
    "cv": "time:d",  # rows ordered by column d: folds train on the past
    "models": ["linear", "knn"],
    "n_jobs": 1,
    "n_trials": 3,
    "deploy": "fast",
    "forests": "folds",
    "memory_limit_mb": 4096.0,
    "portfolio": "handmade",
    "stack": "off",
    "embed": False,
    "features": [["ratio", "a", "b"]],
    "warm_start": [{"model": "knn", "config": {"n_neighbors": 7}, "loss": 0.5}],
}
# where the run is recorded or runs, what it shows and where it logs: given to each call
PER_CALL = {"store", "cluster", "verbosity", "mlflow"}


class _Interrupt:
    """A progress callback that stops the fit like Ctrl-C after `n` trials."""

    def __init__(self, n: int):
        self.n, self.seen = n, 0

    def __call__(self, progress) -> None:
        if hasattr(progress, "last"):
            self.seen += 1
            if self.seen >= self.n:
                raise KeyboardInterrupt


@pytest.fixture
def csv(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(160, 4))
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    frame["y"] = np.where(X[:, 0] + 0.5 * X[:, 1] + rng.normal(0, 0.5, 160) > 0, "yes", "no")
    path = tmp_path / "data.csv"
    frame.to_csv(path, index=False)
    return path


def _interrupted(csv, **options) -> str:
    with pytest.raises(KeyboardInterrupt):
        AutoML(**options).fit(str(csv), target="y", callback=_Interrupt(1))
    (run,) = open_store().runs()
    assert run.state is RunState.INTERRUPTED
    return run.run_id


def test_every_option_has_a_stored_value_here():
    assert set(STORED) | PER_CALL == set(inspect.signature(AutoML).parameters)


def test_every_stored_option_survives_store_and_resume(csv):
    run_id = _interrupted(csv, **STORED)
    resumed = AutoML.resume(run_id)
    params = resumed.get_params()
    for name, value in STORED.items():
        assert params[name] == value, name
    assert resumed.predictor_.info["deploy"] == "fast"  # the restored options were used
    assert resumed.predictor_.info["stack"]["reason"] == "stack='off'"


def test_a_resumed_auto_features_fit_keeps_the_features_its_first_start_found(tmp_path):
    rng = np.random.default_rng(0)
    a, b = rng.uniform(1, 10, 600), rng.uniform(1, 10, 600)
    csv = tmp_path / "ratio.csv"
    pd.DataFrame({"a": a, "b": b, "y": np.where(a / b > 1, "yes", "no")}).to_csv(csv, index=False)
    run_id = _interrupted(csv, features="auto", n_trials=3, models=["linear"], n_folds=3)
    run_dir = settings().home / run_id
    found = json.loads((run_dir / "features.json").read_text())
    assert found, "discovery kept nothing: a / b decides the class"
    resumed = AutoML.resume(run_id)
    assert resumed.features == "auto"
    assert [s.to_list() for s in resumed.predictor_.derived.generated] == found


def test_resume_takes_a_new_time_limit_and_keeps_memory_and_threads(csv):
    run_id = _interrupted(
        csv, time_limit_s=300, n_jobs=1, memory_limit_mb=3000.0, models=["linear"]
    )
    resumed = AutoML.resume(run_id, time_limit_s=7)
    assert resumed.time_limit_s == 7
    assert (resumed.n_jobs, resumed.memory_limit_mb) == (1, 3000.0)
    record = open_store().get_run(run_id).settings
    assert (record["n_jobs"], record["memory_limit_mb"]) == (1, 3000.0)


def test_resume_refuses_options_that_change_the_search(csv):
    run_id = _interrupted(csv, n_trials=3, models=["linear"])
    with pytest.raises(ConfigError, match="resume keeps the run's random_state"):
        AutoML.resume(run_id, random_state=5)
    with pytest.raises(ConfigError, match="unknown option"):
        AutoML.resume(run_id, n_trees=5)


def test_a_python_fit_is_usable_by_run_id_and_not_fitted_again(csv, tmp_path):
    automl = AutoML(n_trials=1, models=["linear"]).fit(str(csv), target="y")
    run = open_store().get_run(automl.run_id_)
    assert run.state is RunState.FINISHED and run.artifact_dir
    assert Predictor.load(run.artifact_dir).info["run_id"] == automl.run_id_
    left = settings().home / automl.run_id_ / "trials" / "0000"  # as a kill after the finish
    left.mkdir(parents=True)
    with pytest.raises(ConfigError, match="already finished; its predictor is in"):
        AutoML.resume(automl.run_id_)
    assert not left.parent.exists() and Path(run.artifact_dir).is_dir()
    out = tmp_path / "predictions.csv"
    proc = subprocess.run(
        [sys.executable, "-m", "assay", "predict", automl.run_id_, str(csv), "--out", str(out)],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert len(pd.read_csv(out)) == 160
    moved = automl.save(tmp_path / "elsewhere")  # the agent saves where its session is
    assert open_store().get_run(automl.run_id_).artifact_dir == str(moved)


def test_the_wrappers_take_every_option_but_the_task():
    options = set(inspect.signature(AutoML).parameters) - {"task"}
    for wrapper in (AutoClassifier, AutoRegressor):
        signature = inspect.signature(wrapper)
        assert set(signature.parameters) == options, wrapper
        assert signature.parameters["store"].default is False  # clones are not recorded


def test_a_wrapper_passes_its_options_to_the_fit():
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(80, 3)), rng.normal(size=80)
    model = AutoRegressor(n_trials=1, models=["linear"], memory_limit_mb=2000.0, n_jobs=1)
    model.fit(X, y)
    assert (model.automl_.memory_limit_mb, model.automl_.n_jobs) == (2000.0, 1)


def test_options_are_checked_where_they_are_declared():
    with pytest.raises(ConfigError, match="n_jobs=0"):
        AutoML(n_jobs=0).check()
    with pytest.raises(ValueError, match="stack='sometimes'"):
        AutoML(stack="sometimes").check()


def test_a_wrapper_used_before_fit_says_so():
    from assay.errors import NotFittedError

    with pytest.raises(NotFittedError, match="AutoClassifier is not fitted yet"):
        AutoClassifier().predict(np.zeros((2, 2)))

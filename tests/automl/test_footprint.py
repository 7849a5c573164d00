"""What a fit holds in memory and leaves on disk: a finished trial keeps only its
out-of-fold predictions in memory (its fold models go to its checkpoint), so the peak does
not grow with the number of trials; a finished run keeps its predictor and out-of-fold
record, not the trials' checkpoints; a fit that records nothing checkpoints into a
temporary folder that is gone when the fit ends."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import assay
from assay import AutoML
from assay.automl._policy import MemoryGuard
from assay.automl._trials import TrialOutcome
from assay.data import read_table
from assay.evaluate import CrossFit
from assay.models import MODELS
from assay.search import Candidate
from assay.store import RunState, TrialState, open_store

# A fit with a fixed number of trials in a fresh process: its peak resident memory (above
# what the process held before the fit) is printed as JSON. Every config is the same
# 100-tree extra-trees forest, fully grown on random labels of ten classes (~30 MB of fold
# models per trial): the portfolio's n_estimators differ, but trees_for caps a forest on
# this few rows at 100 trees, so the trials are identical, Caruana picks the first one
# alone, and the predictor holds one member whatever the trial count. What differs is
# only what the search holds. The peak is the probe's own VmHWM: ru_maxrss carries the peak
# of the process that spawned it across exec (late in the suite, a 2 GB pytest process made
# both fits look flat at 0 MB).
_PROBE = """
import json, re, sys
import numpy as np, pandas as pd
import optuna, sklearn.ensemble  # imported by any fit: before the baseline
from assay import AutoML
from assay.search import save_portfolio

n_trials, portfolio = int(sys.argv[1]), sys.argv[2]
rng = np.random.default_rng(0)
frame = pd.DataFrame(rng.normal(size=(450, 6)), columns=[f"x{i}" for i in range(6)])
frame["y"] = [f"c{k}" for k in rng.integers(0, 10, size=450)]
entries = [("extra_trees", {"n_estimators": 100 + i}) for i in range(n_trials)]
save_portfolio(portfolio, {"classification": entries}, about="memory probe")


def peak_mb():
    status = open("/proc/self/status").read()
    return int(re.search(r"VmHWM:\\s+(\\d+) kB", status).group(1)) / 1024


before = peak_mb()
automl = AutoML(
    models=["extra_trees"], portfolio=portfolio, n_trials=n_trials, n_folds=3,
    stack="off", n_jobs=1, forests="folds",  # three fold models a trial, as most families
).fit(frame, target="y")
peak = peak_mb()
print(json.dumps({"growth_mb": peak - before, "members": len(automl.predictor_.members),
                  "n_trials": automl.predictor_.info["n_trials"], "run_id": automl.run_id_}))
"""


def _peak_growth_mb(n_trials: int, tmp_path: Path, assay_home: Path) -> dict:
    env = {**os.environ, "ASSAY_HOME": str(assay_home), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE, str(n_trials), str(tmp_path / f"p{n_trials}.json")],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_peak_memory_does_not_grow_with_the_number_of_trials(tmp_path, assay_home):
    small = _peak_growth_mb(2, tmp_path, assay_home)
    large = _peak_growth_mb(6, tmp_path, assay_home)
    assert (small["n_trials"], large["n_trials"]) == (2, 6)
    assert small["members"] == large["members"] == 1  # the predictors hold the same
    assert small["growth_mb"] > 20, small  # the probe sees the fit's own models
    # holding every trial's fold models, the 6-trial fit peaked ~2.2x as high as the 2-trial
    # one (~230 MB against ~110 MB above the baseline); one trial's models at a time, both
    # peak alike (~80 MB)
    assert large["growth_mb"] < 1.35 * small["growth_mb"], (small, large)
    # the default store recorded both runs; neither kept its trials' checkpoints
    for run in (small, large):
        assert not (assay_home / run["run_id"] / "trials").exists()


def _finished(trial_no: int, n_rows: int, *, in_memory: bool, saved_in=None) -> TrialOutcome:
    models = [object()] * 5 if in_memory else []
    fit = CrossFit(oof=np.zeros((n_rows, 2)), models=models, fold_scores=[0.9] * 5)
    candidate = Candidate("random_forest", {"n_estimators": 300}, "portfolio")
    outcome = TrialOutcome(trial_no, candidate, TrialState.COMPLETE, 0.9, fit)
    outcome.saved_in = saved_in
    return outcome


def test_the_memory_guard_counts_models_in_memory_not_checkpointed_ones(tmp_path):
    n_rows = 50_000
    guard = MemoryGuard(limit_mb=10_000, n_rows=n_rows, n_features=20, n_folds=5)
    oof_mb = n_rows * 2 * 8 / 2**20
    forest_mb = 5 * MODELS["random_forest"].memory_mb(40_000, 20, 2, {"n_estimators": 300})
    held = _finished(0, n_rows, in_memory=True)
    saved = _finished(1, n_rows, in_memory=False, saved_in=tmp_path)
    guard.hold([held, saved], MODELS)
    assert guard.held_mb == pytest.approx(forest_mb + 2 * oof_mb)
    guard.hold([saved], MODELS)
    assert guard.held_mb == pytest.approx(oof_mb)  # its models are on disk


def test_a_fit_without_a_store_checkpoints_into_a_folder_it_removes(monkeypatch, tmp_path):
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    seen = []

    def look(progress):
        last = getattr(progress, "last", None)
        if last is None or last.state is not TrialState.COMPLETE:
            return
        # the trial's fold models left memory for its checkpoint; its OOF stayed
        assert last.fit.models == [] and last.fit.encoders == [] and last.fit.oof is not None
        meta = json.loads((last.saved_in / "meta.json").read_text())
        seen.append((last.saved_in.parent.parent.name.startswith("assay-fit-"), meta["n_folds"]))

    frame = read_table("builtin:breast_cancer")
    automl = AutoML(models=["linear", "knn"], n_trials=3, n_folds=3, stack="off", store=False)
    automl.fit(frame, target="target", callback=look)
    assert seen == [(True, 3)] * 3
    assert list(scratch.iterdir()) == []  # removed at the end of the fit
    assert automl.artifact_dir_ is None
    members = automl.predictor_.members
    assert members and all(len(m.models) == len(m.encoders) for m in members)
    # a linear member keeps its 3 fold models; a kNN member is one model on all rows
    assert all(len(m.models) == (1 if m.model == "knn" else 3) for m in members)
    # the members' models, loaded back from the removed folder, predict as fitted
    assert (automl.predict(frame) == frame.target).mean() > 0.95


def test_a_fit_without_a_store_that_fails_removes_its_folder_too(monkeypatch, tmp_path):
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    frame = read_table("builtin:breast_cancer")

    def stop(progress):
        if getattr(progress, "last", None) is not None:
            assert any(scratch.iterdir())  # the fit's folder, while it runs
            raise RuntimeError("stopped by the test")

    with pytest.raises(RuntimeError, match="stopped by the test"):
        AutoML(models=["linear"], n_trials=2, store=False).fit(frame, "target", callback=stop)
    assert list(scratch.iterdir()) == []


def test_a_finished_run_keeps_what_its_predictor_and_report_read(tmp_path):
    url = f"sqlite:///{tmp_path / 'assay.db'}"
    frame = read_table("builtin:breast_cancer")
    automl = AutoML(models=["linear", "knn"], n_trials=3, n_folds=3, stack="off", store=url)
    automl.fit(frame, target="target")
    store = open_store(url)
    run = store.get_run(automl.run_id_)
    folder = Path(run.artifact_dir).parent
    assert run.state is RunState.FINISHED and Path(run.artifact_dir) == folder / "predictor"
    assert sorted(p.name for p in folder.iterdir()) == ["oof", "predictor"]  # no trials/
    oof = sorted(p.name for p in (folder / "oof").iterdir())
    assert {"ensemble.npy", "target.npy", "fold_of_row.npy"} <= set(oof)
    loaded = assay.load(run.artifact_dir)
    np.testing.assert_array_equal(loaded.predict_proba(frame), automl.predict_proba(frame))
    from assay.report import gather_inputs

    inputs = gather_inputs(automl.run_id_, store=store)
    assert inputs.run_dir == folder and inputs.trials and len(inputs.trials) == 3
    store.close()


def test_a_resumed_run_builds_its_ensemble_from_the_checkpoints(tmp_path, assay_home):
    data = tmp_path / "cancer.csv"
    read_table("builtin:breast_cancer").to_csv(data, index=False)
    options = dict(models=["linear"], n_trials=3, n_folds=3, stack="off")
    whole = AutoML(**options, store=f"sqlite:///{tmp_path / 'whole.db'}").fit(data, "target")

    url = f"sqlite:///{tmp_path / 'assay.db'}"

    def stop_after_two(progress):
        if getattr(progress, "last", None) is not None and progress.last.trial_no == 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        AutoML(**options, store=url).fit(data, "target", callback=stop_after_two)
    run = open_store(url).runs()[0]
    assert run.state is RunState.INTERRUPTED
    assert len(list((assay_home / run.run_id / "trials").iterdir())) == 2

    resumed = AutoML.resume(run.run_id, store=url)
    assert open_store(url).get_run(run.run_id).state is RunState.FINISHED
    assert not (assay_home / run.run_id / "trials").exists()
    # the two trials before the kill came back from their checkpoints, models included
    rows = read_table(str(data))
    pd.testing.assert_frame_equal(resumed.predict_proba(rows), whole.predict_proba(rows))


def test_a_level2_trial_comes_back_from_its_checkpoint_as_it_was(tmp_path):
    # a level-2 trial is checkpointed like any other: its encoders know the stack columns
    # (the bases' OOF predictions) and its models predict the same after the round trip
    from math import inf

    from assay._types import Task, TrialSource
    from assay.automl._checkpoint import load_models, save_trial
    from assay.automl._member import stack_features
    from assay.automl._stack import stack_types
    from assay.data import prepare
    from assay.evaluate import cross_fit, get_metric, make_folds, predict_bagged

    data = prepare(read_table("builtin:breast_cancer"), "target")
    y = np.unique(data.y.to_numpy(), return_inverse=True)[1]
    folds = make_folds(y, Task.BINARY, 3, 0)
    base_oof = np.column_stack([1 - y * 0.8, y * 0.8])  # a base's OOF, as extra columns
    X2 = stack_features(data.X, [base_oof])
    fit = cross_fit(
        MODELS["knn"], {}, X2, y, stack_types(data.schema.types, X2), folds,
        task=Task.BINARY, metric=get_metric("auc", Task.BINARY), n_classes=2, n_jobs=1,
        random_state=0, deadline=inf,
    )  # fmt: skip
    expected = predict_bagged(fit.encoders, fit.models, X2, Task.BINARY, 2)
    stack = Candidate("knn", {}, TrialSource.STACK)
    outcome = TrialOutcome(7, stack, TrialState.COMPLETE, 0.9, fit)
    assert outcome.level == 2
    save_trial(tmp_path, outcome)
    assert outcome.fit.models == [] and outcome.saved_in == tmp_path / "trials" / "0007"
    encoders, models = load_models(outcome.saved_in)
    np.testing.assert_array_equal(predict_bagged(encoders, models, X2, Task.BINARY, 2), expected)


def _checkpointed_member(tmp_path: Path, model: str, config: dict):
    """A real trial of `model` on breast cancer, 3 folds, checkpointed as a fit does it, and
    the ensemble member made of it; with the context a refit uses."""
    from assay._types import FeatureType, Task
    from assay.automl._assemble import _member
    from assay.automl._checkpoint import save_trial
    from assay.automl._context import FitContext
    from assay.evaluate import get_metric, make_folds

    frame = read_table("builtin:breast_cancer")
    X, y = frame.drop(columns="target"), np.unique(frame["target"], return_inverse=True)[1]
    folds = make_folds(y, Task.BINARY, 3, random_state=0)
    ctx = FitContext(
        X, y, dict.fromkeys(X.columns, FeatureType.NUMERIC), folds, Task.BINARY,
        get_metric(None, Task.BINARY), n_classes=2, n_jobs=1, random_state=0,
    )  # fmt: skip
    fit = ctx.cross_fit(MODELS[model], config)
    outcome = TrialOutcome(0, Candidate(model, config, "portfolio"), TrialState.COMPLETE, 0.9, fit)
    save_trial(tmp_path, outcome)
    return _member(outcome, weight=1.0), ctx, outcome.saved_in


def test_a_member_refitted_on_all_rows_never_reads_its_fold_models(tmp_path):
    from assay.automl._refit import refit_members

    config = {"learning_rate": 0.1, "num_leaves": 15, "n_estimators": 400}
    member, ctx, folder = _checkpointed_member(tmp_path, "lightgbm", config)
    # the member waits for its fold models in the checkpoint; the refit reads only the
    # rounds each fold model kept, which the checkpoint's meta carries
    assert member.models == [] and member.checkpoint == folder
    rounds = json.loads((folder / "meta.json").read_text())["rounds"]
    assert len(rounds) == 3 and member.fold_rounds == rounds
    for fold in folder.glob("fold_*"):  # a refit that read them would fail now
        for file in (fold / "model").iterdir():
            file.unlink()
    assert refit_members([member], MODELS, ctx, deadline=float("inf")) == 1
    assert len(member.models) == 1 and member.checkpoint is None
    assert member.models[0].n_iterations_ == round(np.mean(rounds))
    proba = member.predict_raw(ctx.X, ctx.task, 2)
    assert ((proba[:, 1] > 0.5) == ctx.y).mean() > 0.95


def test_a_member_that_stays_bagged_reads_its_fold_models_back(tmp_path):
    from assay.automl._refit import refit_members

    member, ctx, _ = _checkpointed_member(tmp_path, "lightgbm", {"n_estimators": 50})
    assert refit_members([member], MODELS, ctx, deadline=0.0) == 0  # no time to refit
    assert len(member.models) == len(member.encoders) == 3 and member.checkpoint is None
    proba = member.predict_raw(ctx.X, ctx.task, 2)
    assert ((proba[:, 1] > 0.5) == ctx.y).mean() > 0.95

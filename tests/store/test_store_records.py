"""Round trips through the store: what goes in comes back, including awkward floats.

Every test taking `store` runs on SQLite and on PostgreSQL (tests/store/conftest.py)."""

from __future__ import annotations

import math
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest

from assay.errors import StoreError
from assay.store import RunRecord, RunState, SQLStore, TrialRecord, TrialState, open_store


def _trial(run_id: str, trial_no: int, **overrides) -> TrialRecord:
    values = dict(
        run_id=run_id,
        trial_no=trial_no,
        model="lgbm",
        config={"learning_rate": 0.05, "num_leaves": 31},
        state=TrialState.COMPLETE,
        score=0.8 + trial_no / 100,
        fold_scores=(0.79, 0.81),
        fit_time_s=1.5,
        predict_time_s=0.25,
        peak_memory_mb=123.0,
        error=None,
        oof_path=f"oof/{trial_no}.npy",
        created_at=1_700_000_000.0 + trial_no,
    )
    values.update(overrides)
    return TrialRecord(**values)


def test_run_round_trip_keeps_every_field(store: SQLStore, backend: str, tmp_path: Path) -> None:
    settings = {"folds": 5, "nested": {"models": ["lgbm", "knn"], "limit": math.inf}}
    started = store.start_run(
        task="binary",
        target="y",
        metric="roc_auc",
        source="data.csv",
        time_limit_s=60.0,
        settings=settings,
    )
    if backend == "sqlite":
        assert (tmp_path / "nested" / "assay.db").is_file()  # its folder was made for it
    assert started.state is RunState.RUNNING
    assert len(started.run_id) == 32
    assert store.get_run(started.run_id) == started

    store.update_run(started.run_id, best_model="lgbm", metric="log_loss")
    store.finish_run(started.run_id, RunState.FINISHED, best_score=0.91, artifact_dir="out")
    done = store.get_run(started.run_id)
    assert isinstance(done, RunRecord)
    assert done.state is RunState.FINISHED
    assert done.finished_at is not None and done.finished_at >= started.created_at
    assert (done.best_score, done.best_model, done.metric) == (0.91, "lgbm", "log_loss")
    assert done.artifact_dir == "out"
    assert done.settings == settings and done.settings["nested"]["limit"] == math.inf


def test_trials_round_trip_with_nested_configs_and_non_finite_floats(store: SQLStore) -> None:
    run_id = store.start_run(task="regression").run_id
    nested = {"lr": 0.1, "layers": [64, {"dropout": math.nan}], "clip": -math.inf, "name": "x"}
    sent = [
        _trial(run_id, 2, config=nested, score=math.nan, fold_scores=(math.nan, math.inf, 0.5)),
        _trial(run_id, 0),
        _trial(run_id, 1, state=TrialState.FAILED, score=None, fold_scores=(), error="boom"),
        _trial(run_id, 3, score=-math.inf, peak_memory_mb=None),
    ]
    for trial in sent:
        store.record_trial(trial)

    got = store.trials(run_id)
    assert [t.trial_no for t in got] == [0, 1, 2, 3]
    assert got[0] == sent[1] and got[1] == sent[2] and got[3] == sent[3]
    weird = got[2]
    assert math.isnan(weird.score)  # NaN stays NaN, distinct from None
    assert got[1].score is None and got[1].error == "boom" and got[1].state is TrialState.FAILED
    assert isinstance(weird.fold_scores, tuple)
    assert math.isnan(weird.fold_scores[0]) and weird.fold_scores[1:] == (math.inf, 0.5)
    assert weird.config["layers"][0] == 64 and math.isnan(weird.config["layers"][1]["dropout"])
    assert weird.config["clip"] == -math.inf and weird.config["name"] == "x"
    assert store.get_run(run_id).n_trials == 4


def test_runs_are_listed_newest_first_and_limited(store: SQLStore) -> None:
    ids = [store.start_run(task="binary").run_id for _ in range(4)]
    assert [r.run_id for r in store.runs()] == ids[::-1]
    assert [r.run_id for r in store.runs(limit=2)] == ids[:1:-1]


def test_get_run_accepts_a_unique_prefix(store: SQLStore) -> None:
    run_id = store.start_run().run_id
    store.record_trial(_trial(run_id, 0))
    assert store.get_run(run_id[:4]).run_id == run_id
    assert [t.run_id for t in store.trials(run_id[:6])] == [run_id]
    with pytest.raises(StoreError, match="no run"):
        store.get_run(run_id[:3])  # too short to be a prefix


def test_unknown_run_id_says_how_to_find_ids(store: SQLStore) -> None:
    store.start_run()
    for call in (store.get_run, store.trials, lambda i: store.update_run(i, task="binary")):
        with pytest.raises(StoreError, match=r"no run 'nope1234'.*`assay runs`"):
            call("nope1234")
    with pytest.raises(StoreError, match="no run"):
        store.record_trial(_trial("nope1234", 0))


def test_bad_writes_are_refused_and_leave_nothing_behind(store: SQLStore) -> None:
    run_id = store.start_run().run_id
    store.record_trial(_trial(run_id, 0))
    with pytest.raises(StoreError, match="already recorded"):
        store.record_trial(_trial(run_id, 0, model="other"))
    with pytest.raises(StoreError, match="cannot be stored"):
        store.record_trial(_trial(run_id, 1, config={"f": object()}))
    with pytest.raises(TypeError, match="run_id"):
        store.update_run(run_id, run_id="other")
    with pytest.raises(ValueError, match="final state"):
        store.finish_run(run_id, RunState.RUNNING)
    assert [t.model for t in store.trials(run_id)] == ["lgbm"]
    assert store.get_run(run_id).n_trials == 1


def test_delete_run_takes_its_trials_and_llm_calls_but_never_a_running_run(
    store: SQLStore,
) -> None:
    kept, gone = store.start_run().run_id, store.start_run().run_id
    for run_id in (kept, gone):
        store.record_trial(_trial(run_id, 0))
        store.record_llm_call(run_id, model="m", prompt_tokens=3)
    assert not store.delete_run(gone)  # still running: nothing changes
    assert len(store.trials(gone)) == 1
    store.finish_run(gone, RunState.FINISHED)
    assert store.delete_run(gone)
    assert [r.run_id for r in store.runs()] == [kept]
    with pytest.raises(StoreError, match="no run"):
        store.trials(gone)
    assert len(store.trials(kept)) == 1 and len(store.llm_calls(kept)) == 1
    assert not store.delete_run(gone)  # gone already
    store.start_run()  # the store takes new runs after a delete as before


def test_mark_stale_runs_only_touches_dead_processes_on_this_host(store: SQLStore) -> None:
    finished = subprocess.Popen([sys.executable, "-c", "pass"])
    finished.wait()
    dead = store.start_run().run_id
    store.update_run(dead, pid=finished.pid)
    alive = store.start_run().run_id
    elsewhere = store.start_run().run_id
    store.update_run(elsewhere, pid=finished.pid, host="another-host")

    assert store.mark_stale_runs() == [dead]
    assert store.get_run(dead).state is RunState.INTERRUPTED
    assert str(finished.pid) in store.get_run(dead).error
    assert store.get_run(alive).state is RunState.RUNNING
    assert store.get_run(elsewhere).state is RunState.RUNNING
    assert store.mark_stale_runs() == []


def test_open_store_defaults_to_assay_home(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("ASSAY_STORE", raising=False)
    monkeypatch.setenv("ASSAY_HOME", str(tmp_path / "home"))
    with open_store() as store:
        run_id = store.start_run().run_id
    with open_store(f"sqlite:///{tmp_path / 'home' / 'assay.db'}") as again:
        assert again.get_run(run_id).run_id == run_id


def test_sqlite_store_is_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "assay.db"
    open_store(f"sqlite:///{path}").close()
    with closing(sqlite3.connect(path)) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)  # set on open

"""Heartbeats: a run of another host (a shared PostgreSQL store) is taken for dead once its
heartbeat is older than `stale_after_s`; a run of this host goes by its process."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import Engine, update

from assay.errors import StoreError
from assay.store import RunState, SQLStore, TrialRecord, TrialState
from assay.store._schema import runs


def _age(engine: Engine, run_id: str, *, created_s_ago: float) -> None:
    """Pretend the run started that long ago (created_at cannot change through the API)."""
    with engine.begin() as conn:
        conn.execute(
            update(runs)
            .where(runs.c.run_id == run_id)
            .values(created_at=time.time() - created_s_ago)
        )


def test_heartbeat_records_when_the_run_was_last_alive(store: SQLStore) -> None:
    run_id = store.start_run().run_id
    assert store.get_run(run_id).heartbeat_at is None
    before = time.time()
    store.heartbeat(run_id)
    beat = store.get_run(run_id).heartbeat_at
    assert beat is not None and before <= beat <= time.time()
    store.record_trial(TrialRecord(run_id, 0, "dummy", {}, TrialState.COMPLETE, 0.5))
    assert store.get_run(run_id).heartbeat_at >= beat  # a trial counts as a sign of life
    with pytest.raises(StoreError, match=r"no run 'nope1234'"):
        store.heartbeat("nope1234")


def test_runs_of_other_hosts_are_interrupted_when_their_heartbeat_is_old(
    store: SQLStore, raw_engine: Engine
) -> None:
    beating = store.start_run().run_id
    silent = store.start_run().run_id
    never = store.start_run().run_id
    young = store.start_run().run_id
    for run_id in (beating, silent, never, young):
        store.update_run(run_id, host="node-7", pid=4242)
        _age(raw_engine, run_id, created_s_ago=3600)
    _age(raw_engine, young, created_s_ago=10)  # started recently, no heartbeat yet
    store.heartbeat(beating)
    store.update_run(silent, heartbeat_at=time.time() - 1000)

    assert sorted(store.mark_stale_runs()) == sorted([silent, never])
    assert store.get_run(beating).state is RunState.RUNNING
    assert store.get_run(young).state is RunState.RUNNING
    dead = store.get_run(silent)
    assert dead.state is RunState.INTERRUPTED and dead.finished_at is not None
    when = time.strftime("%Y-%m-%d %H:%M", time.gmtime(dead.heartbeat_at))
    assert "node-7" in dead.error and "4242" in dead.error
    assert f"the last was at {when}" in dead.error and "300 s" in dead.error
    assert "node-7" in store.get_run(never).error
    assert "sent no heartbeat since the run started" in store.get_run(never).error
    assert store.mark_stale_runs() == []


def test_stale_after_s_sets_how_old_a_heartbeat_may_be(store: SQLStore, raw_engine: Engine) -> None:
    run_id = store.start_run().run_id
    store.update_run(run_id, host="node-7", heartbeat_at=time.time() - 120)
    assert store.mark_stale_runs() == []  # the default is 300 s
    assert store.mark_stale_runs(stale_after_s=600) == []
    assert store.mark_stale_runs(stale_after_s=60) == [run_id]
    assert "more than 60 s" in store.get_run(run_id).error


def test_a_live_process_of_this_host_is_never_taken_for_dead(
    store: SQLStore, raw_engine: Engine
) -> None:
    run_id = store.start_run().run_id  # this process, this host
    _age(raw_engine, run_id, created_s_ago=3600)
    store.update_run(run_id, heartbeat_at=time.time() - 3600)
    assert store.mark_stale_runs(stale_after_s=1) == []
    assert store.get_run(run_id).state is RunState.RUNNING

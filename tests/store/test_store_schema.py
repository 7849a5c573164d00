"""Schema version and migrations, on both backends: a fresh store is stamped with the latest
version, an older one is upgraded in place keeping its rows, a newer one is refused."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import (
    Column,
    Double,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    inspect,
    select,
    update,
)

from assay.errors import StoreError
from assay.store import RunState, open_store
from assay.store._codec import NaNSafeFloat
from assay.store._schema import (
    MIGRATIONS,
    SCHEMA_VERSION,
    experiments,
    hypotheses,
    llm_calls,
    metadata,
    schema_version,
    trials,
)

# The runs table as schema version 4 made it (before heartbeat_at), frozen here.
_v4 = MetaData()
runs_v4 = Table(
    "runs",
    _v4,
    Column("run_id", String(32), primary_key=True),
    Column("state", String(16), nullable=False, index=True),
    Column("created_at", Double, nullable=False, index=True),
    Column("finished_at", Double),
    Column("task", String(32)),
    Column("target", Text),
    Column("metric", String(64)),
    Column("source", Text),
    Column("time_limit_s", Double),
    Column("settings", Text, nullable=False),
    Column("best_score", NaNSafeFloat),
    Column("best_model", Text),
    Column("artifact_dir", Text),
    Column("n_trials", Integer, nullable=False, default=0),
    Column("pid", Integer, nullable=False),
    Column("host", String(255), nullable=False),
    Column("error", Text),
)


def _version(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.scalar(select(schema_version.c.version))


def test_migrations_are_numbered_one_by_one() -> None:
    assert [m.version for m in MIGRATIONS] == list(range(1, len(MIGRATIONS) + 1))
    assert SCHEMA_VERSION == MIGRATIONS[-1].version == 5


def test_fresh_store_gets_the_latest_version_and_newer_stores_are_refused(
    store_url: str, raw_engine: Engine
) -> None:
    open_store(store_url).close()
    assert _version(raw_engine) == SCHEMA_VERSION
    open_store(store_url).close()  # opening again changes nothing
    assert _version(raw_engine) == SCHEMA_VERSION
    with raw_engine.begin() as conn:
        conn.execute(update(schema_version).values(version=99))
    with pytest.raises(StoreError, match=r"schema version 99, newer .*upgrade assay"):
        open_store(store_url)


def test_a_version_4_store_is_upgraded_and_keeps_its_runs(
    store_url: str, raw_engine: Engine
) -> None:
    old_run = {
        "run_id": "a" * 32,
        "state": RunState.RUNNING.value,
        "created_at": time.time(),
        "settings": "{}",
        "n_trials": 1,
        "pid": 1,
        "host": "another-host",
        "best_score": 0.5,
    }
    with raw_engine.begin() as conn:
        _v4.create_all(conn)
        metadata.create_all(conn, tables=[trials, llm_calls, experiments, hypotheses])
        metadata.create_all(conn, tables=[schema_version])
        conn.execute(schema_version.insert().values(id=1, version=4, updated_at=0.0))
        conn.execute(runs_v4.insert().values(**old_run))
    assert "heartbeat_at" not in {c["name"] for c in inspect(raw_engine).get_columns("runs")}

    with open_store(store_url) as store:
        assert _version(raw_engine) == SCHEMA_VERSION
        assert "heartbeat_at" in {c["name"] for c in inspect(raw_engine).get_columns("runs")}
        run = store.get_run("a" * 32)
        assert (run.state, run.best_score, run.n_trials) == (RunState.RUNNING, 0.5, 1)
        assert run.heartbeat_at is None
        store.heartbeat(run.run_id)
        assert store.get_run(run.run_id).heartbeat_at is not None
        assert store.start_run(task="binary").heartbeat_at is None


def test_migrations_run_again_over_tables_made_by_today_schema(
    store_url: str, raw_engine: Engine
) -> None:
    """Every migration must tolerate tables that already have today's columns."""
    open_store(store_url).close()
    with raw_engine.begin() as conn:
        conn.execute(update(schema_version).values(version=1))
    with open_store(store_url) as store:
        run_id = store.start_run().run_id
        store.heartbeat(run_id)
        assert store.record_llm_call(run_id, model="m") == 1
    assert _version(raw_engine) == SCHEMA_VERSION

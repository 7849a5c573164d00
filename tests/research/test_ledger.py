"""The ledger: results.tsv survives torn writes, the store mirrors it, migration 3 adds
the experiments table to older stores, and the noise floor."""

from __future__ import annotations

import sqlite3
from contextlib import closing

import pytest

from assay.errors import StoreError
from assay.research import ExperimentRecord, ExperimentStatus, Ledger, noise_floor
from assay.store import open_store


def _record(exp_no: int, status=ExperimentStatus.DISCARD, **values) -> ExperimentRecord:
    defaults = dict(
        research_id="abc123",
        exp_no=exp_no,
        commit=f"{exp_no:040d}",
        parent="0" * 40,
        status=status,
        score=0.1234567890123,
        description="features: + log1p\tof\nskewed numerics",
        source="search",
        wall_s=3.5,
        peak_memory_mb=200.25,
        started_at=1_700_000_000.123,
        config_hash="0123456789ab",
    )
    return ExperimentRecord(**{**defaults, **values})


def test_lines_round_trip_and_the_store_mirrors_them(tmp_path):
    ledger = Ledger(tmp_path, "abc123")
    baseline = _record(0, ExperimentStatus.BASELINE, seed_scores=(0.5, 0.52, 0.51))
    refused = _record(1, ExperimentStatus.REFUSED, commit=None, score=None, wall_s=None)
    written = [ledger.append(baseline), ledger.append(refused), ledger.append(_record(2))]
    lines = (tmp_path / "results.tsv").read_text().splitlines()
    assert lines[0].split("\t") == [
        "exp",
        "commit",
        "parent",
        "score",
        "status",
        "source",
        "wall_s",
        "peak_memory_mb",
        "started_at",
        "config_hash",
        "seed_scores",
        "description",
    ]
    assert lines[3].endswith("\tfeatures: + log1p of skewed numerics")  # one line, one cell
    read = ledger.read()
    assert read == written
    assert read[0].seed_scores == (0.5, 0.52, 0.51) and read[1].commit is None
    assert read[2].score == pytest.approx(0.1234567890123, rel=1e-9)
    stored = open_store().experiments("abc123")
    assert [r.to_dict() for r in stored] == [r.to_dict() for r in read]
    with pytest.raises(StoreError, match="already recorded"):
        open_store().record_experiment(read[2])


def test_a_torn_last_line_is_dropped_and_cut_off_on_repair(tmp_path):
    ledger = Ledger(tmp_path, "abc123", store=False)
    ledger.append(_record(0, ExperimentStatus.BASELINE))
    ledger.append(_record(1))
    path = tmp_path / "results.tsv"
    whole = path.read_bytes()
    path.write_bytes(whole + b"2\t0000000000000000000000000000000000000002\t00")
    assert [r.exp_no for r in ledger.read()] == [0, 1]
    assert path.read_bytes() != whole  # reading alone changes nothing
    ledger.read(repair=True)
    assert path.read_bytes() == whole
    ledger.append(_record(2))
    assert [r.exp_no for r in ledger.read()] == [0, 1, 2]


def test_sync_store_adds_only_the_rows_it_lacks(tmp_path):
    offline = Ledger(tmp_path, "abc123", store=False)
    for i in range(3):
        offline.append(_record(i))
    store = open_store()
    store.record_experiment(offline.read()[0])
    assert Ledger(tmp_path, "abc123").sync_store(offline.read()) == 2
    assert [r.exp_no for r in store.experiments("abc123")] == [0, 1, 2]
    assert store.experiments("other") == []


def test_migration_3_adds_experiments_to_a_version_2_store(tmp_path):
    from sqlalchemy import create_engine

    from assay.store._schema import (
        SCHEMA_VERSION,
        llm_calls,
        metadata,
        runs,
        schema_version,
        trials,
    )

    path = tmp_path / "old.db"
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        metadata.create_all(conn, tables=[runs, trials, llm_calls, schema_version])
        conn.execute(schema_version.insert().values(id=1, version=2, updated_at=0.0))
    engine.dispose()
    store = open_store(f"sqlite:///{path}")
    store.record_experiment(_record(0))
    assert [r.exp_no for r in store.experiments("abc123")] == [0]
    with closing(sqlite3.connect(path)) as conn:
        assert conn.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]


def test_noise_floor_is_twice_the_seed_spread_with_a_floor():
    assert noise_floor([0.80, 0.82, 0.84]) == pytest.approx(2 * 0.02)
    assert noise_floor([0.8, 0.8, 0.8]) == pytest.approx(1e-4)
    assert noise_floor([1500.0]) == pytest.approx(0.15)  # scaled to the metric's size

"""A run's disk on the command line: `assay fit --out` keeps one copy of the predictor
(the run folder's and --out's files are the same), and `assay runs prune` removes old runs'
folders and store rows, never a running run's."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import pytest

import assay
from assay.data import read_table
from assay.store import RunState, TrialRecord, TrialState, open_store


def _assay(*args, check=True):
    proc = subprocess.run(
        [sys.executable, "-m", "assay", *args],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        timeout=300,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"assay {args} exited {proc.returncode}:\n{proc.stderr}")
    return proc


def _files(folder: Path) -> dict[str, Path]:
    return {str(p.relative_to(folder)): p for p in folder.rglob("*") if p.is_file()}


def test_fit_out_keeps_one_copy_that_both_folders_load(tmp_path, assay_home):
    out = tmp_path / "predictor"
    args = ("--trials", "2", "--models", "linear", "--folds", "3")
    _assay("fit", "builtin:iris", "--target", "target", *args, "--out", str(out))
    run = open_store().runs()[0]
    in_run = assay_home / run.run_id / "predictor"
    assert Path(run.artifact_dir) == out.resolve()  # the run names --out as its predictor
    mine, theirs = _files(out), _files(in_run)
    assert mine.keys() == theirs.keys() and "manifest.json" in mine
    # the same files, not copies: one inode each, linked from both folders
    assert all(os.stat(mine[name]).st_ino == os.stat(theirs[name]).st_ino for name in mine)
    rows = read_table("builtin:iris").head(9)
    expected = assay.load(out).predict_proba(rows)
    assert assay.load(in_run).predict_proba(rows).equals(expected)
    # the run's folder keeps its predictor and OOF record, not the trials' checkpoints
    assert sorted(p.name for p in (assay_home / run.run_id).iterdir()) == ["oof", "predictor"]


def _old_run(store, home: Path, days: float, *, with_folder: bool = True) -> str:
    """A finished run that started and ended `days` ago, with a trial and a folder."""
    run_id = store.start_run(task="binary", target="y", metric="auc", source="x.csv").run_id
    store.record_trial(
        TrialRecord(run_id=run_id, trial_no=0, model="linear", config={}, state=TrialState.FAILED)
    )
    store.finish_run(run_id, RunState.FINISHED, best_score=0.9)
    when = time.time() - days * 86400
    with closing(sqlite3.connect(home / "assay.db")) as conn, conn:
        conn.execute(
            "UPDATE runs SET created_at = ?, finished_at = ?, heartbeat_at = ? WHERE run_id = ?",
            (when, when, when, run_id),
        )
    if with_folder:
        (home / run_id / "predictor").mkdir(parents=True)
        (home / run_id / "predictor" / "manifest.json").write_text("{}")
    return run_id


def _ids(store) -> set[str]:
    return {r.run_id for r in store.runs(limit=None)}


def test_runs_prune_removes_old_runs_folders_and_rows_but_not_a_running_one(assay_home):
    store = open_store()
    old = [_old_run(store, assay_home, days) for days in (30, 20, 10)]
    recent = _old_run(store, assay_home, 0.5)
    # started long ago, still running: this process owns it and beats
    running = store.start_run(task="binary").run_id
    with closing(sqlite3.connect(assay_home / "assay.db")) as conn, conn:
        conn.execute(
            "UPDATE runs SET created_at = ?, heartbeat_at = ? WHERE run_id = ?",
            (time.time() - 90 * 86400, time.time(), running),
        )
    (assay_home / running).mkdir()

    listed = _assay("runs", "prune", "--older-than", "15", "--dry-run").stdout
    assert "Would prune 2 run(s)" in listed and old[0][:8] in listed and old[1][:8] in listed
    assert _ids(store) == {*old, recent, running}  # a dry run changes nothing
    assert all((assay_home / run_id).is_dir() for run_id in old)

    done = _assay("runs", "prune", "--older-than", "15").stdout
    assert "Pruned 2 run(s)" in done
    assert _ids(store) == {old[2], recent, running}
    assert not (assay_home / old[0]).exists() and not (assay_home / old[1]).exists()
    with closing(sqlite3.connect(assay_home / "assay.db")) as conn:
        left = {row[0] for row in conn.execute("SELECT DISTINCT run_id FROM trials")}
    assert left == {old[2], recent}  # the pruned runs' trials went with them

    # keep the newest one: the running run, started before any other, stays too
    assert "Pruned 1 run(s)" in _assay("runs", "prune", "--keep", "1").stdout
    assert _ids(store) == {recent, running} and (assay_home / running).is_dir()
    assert "Pruned 1 run(s)" in _assay("runs", "prune", "--keep", "0").stdout
    assert _ids(store) == {running} and store.get_run(running).state is RunState.RUNNING
    assert "No run to prune" in _assay("runs", "prune", "--keep", "0").stdout


def test_runs_prune_with_both_criteria_prunes_what_both_name(assay_home):
    store = open_store()
    runs = [_old_run(store, assay_home, days, with_folder=False) for days in (40, 30, 2, 1)]
    _assay("runs", "prune", "--keep", "1", "--older-than", "7")
    # the two older than 7 days go; of the two recent ones, beyond --keep 1, none is old
    assert _ids(store) == {runs[2], runs[3]}


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (("--keep", "-1"), "'--keep'"),
        (("--keep", "two"), "'--keep'"),
        (("--older-than", "-3"), "'--older-than'"),
        (("--older-than", "inf"), "'--older-than'"),
        ((), "--keep N"),
    ],
)
def test_runs_prune_names_the_bad_argument(args, named):
    proc = _assay("runs", "prune", *args, check=False)
    assert proc.returncode == 2, proc.stderr
    assert named in proc.stderr, proc.stderr

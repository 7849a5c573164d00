"""Resuming after an interruption: every intermediate point a kill can leave, made by hand,
then a real `kill -9` of `assay research run` at a random moment."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time

import psutil
import pytest
from research_helpers import (
    FAST_PIPELINE,
    ScriptedProposer,
    commit_pipeline,
    git,
    git_ok,
    with_config,
)

from assay.research import Change, ExperimentStatus, Ledger, ResearchError, ResearchLoop
from assay.store import open_store

GOOD = with_config(FAST_PIPELINE, columns=["a", "b"])
IDENTITY = ("-c", "user.name=t", "-c", "user.email=t@t")


def _records(ws, harness):
    return Ledger(ws, harness.id, store=False).read()


def _check_consistent(ws, harness) -> list:
    """What must hold whenever no loop is running on a reconciled workspace."""
    records = _records(ws, harness)
    numbers = [r.exp_no for r in records]
    assert len(numbers) == len(set(numbers)), numbers
    for r in records:
        if ExperimentStatus(r.status).was_run:
            assert git_ok(ws, "cat-file", "-e", f"{r.commit}^{{commit}}"), r
    kept = [r for r in records if ExperimentStatus(r.status).is_best]
    assert git(ws, "rev-parse", "HEAD") == kept[-1].commit
    assert git(ws, "status", "--porcelain", "pipeline.py") == ""
    stored = open_store().experiments(harness.id)
    assert [s.to_dict() for s in stored] == [r.to_dict() for r in records]
    return records


def _reconcile(ws):
    return ResearchLoop(ws, ScriptedProposer([]), max_exp=0, n_noise_seeds=2).run()


def _fake_experiment(ws, exp_no: int, parent: str, text: str) -> str:
    """An experiment commit whose ledger line was never written (a kill in between)."""
    git(ws, "checkout", "-q", "--detach", parent)
    (ws / "pipeline.py").write_text(text)
    git(ws, *IDENTITY, "commit", "-qam", f"exp {exp_no}: x\n\nAssay-Experiment: {exp_no}\n")
    commit = git(ws, "rev-parse", "HEAD")
    git(ws, "update-ref", f"refs/experiments/{exp_no}", commit)
    git(ws, "checkout", "-q", "research")
    return commit


def test_every_intermediate_state_is_reconciled(fast_ws):
    ws, harness = fast_ws
    ResearchLoop(ws, ScriptedProposer([Change(GOOD, "a and b")]), max_exp=1, n_noise_seeds=2).run()
    records = _check_consistent(ws, harness)
    kept = records[-1].commit
    assert [r.status for r in records] == ["baseline", "keep"]

    # a person's uncommitted edit is never dropped: the run refuses and says what to do
    (ws / "pipeline.py").write_text("# my own idea\n" + GOOD)
    with pytest.raises(ResearchError, match="not committed"):
        _reconcile(ws)
    assert (ws / "pipeline.py").read_text().startswith("# my own idea")

    # killed while writing pipeline.py, before the commit: the loop's own edit is dropped
    (ws / ".git" / "assay-pending").write_text("2")
    (ws / "pipeline.py").write_text("half written")
    _reconcile(ws)
    assert _check_consistent(ws, harness) == records
    assert not (ws / ".git" / "assay-pending").exists()

    # killed inside a reset (git rewrites pipeline.py before it moves the branch): the reset
    # holds the same marker, so what it leaves is the loop's own and is dropped
    from assay.research._workspace import Repo

    with pytest.raises(Exception, match="deadbeef"):
        Repo(ws).reset("deadbeef" * 5)  # git fails mid-reset, as a kill would stop it
    assert (ws / ".git" / "assay-pending").exists()
    (ws / "pipeline.py").write_text(with_config(GOOD, jitter=0.7))
    _reconcile(ws)
    assert _check_consistent(ws, harness) == records
    assert not (ws / ".git" / "assay-pending").exists()

    # killed after the commit (serial: on the branch), before the ledger line
    orphan = _fake_experiment(ws, 2, kept, with_config(GOOD, jitter=0.9))
    git(ws, "reset", "-q", "--hard", orphan)
    (ws / ".git" / "index.lock").write_text("")  # and git itself was killed mid-command
    _reconcile(ws)
    assert _check_consistent(ws, harness) == records
    assert not git_ok(ws, "rev-parse", "--verify", "refs/experiments/2")

    # killed after a parallel keep moved the branch to a sibling commit, before the line
    sibling = _fake_experiment(ws, 3, records[0].commit, with_config(GOOD, jitter=0.8))
    git(ws, "reset", "-q", "--hard", sibling)
    _reconcile(ws)
    assert _check_consistent(ws, harness) == records

    # killed in the middle of the ledger write, and before the store row
    with (ws / "results.tsv").open("a") as handle:
        handle.write("2\tdeadbeef\t")
    _reconcile(ws)
    assert (ws / "results.tsv").read_text().endswith("\n")  # the partial line is cut off
    assert _check_consistent(ws, harness) == records

    # a commit of the user's own (no experiment trailer) on top of the best is kept
    (ws / "program.md").write_text("# Research program\nTry ratios first.\n")
    git(ws, *IDENTITY, "commit", "-qam", "steer the research")
    mine = git(ws, "rev-parse", "HEAD")
    proposer = ScriptedProposer([Change(with_config(GOOD, jitter=0.31), "more jitter")])
    ResearchLoop(ws, proposer, max_exp=1, n_noise_seeds=2).run()
    after = _records(ws, harness)
    assert [r.exp_no for r in after] == [0, 1, 2]  # numbers continue after the last line
    assert after[2].parent == mine and "Try ratios first" in proposer.contexts[0].program
    head = git(ws, "rev-parse", "HEAD")
    assert head in (mine, after[2].commit) and git_ok(ws, "merge-base", "--is-ancestor", mine, head)


def _kill_orphans(root) -> None:
    """Sandboxed programs of the killed run keep going until their own limit: end them
    (they are this test's grandchildren), by pid."""
    root = str(root)
    for proc in psutil.process_iter(["pid"]):
        try:
            if proc.cwd().startswith(root):
                proc.kill()
                proc.wait(10)
        except (psutil.Error, OSError):
            continue


def _run_cli(ws, *args, **popen):
    command = [sys.executable, "-m", "assay", "research", "run", str(ws), *args]
    return subprocess.Popen(command, env=os.environ.copy(), **popen)


@pytest.mark.slow  # one kill; tests/reliability/test_faults.py kills ten times
def test_resume_after_kill_9_at_a_random_moment(fast_ws):
    ws, harness = fast_ws
    rng = random.Random()
    base_args = ("--budget-per-exp", "5", "--noise-seeds", "2", "--no-holdout")
    for cycle in range(2):
        delay = rng.uniform(1.0, 9.0)
        proc = _run_cli(
            ws,
            "--max-exp",
            "60",
            *base_args,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(delay)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(30)
        _kill_orphans(harness.sandbox_root)
        note = f"cycle {cycle}, killed after {delay:.2f}s"
        before = _records(ws, harness)
        numbers = [r.exp_no for r in before]
        assert len(numbers) == len(set(numbers)), note
        for r in before:  # a line is written only after its commit is final
            if ExperimentStatus(r.status).was_run:
                assert git_ok(ws, "cat-file", "-e", f"{r.commit}^{{commit}}"), note

    resumed = _run_cli(
        ws, "--max-exp", "2", *base_args, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    out, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err.decode()[-3000:]
    after = _check_consistent(ws, harness)
    assert after[: len(before)] == before, note
    new = after[len(before) :]
    assert len([r for r in new if r.status != "baseline"]) == 2, note
    assert min(r.exp_no for r in new) > max([r.exp_no for r in before], default=-1)
    assert b"2 experiment(s)" in out


def test_ctrl_c_stops_cleanly_and_leaves_no_running_candidate(fast_ws):
    ws, harness = fast_ws
    slow = FAST_PIPELINE.replace("RUN = json", "import time\ntime.sleep(30)\nRUN = json")
    commit_pipeline(ws, slow, "a baseline that takes a while")
    proc = _run_cli(
        ws,
        "--noise-seeds",
        "1",
        "--budget-per-exp",
        "40",
        start_new_session=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    runs = harness.sandbox_root / "experiments"
    deadline = time.monotonic() + 60
    while not _sandboxed(runs) and time.monotonic() < deadline:  # the baseline is running
        time.sleep(0.2)
    assert _sandboxed(runs), "the baseline never started"
    os.kill(proc.pid, signal.SIGINT)  # Ctrl-C reaches the CLI only, as in a terminal
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err.decode()[-2000:]
    assert b"Interrupted. Resume with" in out
    assert not _sandboxed(harness.sandbox_root)  # the sandboxed program was ended
    assert _records(ws, harness) == []  # the unfinished baseline left no line
    assert git(ws, "status", "--porcelain") == ""


def _sandboxed(root) -> list:
    found = []
    for proc in psutil.process_iter(["pid"]):
        try:
            if proc.cwd().startswith(str(root)):
                found.append(proc)
        except (psutil.Error, OSError):
            continue
    return found

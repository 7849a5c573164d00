"""Recovering from interruptions: one loop per workspace at a time, git brought back in
line with the ledger, and sandboxed runs ended when the loop is stopped.

The rule `reconcile` applies: the branch belongs on the commit of the last ledger line that
kept something (keep or baseline). Commits after it that carry an experiment trailer belong
to experiments that never finished and go; commits of a person's own (no trailer) stay.
An uncommitted pipeline.py is the loop's own half-written experiment only when the pending
marker says so; otherwise it is a person's edit and the run refuses to touch it.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
from collections.abc import Iterator
from pathlib import Path

from assay.errors import ResearchError
from assay.log import get_logger
from assay.research._ledger import ExperimentStatus, Ledger
from assay.research._workspace import BRANCH, PIPELINE, Repo
from assay.store._experiments import ExperimentRecord

logger = get_logger(__name__)


@contextlib.contextmanager
def run_lock(folder: Path, ws: Path) -> Iterator[None]:
    """Held for the whole run; the kernel drops it when the process dies, kill -9 too."""
    with (folder / "run.lock").open("w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise ResearchError(
                f"another `assay research run` is working on {ws}; wait for it or stop it first"
            ) from exc
        handle.write(str(os.getpid()))
        handle.flush()
        yield


def reconcile(repo: Repo, ledger: Ledger) -> tuple[list[ExperimentRecord], str]:
    """(the ledger's lines, the commit the branch is now on). Call with the run lock held."""
    repo.remove_stale_locks()
    if repo.branch() != BRANCH:
        raise ResearchError(f"{repo.path} is not on the {BRANCH!r} branch: git checkout {BRANCH}")
    marker = repo.pending_marker
    if repo.is_dirty() and not marker.exists():
        raise ResearchError(
            f"{repo.path / PIPELINE} has changes that are not committed. Commit them to start "
            "from them (git commit -am 'my baseline'; the baseline then reruns only if "
            "results.tsv is empty) or drop them (git checkout pipeline.py)"
        )
    records = ledger.read(repair=True)
    kept = [r for r in records if ExperimentStatus(r.status).is_best]
    head = repo.head()
    target = head
    if kept:
        anchor = kept[-1].commit
        if anchor is None or not repo.has_commit(anchor):
            raise ResearchError(
                f"results.tsv names commit {anchor} (experiment {kept[-1].exp_no}) that git "
                f"does not have in {repo.path}; restore the repository or start a new workspace"
            )
        if not repo.is_ancestor(anchor, head):
            logger.warning("HEAD is not after the last kept commit: resetting to it")
            target = anchor
        else:  # a person's commits after the anchor stay; unfinished experiments go
            for commit in repo.commits_between(anchor, head):
                if repo.experiment_of(commit) is not None:
                    target = repo.parent(commit) or anchor
                    break
    if target != head:
        logger.warning("resetting %s to %s: an experiment did not finish", repo.path, target[:10])
    repo.reset(target)
    marker.unlink(missing_ok=True)
    known = {r.exp_no for r in records}
    for exp_no in repo.experiment_refs():
        if exp_no not in known:
            repo.delete_experiment_ref(exp_no)
    ledger.sync_store(records)
    return records, target


def stop_sandboxed_children() -> None:
    """Kill the sandboxed runs this process started: each leads a session of its own (the
    launcher, then the program it became); their watcher threads reap what is left."""
    import psutil

    for child in psutil.Process().children():
        with contextlib.suppress(psutil.Error, ProcessLookupError, PermissionError):
            if os.getsid(child.pid) == child.pid:
                os.killpg(child.pid, signal.SIGKILL)

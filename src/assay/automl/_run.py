"""A fit's run: its row in the store and its folder under ASSAY_HOME. Started (or taken
over by a resume) before the first trial, marked failed or interrupted when the fit stops
early, and marked finished only once the predictor is saved in the run's folder, so a
finished run can always be used as `assay predict RUN_ID`. A finished run's folder keeps
what its predictor, its report and `assay predict RUN_ID` read: the trials' checkpoints,
needed only to resume, go.

A fit that records nothing (`store=False`) still checkpoints its trials, so that its
memory does not grow with their number: into a temporary folder, removed when the fit
ends however it ends."""

from __future__ import annotations

import math
import os
import shutil
import socket
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assay._types import RunState
from assay.automl._diskfull import disk_full
from assay.config import settings
from assay.errors import StoreError
from assay.log import get_logger

logger = get_logger(__name__)


def open_store_for(store: Any):
    """The store an option names: None the default, False none, a URL, or an open store."""
    if store is False:
        return None
    from assay.store import SQLStore, open_store

    if isinstance(store, SQLStore):
        return store
    return open_store(store if isinstance(store, str) else None)


def run_folder(run_id: str) -> Path:
    """Where a recorded run keeps its trials' checkpoints and its predictor."""
    return settings().home / run_id


@dataclass
class RunBook:
    """The store handle, the run's id and folder. With nothing recorded the store and id
    are None and the folder is `scratch`: a temporary one for the trials' checkpoints."""

    store: Any = None
    run_id: str | None = None
    run_dir: Path | None = None
    scratch: bool = False

    @classmethod
    def begin(
        cls,
        store,
        resumed,
        dataset,
        metric: str,
        time_limit_s: float,
        record: dict[str, Any],
    ) -> RunBook:
        """Take over the resumed run, or start a new one with the fit's settings."""
        if store is None:
            return cls(run_dir=Path(tempfile.mkdtemp(prefix="assay-fit-")), scratch=True)
        if resumed is not None:
            store.update_run(
                resumed.run_id,
                state=RunState.RUNNING,
                finished_at=None,
                error=None,
                pid=os.getpid(),
                host=socket.gethostname(),
                heartbeat_at=time.time(),
            )
            run_id = resumed.run_id
        else:
            run_id = store.start_run(
                task=dataset.task.value,
                target=dataset.target,
                metric=metric,
                source=dataset.source,
                time_limit_s=None if math.isinf(time_limit_s) else time_limit_s,
                settings=record,
            ).run_id
        return cls(store, run_id, run_folder(run_id))

    def heartbeat(self):
        from assay.store._beat import Heartbeat

        return Heartbeat(self.store, self.run_id)

    def on_exit(self, exc_type, exc, tb) -> bool:
        """ExitStack callback: when the fit stops with an exception, mark the run failed
        (interrupted on Ctrl-C); a full disk becomes one DiskFullError saying how to resume.
        A scratch folder is removed whether the fit succeeded or not."""
        if self.scratch and self.run_dir is not None:
            shutil.rmtree(self.run_dir, ignore_errors=True)
        if exc is None:
            return False
        todo = (
            "Nothing was recorded (store=False): free space, then fit again."
            if self.scratch
            else f"The finished trials are kept: continue with `assay fit --resume {self.run_id}`."
        )
        full = self.run_dir is not None and disk_full(exc, self.run_dir, todo)
        if self.store is not None:
            state = RunState.INTERRUPTED if isinstance(exc, KeyboardInterrupt) else RunState.FAILED
            try:  # on a full disk this write fails too; the error to show is the first
                self.store.finish_run(self.run_id, state, error=f"{type(exc).__name__}: {exc}")
            except StoreError as again:
                logger.warning("run %s not marked %s: %s", self.run_id, state.value, again)
        if full:
            raise full from exc
        return False

    def finish(self, predictor) -> Path | None:
        """Save the predictor in the run's folder, record where, mark the run finished, then
        drop the trials' checkpoints (a kill before that leaves them; they are never read)."""
        if self.store is None or self.run_dir is None:
            return None
        from assay.automl._checkpoint import drop_checkpoints

        saved = predictor.save(self.run_dir / "predictor")
        self.store.update_run(self.run_id, artifact_dir=str(saved))
        best = predictor.info["ensemble_score"]
        self.store.finish_run(
            self.run_id, RunState.FINISHED, best_score=best, best_model="ensemble"
        )
        drop_checkpoints(self.run_dir)
        return saved

    def saved_elsewhere(self, path: Path) -> None:
        """The predictor was saved again at `path`: that is where the run's predictor is."""
        if self.store is not None:
            self.store.update_run(self.run_id, artifact_dir=str(path))


def link_predictor(saved: Path, out: Path) -> Path:
    """The predictor saved at `saved` at `out` too, without a second copy on disk: hard
    links to the same files (copies where `out` is on another file system). Staged beside
    `out`, then swapped in, as a save is, so a failure leaves what was at `out` as it was."""
    from assay.automl._manifest import MANIFEST
    from assay.errors import ArtifactError

    saved, out = saved.expanduser().resolve(), out.expanduser().resolve()
    if out == saved:
        return out
    if out.exists() and any(out.iterdir()) and not (out / MANIFEST).exists():
        raise ArtifactError(
            f"{out} exists and is not an assay predictor: choose an empty or new folder."
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        for source in sorted(saved.rglob("*")):  # not copytree: it hides the OSError's errno
            target = staging / source.relative_to(saved)
            if source.is_dir():
                target.mkdir(parents=True, exist_ok=True)
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                _link_or_copy(source, target)
        if out.exists():
            shutil.rmtree(out)
        staging.rename(out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return out


def _link_or_copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:  # another file system, or one without hard links
        shutil.copy2(source, target)


@dataclass(frozen=True)
class PrunedRun:
    """A run `prune_runs` removed (or would remove): its record and its folder's size."""

    run: Any
    folder: Path | None
    size_bytes: int


def prune_runs(
    store,
    *,
    keep: int | None = None,
    older_than_days: float | None = None,
    dry_run: bool = False,
    now: float | None = None,
) -> list[PrunedRun]:
    """Remove old runs: their folders under ASSAY_HOME and their rows in the store (the
    run, its trials and LLM calls). A run is pruned when it is not among the `keep` newest
    runs and (with `older_than_days`) was last active more than that many days ago; with
    one criterion only, that one decides. A running run (its process alive, or a fresh
    heartbeat from another host) is never pruned, nor is a predictor saved outside the run's
    folder (`--out`). `dry_run` only lists them. Raises ConfigError for bad values."""
    from assay.errors import ConfigError

    if keep is None and older_than_days is None:
        raise ConfigError("say which runs to prune: keep=N newest, older_than_days=DAYS, or both.")
    if keep is not None and (isinstance(keep, bool) or not isinstance(keep, int) or keep < 0):
        raise ConfigError(f"keep must be a whole number of runs, 0 or more; got {keep!r}.")
    if older_than_days is not None and not (
        isinstance(older_than_days, int | float) and 0 <= older_than_days < math.inf
    ):
        raise ConfigError(
            f"older_than_days must be a number of days, 0 or more; got {older_than_days!r}."
        )
    now = time.time() if now is None else now
    pruned = []
    for rank, run in enumerate(store.runs(limit=None)):  # newest first
        if run.state is RunState.RUNNING or (keep is not None and rank < keep):
            continue
        last = max(run.created_at, run.finished_at or 0.0, run.heartbeat_at or 0.0)
        if older_than_days is not None and now - last <= older_than_days * 86400:
            continue
        # a run's folder is named by its id (hex): never follow another name out of home
        folder = run_folder(run.run_id) if run.run_id.isalnum() else None
        size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) if folder else 0
        if not dry_run:
            if not store.delete_run(run.run_id):  # the rows first: they say what a run is
                continue  # resumed meanwhile
            if folder is not None:
                shutil.rmtree(folder, ignore_errors=True)
        pruned.append(PrunedRun(run, folder, size))
    return pruned

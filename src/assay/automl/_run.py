"""A fit's run: its row in the store and its folder under ASSAY_HOME. Started (or taken
over by a resume) before the first trial, marked failed or interrupted when the fit stops
early, and marked finished only once the predictor is saved in the run's folder, so a
finished run can always be used as `assay predict RUN_ID`."""

from __future__ import annotations

import math
import os
import socket
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


@dataclass
class RunBook:
    """The store handle, the run's id and folder (all None when nothing is recorded)."""

    store: Any = None
    run_id: str | None = None
    run_dir: Path | None = None

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
            return cls()
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
        return cls(store, run_id, settings().home / run_id)

    def heartbeat(self):
        from assay.store._beat import Heartbeat

        return Heartbeat(self.store, self.run_id)

    def on_exit(self, exc_type, exc, tb) -> bool:
        """ExitStack callback: when the fit stops with an exception, mark the run failed
        (interrupted on Ctrl-C); a full disk becomes one DiskFullError saying how to resume."""
        if exc is None:
            return False
        full = self.run_dir is not None and disk_full(
            exc,
            self.run_dir,
            f"The finished trials are kept: continue with `assay fit --resume {self.run_id}`.",
        )
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
        """Save the predictor in the run's folder, record where, and mark the run finished."""
        if self.store is None or self.run_dir is None:
            return None
        saved = predictor.save(self.run_dir / "predictor")
        self.store.update_run(self.run_id, artifact_dir=str(saved))
        best = predictor.info["ensemble_score"]
        self.store.finish_run(
            self.run_id, RunState.FINISHED, best_score=best, best_model="ensemble"
        )
        return saved

    def saved_elsewhere(self, path: Path) -> None:
        """The predictor was saved again at `path`: that is where the run's predictor is."""
        if self.store is not None:
            self.store.update_run(self.run_id, artifact_dir=str(path))

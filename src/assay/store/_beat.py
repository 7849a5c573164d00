"""A background heartbeat for a long run: the store learns every `every_s` seconds that
the run's process is alive, so a store opened on another host can tell a run that is
still busy with one long trial from one whose process died (see mark_stale_runs)."""

from __future__ import annotations

import threading

from assay.errors import StoreError
from assay.log import get_logger

logger = get_logger(__name__)
EVERY_S = 60.0


class Heartbeat:
    """`with Heartbeat(store, run_id): ...` beats until the block ends."""

    def __init__(self, store, run_id: str | None, every_s: float = EVERY_S):
        self.store, self.run_id, self.every_s = store, run_id, every_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _run(self) -> None:
        while not self._stop.wait(self.every_s):
            try:
                self.store.heartbeat(self.run_id)
            except StoreError as exc:  # a missed beat is not worth ending the fit for
                logger.warning("heartbeat of run %s not recorded: %s", self.run_id, exc)

    def __enter__(self) -> Heartbeat:
        if self.run_id is not None and self._thread is None:
            self._thread = threading.Thread(target=self._run, name="assay-heartbeat", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

"""Peak resident memory of this process during a block, sampled by a background thread."""

from __future__ import annotations

import threading

import psutil


class PeakMemory:
    """Context manager: `peak_mb` is the highest RSS seen while inside (sampled every 50 ms)."""

    def __init__(self, interval_s: float = 0.05):
        self.interval_s = interval_s
        self.peak_mb = 0.0

    def __enter__(self) -> PeakMemory:
        self._process = psutil.Process()
        self._stop = threading.Event()
        self._sample()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        rss_mb = self._process.memory_info().rss / 2**20
        self.peak_mb = max(self.peak_mb, rss_mb)

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self._sample()

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()

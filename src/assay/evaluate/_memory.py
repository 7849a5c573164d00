"""Peak resident memory of this process during a block, sampled by a background thread."""

from __future__ import annotations

import ctypes
import functools
import sys
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


def release_freed_memory() -> None:
    """Hand the heap's freed pages back to the system (glibc's malloc_trim): fold models,
    encoders and predictions freed after a trial otherwise stay in this process's
    resident memory, fragmented across the allocator's per-thread arenas. No-op elsewhere."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@functools.cache
def _malloc_trim():
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None

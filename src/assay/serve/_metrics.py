"""What `GET /metrics` reports: requests by route and status, and latency percentiles over
each route's most recent requests (a bounded window, so a long-lived service keeps a fixed
amount of memory). Counted per worker process."""

from __future__ import annotations

import os
import threading
import time
from collections import Counter, defaultdict, deque

import numpy as np

WINDOW = 10_000  # latencies kept per route


class ServiceMetrics:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._started = time.monotonic()
        self._counts: Counter = Counter()
        self._latency_ms: dict[str, deque] = defaultdict(lambda: deque(maxlen=WINDOW))
        self._rows = 0

    def observe(self, route: str, status: int, took_s: float) -> None:
        with self._lock:
            self._counts[(route, status)] += 1
            self._latency_ms[route].append(took_s * 1000.0)

    def add_rows(self, n_rows: int) -> None:
        with self._lock:
            self._rows += n_rows

    def snapshot(self) -> dict:
        with self._lock:
            counts = dict(self._counts)
            latencies = {route: np.asarray(values) for route, values in self._latency_ms.items()}
            rows = self._rows
        routes: dict[str, dict] = {}
        for (route, status), n in sorted(counts.items()):
            entry = routes.setdefault(route, {"requests": 0, "by_status": {}})
            entry["requests"] += n
            entry["by_status"][str(status)] = n
        for route, values in latencies.items():
            if len(values):
                p50, p90, p99 = np.percentile(values, [50, 90, 99])
                routes[route]["latency_ms"] = {
                    "p50": round(float(p50), 3),
                    "p90": round(float(p90), 3),
                    "p99": round(float(p99), 3),
                    "max": round(float(values.max()), 3),
                    "window": len(values),
                }
        return {
            "pid": os.getpid(),
            "uptime_s": round(time.monotonic() - self._started, 3),
            "requests": sum(counts.values()),
            "rows_predicted": rows,
            "routes": routes,
        }

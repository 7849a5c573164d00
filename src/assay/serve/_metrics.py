"""What the service reports about itself.

`GET /metrics` speaks the Prometheus text format (prometheus-client): `assay_requests_total`
by route and status, the latency histogram `assay_request_duration_seconds` by route, and
`assay_rows_predicted_total`. With `--workers N` the worker processes write their values to
one folder (prometheus-client's multiprocess mode, `PROMETHEUS_MULTIPROC_DIR`, which
`run_service` sets up), so any worker answers for all of them.

`GET /stats` is the JSON summary of the worker that answers: requests by route and status
and latency percentiles over each route's most recent requests (a bounded window, so a
long-lived service keeps a fixed amount of memory)."""

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


MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"
_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class PrometheusMetrics:
    """The counters and histogram of one app, in a registry of its own (several apps in
    one process do not collide); in multiprocess mode the values go to the shared folder
    and `exposition` reads every worker's."""

    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Histogram

        self.registry = CollectorRegistry()
        self.requests = Counter(
            "assay_requests",
            "Requests answered, by route and HTTP status.",
            ["route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "assay_request_duration_seconds",
            "Time to answer a request, by route.",
            ["route"],
            buckets=_BUCKETS,
            registry=self.registry,
        )
        self.rows = Counter(
            "assay_rows_predicted", "Rows predicted over all requests.", registry=self.registry
        )

    def observe(self, route: str, status: int, took_s: float) -> None:
        self.requests.labels(route=route, status=str(status)).inc()
        self.latency.labels(route=route).observe(took_s)

    def add_rows(self, n_rows: int) -> None:
        self.rows.inc(n_rows)

    def exposition(self) -> tuple[bytes, str]:
        """(body, content type) of the text format: every worker's values in multiprocess
        mode, this app's otherwise."""
        from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

        registry = self.registry
        if os.environ.get(MULTIPROCESS_ENV):
            from prometheus_client import multiprocess

            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST

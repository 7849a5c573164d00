"""Where tasks run: in this process (the default), or on a Dask cluster.

`executor_from(None)` is the LocalExecutor: one task at a time, here, with every core for
the task's own threads; nothing to start, nothing to serialize. `executor_from("local:N")`
starts a Dask LocalCluster of N worker processes bound to 127.0.0.1 and
`executor_from("tcp://HOST:8786")` joins an existing scheduler. Either way `share(value)`
sends data to the workers once and `submit(fn, *args)` returns a future with `.result()` and
`.done()`.

On Dask, shared data is a task that returns it, not scattered data: a worker that dies
holding the only copy of scattered data loses it for good (every task needing it fails),
while a task's result is computed again on another worker.

A worker that dies is replaced and its task run again once (the scheduler's
allowed-failures = 1 on a LocalCluster); a second death comes back as `WorkerLost`, which the
callers record as the task's failure with that reason.
"""

from __future__ import annotations

import logging
import os
import time
from concurrent.futures import Future
from typing import Any

from assay._cpus import usable_cpus
from assay.errors import ConfigError, WorkerLost
from assay.log import get_logger

logger = get_logger(__name__)


class LocalExecutor:
    """Runs each task at once, in this process."""

    n_workers = 1
    address = "local"

    def threads_per_task(self) -> int:
        return usable_cpus()

    def share(self, value: Any) -> Any:
        return value

    def submit(self, fn, *args, **kwargs) -> Future:
        future: Future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # the caller decides what a failure means
            if isinstance(exc, KeyboardInterrupt | SystemExit):
                raise
            future.set_exception(exc)
        return future

    def close(self) -> None:
        pass

    def __enter__(self) -> LocalExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class DaskExecutor:
    """Tasks on a Dask cluster: `"local:N"` starts one here (127.0.0.1 only), anything else
    is a scheduler address to connect to."""

    def __init__(self, address: str, *, connect_timeout_s: float = 30.0):
        try:
            import dask
            from distributed import Client, LocalCluster
        except ImportError as exc:
            raise ConfigError(
                "a Dask cluster needs the `dask` extra: pip install 'assay[dask]'."
            ) from exc
        self.address = address
        self._cluster = None
        if address.startswith("local:"):
            n_workers = _parse_local(address)
            threads = max(1, usable_cpus() // n_workers)
            self._environ = dict(os.environ)  # the nannies set OMP_NUM_THREADS=1 etc. here
            with dask.config.set({"distributed.scheduler.allowed-failures": 1}):
                self._cluster = LocalCluster(
                    n_workers=n_workers,
                    threads_per_worker=threads,
                    processes=True,
                    host="127.0.0.1",
                    dashboard_address=None,
                    silence_logs=logging.ERROR,
                )
            self.client = Client(self._cluster)
            _restore(self._environ)
        else:
            try:
                self.client = Client(address, timeout=connect_timeout_s)
            except (OSError, TimeoutError) as exc:
                raise ConfigError(
                    f"cannot reach the Dask scheduler at {address!r} ({exc}): start it "
                    "(`dask scheduler` and `dask worker ADDRESS` on each machine) or use "
                    "--cluster local:N for workers on this machine."
                ) from exc
        logger.info("dask: %d workers at %s", self.n_workers, self.client.scheduler.address)

    @property
    def n_workers(self) -> int:
        return max(1, len(self.client.nthreads()))

    def threads_per_task(self) -> int:
        """The cores each worker has: a task's models use that many threads."""
        return max(1, min(self.client.nthreads().values(), default=1))

    def share(self, value: Any) -> Any:
        """A future of `value` that survives the death of the workers holding it (see the
        module's docstring); the scheduler keeps the value to compute it again."""
        import warnings

        with warnings.catch_warnings():  # "large graph": the data has to travel once
            warnings.simplefilter("ignore", UserWarning)
            return self.client.submit(_identity, value, pure=False)

    def submit(self, fn, *args, **kwargs):
        return _DaskFuture(self.client.submit(fn, *args, pure=False, **kwargs))

    def close(self) -> None:
        self.client.close()
        if self._cluster is not None:
            self._cluster.close()
            _restore(self._environ)

    def __enter__(self) -> DaskExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _DaskFuture:
    """A Dask future whose lost-worker failure reads as WorkerLost."""

    def __init__(self, future):
        self._future = future

    def done(self) -> bool:
        return self._future.done()

    def result(self, timeout: float | None = None) -> Any:
        try:
            return self._future.result(timeout=timeout)
        except Exception as exc:
            if type(exc).__name__ == "KilledWorker":
                raise WorkerLost(
                    "the worker running it died, and again on the retry (out of memory, or killed)"
                ) from exc
            raise

    def cancel(self) -> None:
        self._future.cancel()


def _identity(value: Any) -> Any:
    return value


def _restore(environ: dict[str, str]) -> None:
    """Undo what starting (or restarting) Dask's nannies wrote into this process's
    environment: later work here must not run single-threaded because of it."""
    for key in set(os.environ) - set(environ):
        del os.environ[key]
    os.environ.update(environ)


def _parse_local(address: str) -> int:
    text = address.removeprefix("local:")
    if not text.isdigit() or int(text) < 1:
        raise ConfigError(f"--cluster {address!r}: write local:N with N workers, e.g. local:2.")
    return int(text)


def executor_from(cluster: str | None) -> LocalExecutor | DaskExecutor:
    """None or "" for this process; "local:N" or a scheduler address for Dask."""
    if not cluster:
        return LocalExecutor()
    if not (cluster.startswith(("local:", "tcp://", "tls://", "ws://", "wss://", "inproc://"))):
        raise ConfigError(
            f"--cluster {cluster!r}: give local:N (N workers on this machine) or a Dask "
            "scheduler address such as tcp://HOST:8786."
        )
    return DaskExecutor(cluster)


def wall_deadline(deadline_monotonic: float) -> float:
    """A deadline other processes and machines can read (time.time() based)."""
    return time.time() + (deadline_monotonic - time.monotonic())


def local_deadline(deadline_wall: float) -> float:
    return time.monotonic() + (deadline_wall - time.time())

"""Shared fixtures: an isolated ASSAY_HOME per test and the benchmark-data location."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# OpenMP's wait policy is left to the environment. On a machine with more busy processes
# than cores, spinning threads made a two-thread LightGBM fit 2-35 times slower, and
# OMP_WAIT_POLICY=PASSIVE helps there; on an idle machine (CI) passive waiting made the
# stacking fixture of tests/automl/test_stack.py take 174 s instead of 37 s. Set
# OMP_WAIT_POLICY=PASSIVE by hand when running the suite beside other heavy work.


# the cores the run may use, read before a worker of `pytest -n` is pinned to one of them
_RUN_CORES: set[int] = set()


@pytest.hookimpl(optionalhook=True)  # pytest-xdist's hook: no error without it
def pytest_xdist_auto_num_workers(config) -> int:
    """`-n auto`: one worker per usable core (the affinity mask and the CPU quota), not per
    core of the host, which a container's quota may be a small share of."""
    from assay._cpus import usable_cpus

    return usable_cpus()


def pytest_configure(config) -> None:
    """Each worker of `pytest -n N` runs on a core of its own (worker i on the i-th usable
    core), so a test's fit sees one core (`usable_cpus`) and starts one thread per booster
    instead of every worker starting as many threads as the machine has cores: threads
    spinning at OpenMP barriers on an oversubscribed core made a two-thread LightGBM fit
    2-35 times slower (see above). Subprocesses the tests start inherit the core."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")  # "gw0", "gw1", ... under -n
    if worker.startswith("gw") and hasattr(os, "sched_setaffinity"):
        _RUN_CORES.update(os.sched_getaffinity(0))
        cores = sorted(_RUN_CORES)
        os.sched_setaffinity(0, {cores[int(worker[2:]) % len(cores)]})


@pytest.fixture
def every_core() -> Iterator[int]:
    """For a test of how assay uses several cores: its process on every core the run had
    before its worker was pinned to one (nothing changes in a run without workers). Yields
    `usable_cpus()` as the test sees it."""
    from assay._cpus import usable_cpus

    pinned = os.sched_getaffinity(0) if _RUN_CORES else None  # None: no worker pinned
    if pinned:
        os.sched_setaffinity(0, _RUN_CORES)
    usable_cpus.cache_clear()
    try:
        yield usable_cpus()
    finally:
        if pinned:
            os.sched_setaffinity(0, pinned)
        usable_cpus.cache_clear()


@pytest.fixture(autouse=True)
def assay_home(tmp_path, monkeypatch) -> Path:
    home = tmp_path / "assay-home"
    monkeypatch.setenv("ASSAY_HOME", str(home))
    monkeypatch.delenv("ASSAY_STORE", raising=False)
    return home


@pytest.fixture
def datasets_dir() -> Path:
    """The shared benchmark data, or a skip that says where it was looked for."""
    path = Path(os.environ.get("ASSAY_DATASETS", ROOT.parent / "shared" / "datasets"))
    if not path.is_absolute():
        path = ROOT / path
    if not (path / "manifest.json").exists():
        pytest.skip(f"benchmark datasets not found at {path}: set ASSAY_DATASETS")
    return path

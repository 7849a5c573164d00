"""Shared fixtures: an isolated ASSAY_HOME per test and the benchmark-data location."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# OpenMP threads spin while they wait by default: on a machine with more busy processes
# than cores (a shared CI runner, several test runs at once) a two-thread LightGBM fit then
# ran 2-35 times slower. Waiting passively costs little when the cores are free. Set
# before any OpenMP library is loaded; the fits the tests start in subprocesses inherit it.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


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

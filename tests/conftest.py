"""Shared fixtures: an isolated ASSAY_HOME per test and the benchmark-data location."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# OpenMP's wait policy is left to the environment. On a machine with more busy processes
# than cores, spinning threads made a two-thread LightGBM fit 2-35 times slower, and
# OMP_WAIT_POLICY=PASSIVE helps there; on an idle machine (CI) passive waiting made the
# stacking fixture of tests/automl/test_stack.py take 174 s instead of 37 s. Set
# OMP_WAIT_POLICY=PASSIVE by hand when running the suite beside other heavy work.


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

"""Shared fixtures: an isolated ASSAY_HOME per test and the benchmark-data location."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def pytest_addoption(parser):
    parser.addoption("--runslow", action="store_true", help="run tests marked slow")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--runslow") or os.environ.get("ASSAY_SLOW") == "1":
        return
    skip = pytest.mark.skip(reason="slow: run with --runslow or ASSAY_SLOW=1")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


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

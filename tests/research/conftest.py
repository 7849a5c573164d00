"""Fixtures of the research tests (helpers live in research_helpers.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from research_helpers import FAST_PIPELINE, commit_pipeline, toy_frame

from assay.research import init_research


@pytest.fixture
def toy_csv(tmp_path) -> Path:
    path = tmp_path / "toy.csv"
    toy_frame().to_csv(path, index=False)
    return path


@pytest.fixture
def fast_ws(tmp_path, toy_csv):
    """A workspace whose baseline is FAST_PIPELINE (committed on top of the init commit)."""
    ws = tmp_path / "ws"
    harness = init_research(str(toy_csv), "y", ws, budget_per_exp_s=5)
    commit_pipeline(ws, FAST_PIPELINE)
    return ws, harness

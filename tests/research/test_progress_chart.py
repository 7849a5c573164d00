"""The research progress chart draws on its own Agg canvas: called from a notebook, it must
not switch the user's plotting backend (it used to call matplotlib.use("Agg"))."""

from __future__ import annotations

import struct

import matplotlib
import pytest

from assay.research import (
    ExperimentRecord,
    ExperimentStatus,
    ResearchStatus,
    init_research,
    plot_progress,
)


def _record(exp_no: int, status: ExperimentStatus, score: float | None) -> ExperimentRecord:
    return ExperimentRecord(
        research_id="r",
        exp_no=exp_no,
        commit=f"{exp_no:040x}",
        parent=None,
        status=status.value,
        score=score,
        description=f"experiment {exp_no}",
        source="search",
        wall_s=1.0,
        peak_memory_mb=None,
        started_at=0.0,
    )


@pytest.fixture
def backend():
    """The backend before the test, put back after it."""
    before = matplotlib.get_backend()
    yield before
    matplotlib.use(before)


@pytest.mark.parametrize("user_backend", ["svg", "pdf"])
def test_the_chart_keeps_the_callers_backend_and_writes_a_png(
    tmp_path, toy_csv, backend, user_backend
):
    harness = init_research(str(toy_csv), "y", tmp_path / "ws", budget_per_exp_s=5)
    records = [
        _record(1, ExperimentStatus.BASELINE, 0.70),
        _record(2, ExperimentStatus.DISCARD, 0.69),
        _record(3, ExperimentStatus.KEEP, 0.74),
        _record(4, ExperimentStatus.CRASH, None),
        _record(5, ExperimentStatus.KEEP, 0.76),
    ]
    status = ResearchStatus(harness, records, records[0], records[4], noise_floor=0.01)
    matplotlib.use(user_backend)

    path = plot_progress(status, tmp_path / "progress.png")

    assert matplotlib.get_backend() == user_backend
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
    assert struct.unpack(">II", data[16:24]) == (990, 495)  # 9 x 4.5 inches at 110 dpi

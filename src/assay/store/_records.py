"""Frozen records of runs and trials: what the store hands out and takes in.

A record is a snapshot. Changing a run goes through the store (`update_run`, `finish_run`),
never through the record, so a record read earlier never changes under its reader.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, fields
from typing import Any

from assay._types import RunState, TrialState


@dataclass(frozen=True)
class RunRecord:
    """One `fit` (or research loop) as stored: its inputs, its state and its best result."""

    run_id: str
    state: RunState
    created_at: float
    finished_at: float | None
    task: str | None
    target: str | None
    metric: str | None
    source: str | None
    time_limit_s: float | None
    settings: dict[str, Any]
    best_score: float | None
    best_model: str | None
    artifact_dir: str | None
    n_trials: int
    pid: int
    host: str
    error: str | None
    heartbeat_at: float | None = None  # last `SQLStore.heartbeat` (or trial); None: never

    def __post_init__(self) -> None:
        object.__setattr__(self, "state", RunState(self.state))


@dataclass(frozen=True)
class TrialRecord:
    """One evaluated config. `score` is None when nothing was scored (skipped, failed early)."""

    run_id: str
    trial_no: int
    model: str
    config: dict[str, Any]
    state: TrialState
    score: float | None = None
    fold_scores: tuple[float, ...] = ()
    fit_time_s: float = 0.0
    predict_time_s: float = 0.0
    peak_memory_mb: float | None = None
    error: str | None = None
    oof_path: str | None = None
    created_at: float = field(default_factory=time.time)

    def __post_init__(self) -> None:
        # Accept lists and enum values so callers need not convert; keep the record hashable-ish.
        object.__setattr__(self, "state", TrialState(self.state))
        object.__setattr__(self, "fold_scores", tuple(float(s) for s in self.fold_scores))


# Fields `update_run` may change: identity and provenance are fixed once a run starts.
UPDATABLE_RUN_FIELDS: frozenset[str] = frozenset(
    f.name for f in fields(RunRecord) if f.name not in ("run_id", "created_at")
)

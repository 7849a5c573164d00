"""Research's answer (`assay research export` by default): the ensemble of experiments,
unless the best experiment beats it on validation by more than two bootstrap errors. The
best's validation score is the highest of many tried on the same rows, so a small lead is
what picking the best gives by luck."""

from __future__ import annotations

import time

import numpy as np
import pytest

from assay.research import init_research
from assay.research._ledger import ExperimentStatus
from assay.research._report import ResearchStatus, research_answer
from assay.store._experiments import ExperimentRecord


def _record(harness, exp_no: int, status: ExperimentStatus, score: float) -> ExperimentRecord:
    return ExperimentRecord(
        research_id=harness.id,
        exp_no=exp_no,
        commit=None if status is ExperimentStatus.ENSEMBLE else f"{exp_no:040d}",
        parent=None,
        status=status.value,
        score=score,
        description="ensemble of experiments #0 x0.50, #1 x0.50"
        if status is ExperimentStatus.ENSEMBLE
        else f"experiment {exp_no}",
        source="test",
        wall_s=1.0,
        peak_memory_mb=1.0,
        started_at=time.time(),
        seed_scores=(score,) if status is ExperimentStatus.BASELINE else (),
    )


@pytest.fixture
def workspace(tmp_path, toy_csv):
    """A baseline (0) and a kept experiment (1) whose out-of-fold predictions are equally
    good with errors of their own, so that the out-of-fold choice averages them."""
    harness = init_research(str(toy_csv), "y", tmp_path / "ws", budget_per_exp_s=4)
    y = harness.encoded(harness.train_labels())
    rng = np.random.default_rng(0)
    for label in (f"exp-0000-seed{harness.seed}", "exp-0001"):
        p = 1 / (1 + np.exp(-(1.0 * (2 * y - 1) + rng.normal(size=len(y)))))
        path = harness.predictions_of(label)
        path.parent.mkdir(exist_ok=True)
        np.save(harness.oof_path(path), np.column_stack([1 - p, p]))
    return harness


def _status(harness, valid_best, valid_ensemble, best_score, ensemble_score) -> ResearchStatus:
    """The ledger's scores as given; the validation predictions of the best (experiment 1)
    and of the ensemble line (experiment 2) as given, for the bootstrap errors."""
    np.save(harness.predictions_of(f"exp-0000-seed{harness.seed}"), valid_ensemble)
    np.save(harness.predictions_of("exp-0001"), valid_best)
    np.save(harness.predictions_of("exp-0002"), valid_ensemble)
    baseline = _record(harness, 0, ExperimentStatus.BASELINE, best_score - 0.05)
    best = _record(harness, 1, ExperimentStatus.KEEP, best_score)
    line = _record(harness, 2, ExperimentStatus.ENSEMBLE, ensemble_score)
    return ResearchStatus(harness, [baseline, best, line], baseline, best, 0.0)


def _proba(harness, signal: float, seed: int) -> np.ndarray:
    y = harness.encoded(harness.valid_labels())
    rng = np.random.default_rng(seed)
    p = 1 / (1 + np.exp(-(signal * (2 * y - 1) + rng.normal(size=len(y)))))
    return np.column_stack([1 - p, p])


def _auc(harness, proba) -> float:
    return float(harness.metric(harness.encoded(harness.valid_labels()), proba))


def test_the_ensemble_when_it_scores_at_least_as_well(workspace) -> None:
    harness = workspace
    ensemble, best = _proba(harness, 2.0, 1), _proba(harness, 1.0, 2)
    status = _status(harness, best, ensemble, _auc(harness, best), _auc(harness, ensemble))
    answer = research_answer(status)
    assert answer.which == "ensemble", answer


def test_the_best_when_it_leads_by_more_than_two_bootstrap_errors(workspace) -> None:
    harness = workspace
    best, ensemble = _proba(harness, 6.0, 1), _proba(harness, 0.0, 2)  # sharp against noise
    status = _status(harness, best, ensemble, _auc(harness, best), _auc(harness, ensemble))
    answer = research_answer(status)
    assert answer.which == "best" and "bootstrap errors" in answer.why, answer


def test_the_ensemble_when_the_best_leads_by_luck(workspace) -> None:
    """Two prediction sets of the same skill: whichever leads on these rows leads by luck."""
    harness = workspace
    first, second = _proba(harness, 1.0, 3), _proba(harness, 1.0, 4)
    best, ensemble = sorted((first, second), key=lambda p: _auc(harness, p), reverse=True)
    assert _auc(harness, best) > _auc(harness, ensemble)
    status = _status(harness, best, ensemble, _auc(harness, best), _auc(harness, ensemble))
    answer = research_answer(status)
    assert answer.which == "ensemble" and "luck" in answer.why, answer


def test_the_best_when_there_is_no_ensemble(workspace) -> None:
    harness = workspace
    best = _proba(harness, 1.0, 1)
    status = _status(harness, best, best, 0.8, 0.8)
    alone = ResearchStatus(harness, status.records[:2], status.baseline, status.best, 0.0)
    assert research_answer(alone).which == "best"

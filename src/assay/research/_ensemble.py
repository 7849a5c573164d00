"""The ensemble of experiments: research time accumulates instead of being thrown away
with each discarded commit.

Every experiment that wrote out-of-fold predictions of the training rows (outputs/oof.csv)
joins a pool, kept or discarded alike. Caruana selection on those out-of-fold predictions,
against the training labels, picks the weights; the validation labels take no part in it.
The same weights on the members' validation predictions give the ensemble's validation
score, which the loop writes as a ledger line of its own whenever the choice changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from assay.ensemble import CaruanaEnsemble
from assay.evaluate._cv import safe_score
from assay.research._harness import Harness, experiment_label
from assay.research._ledger import ExperimentStatus
from assay.store._experiments import ExperimentRecord

MIN_MEMBERS = 2  # one experiment alone is no ensemble


@dataclass(frozen=True)
class ExperimentEnsemble:
    members: tuple[tuple[int, float], ...]  # (experiment number, weight), weights sum to 1
    oof_score: float  # on the training rows, out of fold: what chose it

    @property
    def description(self) -> str:
        parts = ", ".join(f"#{no} x{w:.2f}" for no, w in self.members)
        return f"ensemble of experiments {parts}"

    def predict(self, predictions: dict[int, Path]) -> np.ndarray:
        """The weighted validation predictions of the members."""
        return sum(w * np.load(predictions[no]) for no, w in self.members)


def pooled_predictions(harness: Harness, records: list[ExperimentRecord]) -> dict[int, Path]:
    """The validation predictions of every experiment that may join the ensemble (the
    baseline, kept and discarded ones), by experiment number."""
    pooled = (ExperimentStatus.BASELINE, ExperimentStatus.KEEP, ExperimentStatus.DISCARD)
    return {
        r.exp_no: harness.predictions_of(predictions_label(r, harness.seed))
        for r in records
        if ExperimentStatus(r.status) in pooled
    }


def predictions_label(record: ExperimentRecord, seed: int) -> str:
    """The label a run's predictions were kept under (the baseline: its first seed)."""
    if record.status == ExperimentStatus.BASELINE:
        return f"{experiment_label(record.exp_no)}-seed{seed}"
    return experiment_label(record.exp_no)


def choose_ensemble(harness: Harness, predictions: dict[int, Path]) -> ExperimentEnsemble | None:
    """Caruana weights over the experiments whose out-of-fold predictions were kept
    (`predictions`: experiment number -> its validation predictions file); None while
    fewer than MIN_MEMBERS have them or selection picks a single one."""
    pool = sorted(
        (no, path)
        for no, path in predictions.items()
        if path.is_file() and harness.oof_path(path).is_file()
    )
    if len(pool) < MIN_MEMBERS:
        return None
    metric = harness.metric
    y = harness.encoded(harness.train_labels())
    oofs = [np.load(harness.oof_path(path)) for _, path in pool]
    if any(len(oof) != len(y) for oof in oofs):
        return None  # written for another split of the rows: not comparable
    losses = [metric.loss(safe_score(metric, y, oof)) for oof in oofs]
    order = np.argsort(losses, kind="stable")  # best first: Caruana's ties go to it
    chosen = CaruanaEnsemble(metric).fit([oofs[i] for i in order], y)
    members = tuple((pool[order[i]][0], float(w)) for i, w in enumerate(chosen.weights_) if w > 0)
    if len(members) < MIN_MEMBERS:
        return None
    return ExperimentEnsemble(tuple(sorted(members)), float(chosen.score_))

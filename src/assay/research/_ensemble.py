"""The ensemble of experiments: research time accumulates instead of being thrown away
with each discarded commit.

Every experiment that wrote out-of-fold predictions of the training rows (outputs/oof.csv)
joins a pool, kept or discarded alike, and so does each of the baseline's runs at its other
noise seeds (run anyway, for the noise floor: averaging runs of other seeds costs nothing).
Caruana selection on those out-of-fold predictions, against the training labels, picks
the weights (and, for log loss, the blend's temperature, as a fit calibrates its own
ensemble); the validation labels take no part in it.
The same weights on the members' validation predictions give the ensemble's validation
score, which the loop writes as a ledger line of its own whenever the choice changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np

from assay.ensemble import CaruanaEnsemble, temperature_for, tempered
from assay.evaluate._cv import safe_score
from assay.research._harness import Harness, experiment_label
from assay.research._ledger import ExperimentStatus
from assay.store._experiments import ExperimentRecord

MIN_MEMBERS = 2  # one experiment alone is no ensemble
Key = tuple[int, int | None]  # (experiment number, seed or None): a run in the pool


class Member(NamedTuple):
    """One run in the ensemble of experiments: an experiment's own run (`seed` None, at the
    harness seed), or the baseline's run at another of its noise seeds."""

    exp_no: int
    weight: float
    seed: int | None = None

    @property
    def key(self) -> Key:
        return (self.exp_no, self.seed)

    @property
    def name(self) -> str:
        return f"#{self.exp_no}" + ("" if self.seed is None else f" seed {self.seed}")


def _order(key: Key) -> tuple[int, int]:
    return key[0], -1 if key[1] is None else key[1]


@dataclass(frozen=True)
class ExperimentEnsemble:
    members: tuple[Member, ...]  # weights sum to 1
    oof_score: float  # on the training rows, out of fold: what chose it
    temperature: float = 1.0  # log loss: the blend's calibration, fitted out of fold too

    @property
    def description(self) -> str:
        parts = ", ".join(f"{m.name} x{m.weight:.2f}" for m in self.members)
        tempered = "" if self.temperature == 1.0 else f", temperature {self.temperature:.3g}"
        return f"ensemble of experiments {parts}{tempered}"

    def predict(self, predictions: dict[Key, Path]) -> np.ndarray:
        """The weighted validation (or holdout) predictions of the members, tempered."""
        mean = sum(m.weight * np.load(predictions[m.key]) for m in self.members)
        return tempered(mean, self.temperature) if self.temperature != 1.0 else mean


def pooled_predictions(harness: Harness, records: list[ExperimentRecord]) -> dict[Key, Path]:
    """The validation predictions of every run that may join the ensemble (the baseline at
    each of its seeds, kept and discarded experiments), by (experiment number, seed)."""
    pooled = (ExperimentStatus.BASELINE, ExperimentStatus.KEEP, ExperimentStatus.DISCARD)
    out: dict[Key, Path] = {}
    for r in records:
        if ExperimentStatus(r.status) not in pooled:
            continue
        out[(r.exp_no, None)] = harness.predictions_of(predictions_label(r, harness.seed))
        if r.status == ExperimentStatus.BASELINE:
            for seed in baseline_seeds(r, harness.seed)[1:]:
                label = f"{experiment_label(r.exp_no)}-seed{seed}"
                out[(r.exp_no, seed)] = harness.predictions_of(label)
    return out


def baseline_seeds(record: ExperimentRecord, seed: int) -> list[int]:
    """The seeds the baseline ran at (the loop's `n_noise_seeds`, from `seed` on)."""
    return [seed + i for i in range(max(1, len(record.seed_scores)))]


def predictions_label(record: ExperimentRecord, seed: int) -> str:
    """The label a run's predictions were kept under (the baseline: its first seed)."""
    if record.status == ExperimentStatus.BASELINE:
        return f"{experiment_label(record.exp_no)}-seed{seed}"
    return experiment_label(record.exp_no)


def choose_ensemble(harness: Harness, predictions: dict[Key, Path]) -> ExperimentEnsemble | None:
    """Caruana weights over the runs whose out-of-fold predictions were kept
    (`predictions`: (experiment number, seed) -> its validation predictions file); None
    while fewer than MIN_MEMBERS have them or selection picks a single one."""
    pool = sorted(
        ((key, path) for key, path in predictions.items()
         if path.is_file() and harness.oof_path(path).is_file()),
        key=lambda item: _order(item[0]),
    )  # fmt: skip
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
    members = [
        Member(pool[order[i]][0][0], float(w), pool[order[i]][0][1])
        for i, w in enumerate(chosen.weights_)
        if w > 0
    ]
    if len(members) < MIN_MEMBERS:
        return None
    members.sort(key=lambda m: _order(m.key))
    blend = chosen.predict([oofs[i] for i in order])  # calibrated as a fit's ensemble is
    temperature = temperature_for(metric.name, blend, y)
    score = float(
        chosen.score_ if temperature == 1.0 else safe_score(metric, y, tempered(blend, temperature))
    )
    return ExperimentEnsemble(tuple(members), score, temperature)

"""Would ensemble weights that trust a few groups less have done better on FSDD? A check on
the out-of-fold predictions that benchmarks/media.py's FSDD fits leave behind, with no new
fit: each fit saw four speakers, and each trial's out-of-fold predictions of a speaker came
from models that never heard that speaker. So each of the four, in turn, is held out once
more: the weights are chosen on the other three speakers' out-of-fold rows, by each rule
below, and the weighted prediction is scored on the held-out speaker's rows.

- `caruana`: what the package does (`CaruanaEnsemble` on the log loss of all rows);
- `best`: the one trial of the best log loss;
- `worst_group`: Caruana steps that lower the log loss of the worst speaker;
- `mean_plus_spread`: Caruana steps that lower the speakers' mean log loss plus its
  standard deviation across them;
- `per_group_mean`: Caruana on each set of all speakers but one, the weights averaged.

    .venv/bin/python benchmarks/group_weights.py [benchmarks/.work/media/home]

One line per fit (named by the speaker it held out), then each rule's mean accuracy.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from assay.automl._assemble import MAX_ENSEMBLE_CANDIDATES
from assay.ensemble import CaruanaEnsemble
from assay.evaluate._metrics import _logloss, get_metric

ROOT = Path(__file__).resolve().parents[1]
HOME = ROOT / "benchmarks" / ".work" / "media" / "home"
SPEAKERS = {"george", "jackson", "lucas", "nicolas", "theo"}
LOG_LOSS = get_metric("log_loss", "multiclass")


class _Selection(CaruanaEnsemble):
    """Caruana steps that lower `objective(prediction)` instead of the metric."""

    def __init__(self, objective):
        super().__init__(LOG_LOSS)
        self.objective = objective

    def _loss(self, y, pred, w):
        return self.objective(pred)


def _per_speaker(pred, y, groups) -> list[float]:
    return [_logloss(y[groups == g], pred[groups == g]) for g in np.unique(groups)]


def caruana(preds, y, groups):
    return CaruanaEnsemble(LOG_LOSS).fit(preds, y).weights_


def best(preds, y, groups):
    weights = np.zeros(len(preds))
    weights[int(np.argmin([_logloss(y, p) for p in preds]))] = 1.0
    return weights


def worst_group(preds, y, groups):
    return _Selection(lambda p: max(_per_speaker(p, y, groups))).fit(preds, y).weights_


def mean_plus_spread(preds, y, groups):
    def objective(p):
        losses = _per_speaker(p, y, groups)
        return float(np.mean(losses) + np.std(losses))

    return _Selection(objective).fit(preds, y).weights_


def per_group_mean(preds, y, groups):
    weights = []
    for g in np.unique(groups):
        rows = groups != g
        weights.append(caruana([p[rows] for p in preds], y[rows], groups[rows]))
    return np.mean(weights, axis=0)


RULES = [caruana, best, worst_group, mean_plus_spread, per_group_mean]


def _fit_record(folder: Path):
    """(held-out speaker, trials' out-of-fold predictions, target, each row's speaker) of
    one fit's run folder, or None when it is not an FSDD fit."""
    media = folder / "oof" / "media.json"
    if not media.exists():
        return None
    files = next(iter(json.loads(media.read_text()).values()))
    speakers = np.array([Path(f).name.split("_")[1] if f else "" for f in files])
    held_out = SPEAKERS - set(speakers)
    if len(held_out) != 1:
        return None
    y = np.load(folder / "oof" / "target.npy").astype(int)
    trials = [np.load(p) for p in sorted((folder / "oof").glob("trial_*.npy"))]
    trials = [t for t in trials if t.ndim == 2 and np.isfinite(t).all()]
    # the best as many as the package's ensemble considers
    trials = sorted(trials, key=lambda t: _logloss(y, t))[:MAX_ENSEMBLE_CANDIDATES]
    return held_out.pop(), trials, y, speakers


def main() -> None:
    home = Path(sys.argv[1]) if len(sys.argv) > 1 else HOME
    scores: dict[str, list[float]] = {rule.__name__: [] for rule in RULES}
    for folder in sorted(p for p in home.iterdir() if p.is_dir()):
        record = _fit_record(folder)
        if record is None:
            continue
        held_out, trials, y, speakers = record
        line = [f"{held_out} ({folder.name[:8]})"]
        for rule in RULES:
            accuracies = []
            for speaker in np.unique(speakers):
                rest, one = speakers != speaker, speakers == speaker
                weights = rule([t[rest] for t in trials], y[rest], speakers[rest])
                pred = sum(w * t[one] for w, t in zip(weights, trials, strict=True))
                accuracies.append(float((np.argmax(pred, axis=1) == y[one]).mean()))
            scores[rule.__name__].append(float(np.mean(accuracies)))
            line.append(f"{rule.__name__} {scores[rule.__name__][-1]:.3f}")
        print("  ".join(line), flush=True)
    if not any(scores.values()):
        raise SystemExit(f"no FSDD fit's out-of-fold record under {home}: run media.py first")
    print("mean: " + "  ".join(f"{k} {np.mean(v):.4f}" for k, v in scores.items()))


if __name__ == "__main__":
    main()

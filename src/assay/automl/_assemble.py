"""From finished trials to the deployable Predictor: ensemble selection, the members and
their weights, the leaderboard with its significance test; and the out-of-fold record a
report is drawn from."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from assay._types import TrialState
from assay.automl._checkpoint import checkpoint_meta, fold_rounds, load_member
from assay.automl._context import covered_rows, is_one_fold, scored_rows
from assay.automl._leaderboard import build_leaderboard
from assay.automl._member import Member
from assay.automl._predictor import Predictor
from assay.data._leakage import training_fingerprints
from assay.ensemble import CaruanaEnsemble, temperature_for, tempered
from assay.evaluate._cv import safe_score

MAX_ENSEMBLE_CANDIDATES = 25


def n_level1_run(outcomes: list) -> int:
    """Level-1 trials that ran (skips and level-2 fits do not count toward n_trials)."""
    return sum(o.state is not TrialState.SKIPPED and o.level == 1 for o in outcomes)


def assemble_predictor(
    outcomes, dataset, metric, classes, y, folds, deadline, stack, random_state: int = 0
) -> tuple[Predictor, np.ndarray]:
    """Caruana selection over the best trials (level 2 included when the stack was
    fitted), stopped early rather than overrun, on the rows the folds validate and under
    the dataset's row weights; for log loss, the ensemble's temperature fitted on the same
    out-of-fold predictions (`assay.ensemble.temperature_for`). The chosen trials' fold
    models stay in their checkpoints (`load_member` reads them when needed). Returns the
    predictor and the ensemble's out-of-fold predictions (calibrated)."""
    rows = scored_rows(folds, len(y))
    row_w = dataset.weights

    # a one-fold family's trials predict their fold's rows only: not ranked with the others
    # but blended in after them (when they alone finished, the ensemble is theirs, on those
    # rows)
    complete = [o for o in outcomes if o.state is TrialState.COMPLETE]
    one_fold = [o for o in complete if is_one_fold(o) and o.has_models]
    bagged = [o for o in complete if not is_one_fold(o)] or one_fold
    if bagged is one_fold:
        rows, one_fold = _common_rows(bagged, rows), []
    bagged = sorted(bagged, key=lambda o: metric.loss(o.score))[:MAX_ENSEMBLE_CANDIDATES]
    done = bagged + one_fold
    ensemble = CaruanaEnsemble(metric).fit(
        [o.fit.oof[rows] for o in bagged],
        y[rows],
        deadline=deadline,
        w=None if row_w is None else row_w[rows],
    )
    weight = {id(o): float(w) for o, w in zip(bagged, ensemble.weights_, strict=True)}
    oof = ensemble.predict([o.fit.oof for o in bagged])
    blend = None
    if one_fold:
        oof, blend = _blend_one_fold(metric, y, rows, row_w, oof, one_fold, weight, deadline)
    chosen = [o for o in done if weight.get(id(o), 0.0) > 0]
    level1 = [o for o in chosen if o.level == 1]
    level2 = [o for o in chosen if o.level == 2]
    if level2:  # the bases feed level 2: keep them, with weight 0 when not chosen
        kept = {id(o) for o in level1}
        level1 += [b for b in stack.bases if id(b) not in kept]
    members = [_member(o, weight.get(id(o), 0.0)) for o in level1]
    position = {id(o): i for i, o in enumerate(level1)}
    inputs = [position[id(b)] for b in stack.bases] if level2 else []
    members += [_member(o, weight[id(o)], level=2, inputs=inputs) for o in level2]
    scored_w = None if row_w is None else row_w[rows]
    # calibrated on the rows the folds validate
    score = safe_score(metric, y[rows], oof[rows], scored_w)
    temperature = temperature_for(metric.name, oof[rows], y[rows], scored_w)
    if temperature != 1.0:
        oof = oof.copy()
        oof[rows] = tempered(oof[rows], temperature)
        score = safe_score(metric, y[rows], oof[rows], scored_w)
    entries = [
        {
            "model": "ensemble",
            "level": max(m.level for m in members),
            "score": score,
            "weight": 1.0,
            "fit_time_s": sum(o.fit.fit_time_s for o in done),
            "predict_time_s": sum(o.fit.predict_time_s for o in done),
            "config": "",
            "oof": oof,
        }
    ]
    for o in done:  # one-fold trials last: the test compares whole predictions
        entries.append(
            {
                "model": o.candidate.model,
                "level": o.level,
                "score": o.score,
                "weight": weight.get(id(o), 0.0),
                "fit_time_s": o.fit.fit_time_s,
                "predict_time_s": o.fit.predict_time_s,
                "config": _short(o.candidate.config),
                "oof": o.fit.oof,
            }
        )
    board, significance = build_leaderboard(
        entries, y, folds, metric, random_state=random_state, w=row_w
    )
    predictor = Predictor(
        task=dataset.task,
        target=dataset.target,
        metric=metric.name,
        schema=dataset.schema,
        classes=classes,
        members=members,
        leaderboard=board,
        train_rows=training_fingerprints(dataset.X[list(dataset.schema.features)]),
        temperatures=[temperature],
        info={
            "ensemble_score": float(score),
            "n_folds": len(folds),
            "n_trials": n_level1_run(outcomes),
            "n_skipped": sum(o.state is TrialState.SKIPPED for o in outcomes),
            "n_level2": len(stack.level2),
            "n_rows": len(y),
            "dropped_rows": dataset.n_dropped_rows,
            "warnings": list(dataset.warnings),
            "stack": stack.decision.to_dict(),
            "significance": significance,
            **({"one_fold_blend": blend} if blend else {}),
        },
    )
    return predictor, oof


def _common_rows(outcomes: list, rows: np.ndarray) -> np.ndarray:
    """Those of `rows` that every outcome's out-of-fold predictions cover."""
    for o in outcomes:
        rows = covered_rows(o.fit.oof, rows)
    return rows


def _blend_one_fold(metric, y, rows, row_w, oof, one_fold, weight, deadline):
    """The ensemble's out-of-fold predictions `oof` blended with those of the one-fold
    trials (`Model.one_fold`) on the rows these predict, their fold's: Caruana selection
    over the ensemble, as one model, and each of them; the ensemble's weights (in
    `weight`, updated with theirs) scaled by its share. On the other rows the ensemble's
    predictions stay as they were. Returns the blended predictions and what the blend did:
    its rows, the ensemble's share, and the score on those rows without and with it."""
    held = _common_rows(one_fold, rows)
    w_held = None if row_w is None else row_w[held]
    parts = [oof[held]] + [o.fit.oof[held] for o in one_fold]
    chooser = CaruanaEnsemble(metric).fit(parts, y[held], deadline=deadline, w=w_held)
    share = float(chooser.weights_[0])
    for key in weight:
        weight[key] *= share
    weight.update({id(o): float(w) for o, w in zip(one_fold, chooser.weights_[1:], strict=True)})
    blended = oof.copy()
    blended[held] = chooser.predict(parts)
    return blended, {
        "rows": len(held),
        "ensemble_weight": share,
        "members": [o.candidate.model for o in one_fold],
        "without": safe_score(metric, y[held], oof[held], w_held),
        "with": safe_score(metric, y[held], blended[held], w_held),
    }


def _short(config: dict[str, Any]) -> str:
    """The config as the leaderboard shows it: floats to 4 significant digits (a learning
    rate of 5e-05 stays 5e-05, not 0.0001 as 4 decimals would make it)."""
    return ", ".join(
        f"{k}={float(f'{v:.4g}') if isinstance(v, float) else v}" for k, v in config.items()
    )


def _member(outcome, weight: float, level: int = 1, inputs: list[int] | None = None) -> Member:
    """The member of a chosen trial. Fold models already in memory stay there; those in
    the trial's checkpoint stay on disk until `load_member` reads them, so that a refit on
    all rows does not first hold every member's folds at once."""
    fit = outcome.fit
    member = Member(
        outcome.candidate.model,
        outcome.candidate.config,
        weight,
        float(outcome.score),
        level=level,
        inputs=list(inputs or []),
    )
    if outcome.models_in_memory:
        member.encoders, member.models = fit.encoders, fit.models
        n_folds, member.fold_rounds = len(fit.models), fold_rounds(fit.models)
    else:
        meta = checkpoint_meta(outcome.saved_in)
        member.checkpoint, n_folds = outcome.saved_in, meta["n_folds"]
        member.fold_rounds = meta.get("rounds", [])
        if n_folds == 1 or "rounds" not in meta:  # never refitted; or written before rounds
            load_member(member)
    member.fold_fit_s = fit.fit_time_s / n_folds
    return member


def save_oof(
    run_dir: Path, oof: np.ndarray, y: np.ndarray, folds: list, media: dict | None = None
) -> None:
    """The ensemble's out-of-fold predictions, the encoded target and each row's fold, next
    to the trials' own: what a report's curves and significance tests are drawn from; and
    `media`, each row's image or sound file by column, for the report's examples."""
    folder = run_dir / "oof"
    folder.mkdir(parents=True, exist_ok=True)
    fold_of = np.empty(len(y), dtype=np.int32)
    for k, (_, valid) in enumerate(folds):
        fold_of[valid] = k
    np.save(folder / "ensemble.npy", oof)
    np.save(folder / "target.npy", y)
    np.save(folder / "fold_of_row.npy", fold_of)
    if media:
        (folder / "media.json").write_text(json.dumps(media))

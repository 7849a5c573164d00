"""Is predictor A really better than predictor B on this data?

Two questions, answered separately:
- the trained artifacts: both predict the given (held-out) rows; a paired bootstrap over
  those rows gives the difference with a confidence interval;
- the recipes: each predictor's level-1 members are retrained with their configs on the
  same k folds of the data (`refit=True`), and the corrected resampled t-test of Nadeau and
  Bengio compares the per-fold scores. Without refitting, the fixed models are scored on
  disjoint folds, and the test is the plain paired t-test (no training sets overlap).
"""

from __future__ import annotations

import math
import time

import numpy as np
import pandas as pd

from assay._cpus import usable_cpus
from assay.errors import ConfigError
from assay.evaluate import cross_fit, get_metric, make_folds
from assay.evaluate._explain import read_rows
from assay.evaluate._stats import Comparison, compare_predictions, paired_bootstrap
from assay.log import get_logger

logger = get_logger(__name__)


def _check_pair(a, b) -> None:
    if a.task != b.task or a.target != b.target:
        raise ConfigError(
            f"The predictors answer different questions: A predicts '{a.target}' "
            f"({a.task.value}), B predicts '{b.target}' ({b.task.value}). Compare predictors "
            "of the same target and task."
        )
    if a.classes is not None and [str(c) for c in a.classes] != [str(c) for c in b.classes]:
        raise ConfigError(f"The predictors know different classes: {a.classes} vs {b.classes}.")


def refit_oof(predictor, X: pd.DataFrame, y: np.ndarray, folds, metric) -> np.ndarray:
    """Out-of-fold predictions of the predictor's recipe: its derived features and its
    level-1 members' configs retrained on `folds`, blended with the members' weights
    (level-2 members are left out and the level-1 weights renormalized) and tempered by
    the predictor's temperature."""
    from assay.features import DerivedFeatures
    from assay.models import MODELS

    types = {c.name: c.type for c in predictor.schema.columns if c.name != predictor.target}
    fold_columns = None
    if predictor.derived is not None:
        old = predictor.derived
        derived = DerivedFeatures(
            old.types,
            old.task,
            pairs=old.pairs,
            embed=old.embed,
            random_state=old.random_state,
            generated=old.generated,
        )
        X = pd.concat([X, derived.fit_transform(X, y, folds)], axis=1)
        fold_columns = derived.fold_columns(X, y, folds)
        types = {**types, **derived.feature_types()}
    members = [m for m in predictor.members if m.level == 1 and m.weight > 0]
    if not members:  # only level-2 members carried weight: fall back to their inputs
        members = [m for m in predictor.members if m.level == 1]
    weights = np.array([m.weight for m in members], dtype=float)
    weights = (
        weights / weights.sum() if weights.sum() > 0 else np.full(len(members), 1 / len(members))
    )
    n_classes = len(predictor.classes or [])
    blend = np.zeros(0)
    for i, (member, weight) in enumerate(zip(members, weights, strict=True)):
        fit = cross_fit(  # early stopping on the validation fold, as in the original fit
            MODELS[member.model],
            dict(member.config),
            X,
            y,
            types,
            folds,
            task=predictor.task,
            metric=metric,
            n_classes=n_classes,
            n_jobs=usable_cpus(),
            random_state=0,
            deadline=math.inf,
            fold_columns=fold_columns,
        )
        blend = weight * fit.oof if i == 0 else blend + weight * fit.oof
    temperature = predictor.one_temperature
    if predictor.task.is_classification and temperature is not None:
        from assay.ensemble import tempered

        blend = tempered(blend, temperature)  # calibrated as the predictor is
    return blend


def compare_predictors(
    a,
    b,
    data,
    *,
    names: tuple[str, str] = ("A", "B"),
    metric: str | None = None,
    n_folds: int = 5,
    refit: bool = True,
    n_boot: int = 1000,
    alpha: float = 0.05,
    random_state: int = 0,
) -> dict:
    """Both tests; returns {"held_out": Comparison, "folds": Comparison, ...} as plain data."""
    _check_pair(a, b)
    X, y = read_rows(a, data, need_target=True)
    task_metric = get_metric(metric or a.metric, a.task).for_classes(a.classes)
    pred_a, pred_b = a._raw(X), b._raw(X)
    held_out = paired_bootstrap(
        y, pred_a, pred_b, task_metric, n_boot=n_boot, alpha=alpha, random_state=random_state
    )
    folds = make_folds(y, a.task, n_folds, random_state)
    started = time.monotonic()
    if refit:
        oof_a = refit_oof(a, X, y, folds, task_metric)
        oof_b = refit_oof(b, X, y, folds, task_metric)
        ratio = None
    else:
        oof_a, oof_b, ratio = pred_a, pred_b, 0.0
    fold_test: Comparison = compare_predictions(
        names,
        y,
        oof_a,
        oof_b,
        folds,
        task_metric,
        bootstrap=False,
        alpha=alpha,
        n_test_over_train=ratio,
    )
    return {
        "metric": task_metric.name,
        "greater_is_better": task_metric.greater_is_better,
        "n_rows": len(y),
        "score_a": float(task_metric(y, pred_a)),
        "score_b": float(task_metric(y, pred_b)),
        "held_out": held_out,
        "folds": fold_test,
        "refit": refit,
        "refit_s": time.monotonic() - started if refit else 0.0,
    }

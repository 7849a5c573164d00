"""k-fold bagging: every config is trained once per fold; the fold models are kept (they
are the deployed model) and their out-of-fold predictions feed the ensemble."""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from sklearn.model_selection import (
    GroupKFold,
    KFold,
    StratifiedGroupKFold,
    StratifiedKFold,
    StratifiedShuffleSplit,
)

from assay._types import FeatureType, Task
from assay.errors import DataError, TrialPruned, TrialTimeout
from assay.evaluate._memory import PeakMemory
from assay.evaluate._metrics import Metric
from assay.features import TabularEncoder
from assay.log import get_logger

if TYPE_CHECKING:
    from assay.models import Model

logger = get_logger(__name__)


def choose_n_folds(n_rows: int) -> int:
    """More folds on small data (more training rows per model), fewer on large data
    (each fold is expensive and the OOF estimate is already stable).

    A rare class does not lower the count: stratified, a class of c rows sits in c folds,
    one row each, so every fold model still learns from c - 1 or c of its rows, whatever
    the count. Lowering the folds to c (as this did) gave a whole fit 2 folds for one class
    of 2 rows, and no stacking; only the folds' validation rows lack the class, which the
    fold scores allow for."""
    n_folds = 8 if n_rows <= 20_000 else 5 if n_rows <= 100_000 else 3
    if n_rows < 100:
        n_folds = 5
    return max(2, min(n_folds, n_rows))


def make_folds(
    y: np.ndarray,
    task: Task,
    n_folds: int,
    random_state: int,
    groups: np.ndarray | None = None,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Stratified folds for classification, shuffled folds for regression. With `groups`,
    every group's rows fall in one fold (stratified as far as the groups allow), and there
    are at most as many folds as groups."""
    n_rows = len(y)
    if n_folds < 2:
        raise DataError(f"n_folds={n_folds}: cross-validation needs at least 2 folds.")
    if n_rows < n_folds:
        raise DataError(
            f"The data has {n_rows} rows, fewer than the {n_folds} folds asked for: "
            "give more rows or a smaller n_folds."
        )
    if groups is not None:
        return _group_folds(y, task, n_folds, random_state, np.asarray(groups))
    # stratified whenever the largest class fills the folds; rarer classes go one row a fold
    if task.is_classification and int(np.bincount(y).max()) >= n_folds:
        splitter = StratifiedKFold(n_folds, shuffle=True, random_state=random_state)
        with warnings.catch_warnings():  # a class under n_folds rows: see choose_n_folds
            warnings.filterwarnings("ignore", message="The least populated class")
            return [(tr, va) for tr, va in splitter.split(np.zeros(n_rows), y)]
    splitter = KFold(n_folds, shuffle=True, random_state=random_state)
    return [(tr, va) for tr, va in splitter.split(np.zeros(n_rows))]


def _group_folds(
    y: np.ndarray, task: Task, n_folds: int, random_state: int, groups: np.ndarray
) -> list[tuple[np.ndarray, np.ndarray]]:
    if len(groups) != len(y):
        raise DataError(f"groups has {len(groups)} values for {len(y)} rows: give one per row.")
    n_groups = len(np.unique(groups))
    if n_groups < 2:
        raise DataError(
            "All rows are in one group: grouped validation needs at least 2 groups (a model "
            "is scored on groups it never saw). Give a column with more groups, or no groups."
        )
    n_folds = min(n_folds, n_groups)
    rows = np.zeros(len(y))
    if task.is_classification:
        splitter = StratifiedGroupKFold(n_folds, shuffle=True, random_state=random_state)
        return [(tr, va) for tr, va in splitter.split(rows, y, groups)]
    splitter = GroupKFold(n_folds, shuffle=True, random_state=random_state)
    return [(tr, va) for tr, va in splitter.split(rows, y, groups)]


STOP_SHARE = 0.1  # of a fold's training rows, held out to stop boosting and nets early
MIN_STOP_ROWS = 20  # fewer training rows than this: no early stopping


def stopping_split(
    train_idx: np.ndarray, y: np.ndarray, task: Task, random_state: int
) -> tuple[np.ndarray, np.ndarray | None]:
    """(rows to fit, rows to stop on) out of a fold's training rows. Early stopping never
    looks at the fold's validation rows: choosing the round that scores best on them would
    make the out-of-fold score optimistic (on random labels, an AUC near 0.57, not 0.5)."""
    n_stop = round(STOP_SHARE * len(train_idx))
    if len(train_idx) < MIN_STOP_ROWS or n_stop < 2:
        return train_idx, None
    rng = np.random.default_rng(random_state)
    if task.is_classification:
        labels = y[train_idx]
        counts = np.bincount(labels)
        if counts[counts > 0].min() >= 2 and n_stop >= int((counts > 0).sum()):
            splitter = StratifiedShuffleSplit(1, test_size=n_stop, random_state=random_state)
            fit_pos, stop_pos = next(splitter.split(np.zeros(len(labels)), labels))
            return train_idx[np.sort(fit_pos)], train_idx[np.sort(stop_pos)]
    stop = np.zeros(len(train_idx), dtype=bool)
    stop[rng.permutation(len(train_idx))[:n_stop]] = True
    return train_idx[~stop], train_idx[stop]


MIN_FOLD_SHARE = 0.5  # a fold may run on half the time the earlier folds took, not less


@dataclass
class CrossFit:
    oof: np.ndarray
    encoders: list[TabularEncoder] = field(default_factory=list)
    models: list = field(default_factory=list)
    fold_scores: list[float] = field(default_factory=list)
    fit_time_s: float = 0.0
    predict_time_s: float = 0.0
    peak_memory_mb: float = 0.0


def full_proba(model, proba: np.ndarray, n_classes: int) -> np.ndarray:
    """Place a model's probability columns (for the classes it saw) into all K columns."""
    out = np.zeros((proba.shape[0], n_classes))
    out[:, np.asarray(model.classes_, dtype=int)] = proba
    return out


def safe_score(
    metric: Metric, y: np.ndarray, pred: np.ndarray, w: np.ndarray | None = None
) -> float:
    """The score (under row weights `w`), or NaN where the metric is undefined (e.g. AUC
    on a one-class fold, or a fold whose rows all weigh 0)."""
    try:
        return metric(y, pred, w)
    except (ValueError, ZeroDivisionError):
        return float("nan")


def predict_raw(model, X, task: Task, n_classes: int) -> np.ndarray:
    if task.is_classification:
        return full_proba(model, model.predict_proba(X), n_classes)
    return np.asarray(model.predict(X), dtype=float)


def predict_bagged(encoders: list, models: list, X, task: Task, n_classes: int) -> np.ndarray:
    """The mean raw prediction of fold models, each behind its own fitted encoder."""
    preds = [
        predict_raw(model, encoder.transform(X), task, n_classes)
        for encoder, model in zip(encoders, models, strict=True)
    ]
    return np.mean(preds, axis=0)


def _weights(w: np.ndarray | None, fit_idx: np.ndarray, stop_idx: np.ndarray | None) -> dict:
    """The weights of a fold's rows as Model.fit takes them (nothing without weights)."""
    if w is None:
        return {}
    return {"sample_weight": w[fit_idx], "val_weight": None if stop_idx is None else w[stop_idx]}


def _rows(X: pd.DataFrame, rows: np.ndarray, columns: pd.DataFrame | None) -> pd.DataFrame:
    """X's `rows`, with `columns` (where given) in place of X's columns of their names."""
    out = X.iloc[rows]
    if columns is not None:
        out = out.copy()
        for name in columns.columns:
            out[name] = columns[name].to_numpy()[rows]
    return out


def cross_fit(
    model_cls: type[Model],
    config: dict,
    X: pd.DataFrame,
    y: np.ndarray,
    types: dict[str, FeatureType],
    folds: list[tuple[np.ndarray, np.ndarray]],
    *,
    task: Task,
    metric: Metric,
    n_classes: int,
    n_jobs: int,
    random_state: int,
    deadline: float,
    prune: Callable[[list[float]], bool] | None = None,
    w: np.ndarray | None = None,
    fold_columns: Sequence[pd.DataFrame] | None = None,
    out_of_bag: bool = False,
) -> CrossFit:
    """Train `model_cls(**config)` on every fold, under row weights `w` (None: alike);
    `fold_columns[i]`, where given, replaces those columns of X in the rows fold i trains
    on (values built from targets without fold i's, see DerivedFeatures.fold_columns);
    raise TrialTimeout when the remaining
    folds cannot finish before `deadline` (a time.monotonic() value), and TrialPruned when
    `prune(fold_scores)` says so after the second or a later fold.

    With `out_of_bag` (the caller's word that no row's group or time ties it to others),
    a family that `scores_out_of_bag` is fitted once on all rows instead, its out-of-fold
    predictions the out-of-bag ones and its fold scores theirs on each fold's rows: one
    model's time and memory instead of one per fold. Not with `fold_columns`, weights of
    0, or folds that do not split the rows into train and validation parts."""
    if out_of_bag and _bags_out_of_bag(model_cls, config, folds, len(y), w, fold_columns):
        model = model_cls(task=task, n_jobs=n_jobs, random_state=random_state, **config)
        fit = _fit_out_of_bag(model, X, y, types, folds, metric, n_classes, deadline, w)
        if fit is not None:
            return fit
    oof_shape = (len(y), n_classes) if task.is_classification else (len(y),)
    result = CrossFit(oof=np.zeros(oof_shape))
    with PeakMemory() as memory:
        for i, (train_idx, valid_idx) in enumerate(folds):
            time_left = deadline - time.monotonic()
            folds_left = len(folds) - i
            if i > 0:
                # models stop at their time limit, so the remaining folds may run shorter
                # than the first ones did; give up only when each would get under half
                per_fold = (result.fit_time_s + result.predict_time_s) / i
                if per_fold * folds_left * MIN_FOLD_SHARE > time_left:
                    raise TrialTimeout(
                        f"fold {i + 1}/{len(folds)}: {time_left:.1f}s left", fold_s=per_fold
                    )
            if time_left <= 0:
                raise TrialTimeout("no time left")
            started = time.monotonic()
            fit_idx, stop_idx = train_idx, None
            if getattr(model_cls, "early_stopping", False):
                fit_idx, stop_idx = stopping_split(train_idx, y, task, random_state + i)
            encoder = TabularEncoder(model_cls.encoding, types)
            own = None if fold_columns is None else fold_columns[i]
            X_train = encoder.fit_transform(_rows(X, fit_idx, own))
            X_valid = encoder.transform(X.iloc[valid_idx])
            X_stop = None if stop_idx is None else encoder.transform(_rows(X, stop_idx, own))
            model = model_cls(task=task, n_jobs=n_jobs, random_state=random_state + i, **config)
            model.fit(
                X_train,
                y[fit_idx],
                X_val=X_stop,
                y_val=None if stop_idx is None else y[stop_idx],
                time_limit_s=time_left / folds_left,
                **_weights(w, fit_idx, stop_idx),
            )
            fitted = time.monotonic()
            pred = predict_raw(model, X_valid, task, n_classes)
            result.oof[valid_idx] = pred
            result.predict_time_s += time.monotonic() - fitted
            result.fit_time_s += fitted - started
            fold_w = None if w is None else w[valid_idx]
            result.fold_scores.append(safe_score(metric, y[valid_idx], pred, fold_w))
            result.encoders.append(encoder)
            result.models.append(model)
            n_done = len(result.fold_scores)
            if prune is not None and 2 <= n_done < len(folds) and prune(result.fold_scores):
                raise TrialPruned(f"pruned after {n_done}/{len(folds)} folds", result.fold_scores)
    result.peak_memory_mb = memory.peak_mb
    return result


def _bags_out_of_bag(
    model_cls: type[Model],
    config: dict,
    folds: list[tuple[np.ndarray, np.ndarray]],
    n_rows: int,
    w: np.ndarray | None,
    fold_columns: Sequence[pd.DataFrame] | None,
) -> bool:
    """Whether a trial may fit once on all rows and score out of bag (see cross_fit)."""
    if not model_cls.scores_out_of_bag(config) or fold_columns is not None:
        return False
    if w is not None and not (w > 0).all():  # a fit leaves rows of weight 0 out
        return False
    valid = np.concatenate([v for _, v in folds])
    if len(valid) != n_rows or not np.array_equal(np.sort(valid), np.arange(n_rows)):
        return False
    return all(len(train) + len(v) == n_rows for train, v in folds)


def _fit_out_of_bag(
    model: Model,
    X: pd.DataFrame,
    y: np.ndarray,
    types: dict[str, FeatureType],
    folds: list[tuple[np.ndarray, np.ndarray]],
    metric: Metric,
    n_classes: int,
    deadline: float,
    w: np.ndarray | None,
) -> CrossFit | None:
    """One model on all rows scored out of bag (see cross_fit), or None when the fitted
    model cannot give every row an out-of-bag prediction (too few trees in the time)."""
    time_left = deadline - time.monotonic()
    if time_left <= 0:
        raise TrialTimeout("no time left")
    with PeakMemory() as memory:
        started = time.monotonic()
        encoder = TabularEncoder(model.encoding, types)
        X_all = encoder.fit_transform(X)
        model.fit(X_all, y, time_limit_s=time_left, sample_weight=w)
        fitted = time.monotonic()
        raw = model.out_of_bag_raw(X_all)
        if raw is None:
            logger.info("%s left rows without an out-of-bag prediction: per fold", model.name)
            return None
        oof = full_proba(model, raw, n_classes) if Task(model.task).is_classification else raw
        result = CrossFit(oof=oof, encoders=[encoder], models=[model])
        result.fit_time_s = fitted - started
        result.predict_time_s = time.monotonic() - fitted
        for _, valid in folds:
            fold_w = None if w is None else w[valid]
            result.fold_scores.append(safe_score(metric, y[valid], oof[valid], fold_w))
    result.peak_memory_mb = memory.peak_mb
    return result

"""Metrics under row weights, fast enough to run a thousand times: a bootstrap resample is
the same rows with integer weights (how often each was drawn), so each replicate costs one
weighted sum instead of a fresh sklearn call on copied rows.

`weighted_scorer(metric, y, pred)` prepares what does not change between replicates (per-row
losses, the rank order for AUC) and returns `score(weights) -> float`, equal to
`metric(y[rows], pred[rows])` for `weights = bincount(rows)`. Metrics without a fast form
fall back to the metric itself on the drawn rows."""

from __future__ import annotations

import numpy as np

from assay.evaluate._cv import safe_score
from assay.evaluate._metrics import Metric, row_log_losses, weighted_auc


def _per_class_counts(y: np.ndarray, labels: np.ndarray, n_classes: int):
    def counts(w: np.ndarray):
        tp = np.bincount(y, weights=w * (labels == y), minlength=n_classes)
        true = np.bincount(y, weights=w, minlength=n_classes)
        predicted = np.bincount(labels, weights=w, minlength=n_classes)
        return tp, true, predicted

    return counts


def weighted_scorer(metric: Metric, y: np.ndarray, pred: np.ndarray):
    y, pred = np.asarray(y), np.asarray(pred)
    name = metric.name
    if pred.ndim == 2:  # classification: probabilities, labels 0..K-1
        n_classes = pred.shape[1]
        y = y.astype(int)
        labels = np.argmax(pred, axis=1)
        if name == "logloss":
            loss = row_log_losses(y, pred)
            return lambda w: float(w @ loss / w.sum())
        if name == "accuracy":
            hit = (labels == y).astype(float)
            return lambda w: float(w @ hit / w.sum())
        if name == "auc":
            if n_classes == 2:
                return weighted_auc(pred[:, 1], y == 1)
            per_class = [weighted_auc(pred[:, c], y == c) for c in range(n_classes)]
            return lambda w: float(np.mean([auc(w) for auc in per_class]))
        counts = _per_class_counts(y, labels, n_classes)
        if name == "balanced_accuracy":

            def balanced(w: np.ndarray) -> float:
                tp, true, _ = counts(w)
                seen = true > 0
                return float(np.mean(tp[seen] / true[seen]))

            return balanced
        if name == "f1":

            def f1(w: np.ndarray) -> float:
                tp, true, predicted = counts(w)
                denom = true + predicted
                per_class = np.divide(2 * tp, denom, out=np.zeros_like(tp), where=denom > 0)
                return float(per_class[1] if n_classes == 2 else per_class.mean())

            return f1
    else:
        y, pred = y.astype(float), pred.astype(float)
        error = pred - y
        if name == "rmse":
            return lambda w: float(np.sqrt(w @ error**2 / w.sum()))
        if name == "mae":
            return lambda w: float(w @ np.abs(error) / w.sum())
        if name == "r2":

            def r2(w: np.ndarray) -> float:
                total = w.sum()
                mean = w @ y / total
                ss_tot = w @ (y - mean) ** 2
                return float(1 - (w @ error**2) / ss_tot) if ss_tot > 0 else float("nan")

            return r2

    def fallback(w: np.ndarray) -> float:
        rows = np.repeat(np.arange(len(y)), w.astype(int))
        return safe_score(metric, y[rows], pred[rows])

    return fallback

"""Metrics with a direction. Classification metrics take class-probability matrices
(n_rows x n_classes, columns in label order 0..K-1); regression metrics take values. Every
metric takes optional row weights (`sample_weight`); custom metrics (a callable with a
direction, or a scikit-learn scorer) come from `assay.evaluate._custom_metric`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from sklearn import metrics as skm

from assay._types import Task
from assay.errors import ConfigError


@dataclass(frozen=True)
class Metric:
    """`fn(y, pred, sample_weight)` scores encoded labels (0..K-1) or values against raw
    predictions; `sample_weight` is None or one non-negative weight per row."""

    name: str
    greater_is_better: bool
    tasks: frozenset[Task]
    fn: Callable[[np.ndarray, np.ndarray, np.ndarray | None], float]

    def __call__(
        self, y_true: np.ndarray, pred: np.ndarray, sample_weight: np.ndarray | None = None
    ) -> float:
        weights = None if sample_weight is None else np.asarray(sample_weight, dtype=float)
        return float(self.fn(np.asarray(y_true), np.asarray(pred), weights))

    def for_classes(
        self, classes: list | None, y: np.ndarray | None = None, sample_weight=None
    ) -> Metric:
        """This metric for a fit whose encoded labels stand for `classes` (None for
        regression); a custom metric checks itself on `y` (and `sample_weight`) here.
        Built-ins need nothing."""
        return self

    def loss(self, value: float) -> float:
        """Lower is better, whatever the metric: what optimizers minimize."""
        return -value if self.greater_is_better else value

    def better(self, a: float, b: float) -> bool:
        return self.loss(a) < self.loss(b)

    @property
    def worst(self) -> float:
        return -np.inf if self.greater_is_better else np.inf


def _labels(proba: np.ndarray) -> np.ndarray:
    return np.argmax(proba, axis=1)


def weighted_auc(score: np.ndarray, positive: np.ndarray) -> Callable[[np.ndarray], float]:
    """The area under the ROC curve as the Mann-Whitney statistic, ties counting one half,
    under row weights: the sort is done once, each weighting costs two bincounts (NaN when
    one class has no weight). A bootstrap replicate is the same rows with integer weights."""
    values, group = np.unique(score, return_inverse=True)
    n_groups = len(values)

    def auc(w: np.ndarray) -> float:
        pos = np.bincount(group, weights=w * positive, minlength=n_groups)
        neg = np.bincount(group, weights=w * ~positive, minlength=n_groups)
        total_pos, total_neg = pos.sum(), neg.sum()
        if total_pos == 0 or total_neg == 0:
            return float("nan")
        below = np.cumsum(neg) - neg
        return float(np.sum(pos * (below + 0.5 * neg)) / (total_pos * total_neg))

    return auc


def binary_auc(positive: np.ndarray, score: np.ndarray) -> float:
    """scikit-learn's roc_auc_score at a tenth of its time (one sort, no input checks), with
    its errors: the ensemble selection scores hundreds of blends (on 4,240 rows with 24
    candidates and 8 folds, 2.6 s of a 60 s fit went to roc_auc_score there)."""
    positive, score = np.asarray(positive, dtype=bool), np.asarray(score, dtype=float)
    if not np.isfinite(score).all():
        raise ValueError("AUC of scores that are not all finite (NaN or infinity)")
    value = weighted_auc(score, positive)(np.ones(len(score)))
    if np.isnan(value):
        raise ValueError("AUC is undefined when only one class is present")
    return value


def _auc(y: np.ndarray, proba: np.ndarray, w: np.ndarray | None = None) -> float:
    if proba.shape[1] == 2 and w is None:
        return binary_auc(y == 1, proba[:, 1])
    if proba.shape[1] == 2:
        return skm.roc_auc_score(y == 1, proba[:, 1], sample_weight=w)
    return skm.roc_auc_score(
        y,
        proba,
        multi_class="ovr",
        average="macro",
        labels=np.arange(proba.shape[1]),
        sample_weight=w,
    )


def clipped_proba(proba: np.ndarray) -> np.ndarray:
    """Probabilities clipped at 1e-15 and renormalized, as log loss reads them."""
    proba = np.clip(proba, 1e-15, 1)
    return proba / proba.sum(axis=1, keepdims=True)


def row_log_losses(y: np.ndarray, proba: np.ndarray) -> np.ndarray:
    """Each row's negative log of its clipped probability for its class (labels 0..K-1)."""
    return -np.log(clipped_proba(proba)[np.arange(len(y)), y])


def _logloss(y: np.ndarray, proba: np.ndarray, w: np.ndarray | None = None) -> float:
    """The mean of `row_log_losses`: scikit-learn's log_loss to 1e-12, computed directly
    (its checks and label binarizing took 18 ms on 8,000 rows of 10 classes, this 0.4 ms,
    and the ensemble selection computes it hundreds of times)."""
    y = np.asarray(y)
    if y.dtype.kind not in "iu" or not np.isfinite(proba).all():  # its own errors
        return skm.log_loss(
            y, clipped_proba(proba), labels=np.arange(proba.shape[1]), sample_weight=w
        )
    if len(y) == 0 or y.min() < 0 or y.max() >= proba.shape[1]:
        raise ValueError(f"labels must lie in 0..{proba.shape[1] - 1} for {len(y)} rows")
    return float(np.average(row_log_losses(y, proba), weights=w))


def _f1(y: np.ndarray, proba: np.ndarray, w: np.ndarray | None = None) -> float:
    average = "binary" if proba.shape[1] == 2 else "macro"
    return skm.f1_score(y, _labels(proba), average=average, zero_division=0, sample_weight=w)


def _accuracy(y: np.ndarray, proba: np.ndarray, w: np.ndarray | None = None) -> float:
    return float(skm.accuracy_score(y, _labels(proba), sample_weight=w))


def _balanced_accuracy(y: np.ndarray, proba: np.ndarray, w: np.ndarray | None = None) -> float:
    return float(skm.balanced_accuracy_score(y, _labels(proba), sample_weight=w))


def _rmse(y: np.ndarray, pred: np.ndarray, w: np.ndarray | None = None) -> float:
    return float(np.sqrt(skm.mean_squared_error(y, pred, sample_weight=w)))


def _mae(y: np.ndarray, pred: np.ndarray, w: np.ndarray | None = None) -> float:
    return float(skm.mean_absolute_error(y, pred, sample_weight=w))


def _r2(y: np.ndarray, pred: np.ndarray, w: np.ndarray | None = None) -> float:
    return float(skm.r2_score(y, pred, sample_weight=w))


_CLF = frozenset({Task.BINARY, Task.MULTICLASS})
_REG = frozenset({Task.REGRESSION})

METRICS: dict[str, Metric] = {
    m.name: m
    for m in [
        Metric("auc", True, _CLF, _auc),
        Metric("logloss", False, _CLF, _logloss),
        Metric("accuracy", True, _CLF, _accuracy),
        Metric("f1", True, _CLF, _f1),
        Metric("balanced_accuracy", True, _CLF, _balanced_accuracy),
        Metric("rmse", False, _REG, _rmse),
        Metric("mae", False, _REG, _mae),
        Metric("r2", True, _REG, _r2),
    ]
}

DEFAULT_METRIC = {Task.BINARY: "auc", Task.MULTICLASS: "logloss", Task.REGRESSION: "rmse"}


# scikit-learn's scorer names for the built-ins (a scorer's neg_ loss is the loss here,
# lower is better, as the leaderboard shows it)
ALIASES = {
    "roc_auc": "auc",
    "roc_auc_ovr": "auc",
    "log_loss": "logloss",
    "neg_log_loss": "logloss",
    "acc": "accuracy",
    "f1_score": "f1",
    "neg_root_mean_squared_error": "rmse",
    "neg_mean_absolute_error": "mae",
}


def get_metric(spec: str | Metric | Callable | None, task: Task) -> Metric:
    """The metric `spec` names or is (default: the task's), checked against the task.

    `spec` is a built-in name (`METRICS`) or one of scikit-learn's names for them
    ("roc_auc", "neg_log_loss", ...), any other scikit-learn scorer name ("f1_macro",
    "average_precision", ...), a scikit-learn scorer object (`make_scorer(...)`), a Metric
    (from `assay.make_metric`), or the name of a metric `make_metric` made in this process."""
    from assay.evaluate._custom_metric import custom_metric

    if spec is None:
        return METRICS[DEFAULT_METRIC[task]]
    if isinstance(spec, str):
        name = spec.lower().replace("-", "_")
        name = ALIASES.get(name, name)
        metric = METRICS.get(name) or custom_metric(spec)
    else:
        metric = spec if isinstance(spec, Metric) else custom_metric(spec)
    if task not in metric.tasks:
        usable = [m.name for m in METRICS.values() if task in m.tasks]
        raise ConfigError(
            f"Metric {metric.name!r} does not apply to a {task.value} task. "
            f"Use one of: {', '.join(usable)}."
        )
    return metric

"""Custom metrics: a function with a direction (`make_metric`), a scikit-learn scorer object
(`make_scorer(...)`), or a scorer's name ("f1_macro", "average_precision"). They are scored
on the labels the user knows (not the fit's encoded 0..K-1), checked once on the first rows
of the target when a fit starts, and used like the built-ins by the search, the ensemble
selection and the leaderboard."""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin

from assay._types import Task
from assay.errors import ConfigError
from assay.evaluate._metrics import METRICS, Metric

_CLF = frozenset({Task.BINARY, Task.MULTICLASS})
_REG = frozenset({Task.REGRESSION})
_ALL = _CLF | _REG
_MADE: dict[str, Metric] = {}  # the custom metrics of this process, by name
_CHECK_ROWS = 200


@dataclass(frozen=True)
class CustomMetric(Metric):
    """`call(y_true, y_pred[, sample_weight])` with y_true the labels (or values) and
    y_pred what `response` says: "label" (predicted labels), "proba" (the positive class's
    probability for two classes, the probability matrix for more), "value" (regression),
    or "scorer": `call` is a scikit-learn scorer, called as scorer(estimator, X, y)."""

    call: Callable[..., Any] = dataclasses.field(default=None)  # type: ignore[assignment]
    response: str = "label"
    classes: tuple | None = None
    takes_weight: bool = False

    def __call__(
        self, y_true: np.ndarray, pred: np.ndarray, sample_weight: np.ndarray | None = None
    ) -> float:
        y, pred = np.asarray(y_true), np.asarray(pred)
        weights = {} if sample_weight is None else {"sample_weight": np.asarray(sample_weight)}
        if pred.ndim == 2:  # a classification: labels for the user's function
            classes = np.asarray(self.classes if self.classes is not None else range(pred.shape[1]))
            labels = classes[y.astype(int)]
            if self.response == "scorer":
                return float(self.call(_Answers(pred, classes), None, labels, **weights))
            if self.response == "proba":
                answer = pred[:, 1] if pred.shape[1] == 2 else pred
            else:
                answer = classes[np.argmax(pred, axis=1)]
            return float(self.call(labels, answer, **weights))
        if self.response == "scorer":
            return float(self.call(_Values(pred), None, y, **weights))
        return float(self.call(y, pred, **weights))

    def for_classes(
        self, classes: list | None, y: np.ndarray | None = None, sample_weight=None
    ) -> Metric:
        """This metric scoring with the labels `classes`, checked on the first rows of `y`
        (a ConfigError says how it failed and how it is called)."""
        bound = dataclasses.replace(self, classes=None if classes is None else tuple(classes))
        if sample_weight is not None and not bound.takes_weight:
            raise ConfigError(
                f"metric {self.name!r} takes no sample_weight: give its function a "
                "sample_weight=None parameter, or fit without sample_weight."
            )
        if y is not None:
            bound._check(np.asarray(y)[:_CHECK_ROWS], classes, sample_weight)
        return bound

    def _check(self, y: np.ndarray, classes: list | None, sample_weight) -> None:
        if classes is None:
            pred: np.ndarray = y.astype(float)
            given = "the predicted values"
        else:  # right labels, probabilities leaning to them
            k = len(classes)
            pred = np.full((len(y), k), 0.5 / k)
            pred[np.arange(len(y)), y.astype(int)] += 0.5
            given = {
                "label": "the predicted labels",
                "proba": "the positive class's probabilities"
                if k == 2
                else "the class-probability matrix",
                "scorer": "",
            }[self.response]
        weights = None if sample_weight is None else np.asarray(sample_weight)[: len(y)]
        how = (
            "as a scikit-learn scorer, scorer(estimator, X, y_true)"
            if self.response == "scorer"
            else f"as metric(y_true, y_pred) with y_pred {given}"
        )
        labels = "" if classes is None else f" (its labels: {list(classes)[:10]})"
        try:
            value = self(y, pred, weights)
        except Exception as exc:
            raise ConfigError(
                f"metric {self.name!r} failed on the first {len(y)} rows of the target: "
                f"{type(exc).__name__}: {exc}. It is called {how}, y_true the target's own "
                f"values{labels}."
            ) from exc
        if not np.isfinite(value):
            raise ConfigError(
                f"metric {self.name!r} gave {value} on the first {len(y)} rows of the target "
                "with right predictions: it must return a finite number."
            )


class _Answers(ClassifierMixin, BaseEstimator):
    """Precomputed class probabilities behind the estimator interface a scorer calls."""

    def __init__(self, proba: np.ndarray, classes: np.ndarray) -> None:
        self.proba = proba
        self.classes = classes
        self.classes_ = classes

    def predict_proba(self, X) -> np.ndarray:
        return self.proba

    def predict(self, X) -> np.ndarray:
        return self.classes_[np.argmax(self.proba, axis=1)]

    def decision_function(self, X) -> np.ndarray:
        return self.proba[:, 1] if self.proba.shape[1] == 2 else self.proba


class _Values(RegressorMixin, BaseEstimator):
    """Precomputed regression predictions behind the estimator interface."""

    def __init__(self, values: np.ndarray) -> None:
        self.values = values

    def predict(self, X) -> np.ndarray:
        return self.values


def make_metric(
    fn: Callable[..., Any],
    *,
    greater_is_better: bool,
    name: str | None = None,
    needs_proba: bool = False,
) -> Metric:
    """A metric for `AutoML(metric=...)`, `evaluate` and `assay.evaluate` from a function
    `fn(y_true, y_pred)` returning a number.

    Args:
        fn: called with the target's own labels (or values) and the predictions: the
            predicted labels, or with `needs_proba` the positive class's probability (two
            classes) or the class-probability matrix (more, columns in sorted label
            order). A `sample_weight` parameter receives the fit's row weights.
        greater_is_better: True for a score (accuracy), False for a loss (cost).
        name: what the leaderboard calls it (default: the function's name); a fit's run
            records it, so a later `AutoML.resume` or `predictor.evaluate(metrics=[name])`
            in a new process needs `make_metric` called again with this name.
        needs_proba: give `fn` probabilities instead of labels (classification only).

    Raises ConfigError for a function that is not callable or a direction not a bool."""
    if not callable(fn):
        raise ConfigError(f"make_metric: fn={fn!r} is not callable; give fn(y_true, y_pred).")
    if not isinstance(greater_is_better, bool):
        raise ConfigError(
            f"make_metric: greater_is_better={greater_is_better!r}: give True (a score) or "
            "False (a loss)."
        )
    name = name or getattr(fn, "__name__", "") or "custom"
    if name == "<lambda>":
        name = "custom"
    if name in METRICS:
        raise ConfigError(
            f"make_metric: name={name!r} is a built-in metric's name; give another name."
        )
    metric = CustomMetric(
        name,
        greater_is_better,
        _CLF if needs_proba else _ALL,
        _unused,
        call=fn,
        response="proba" if needs_proba else "label",
        takes_weight=_takes_weight(fn),
    )
    _MADE[name] = metric
    return metric


def custom_metric(spec: Any) -> Metric:
    """The custom metric `spec` names or is: a name `make_metric` registered in this
    process, a scikit-learn scorer name, or a scikit-learn scorer object."""
    from sklearn.metrics import get_scorer, get_scorer_names

    if isinstance(spec, str):
        if spec in _MADE:
            return _MADE[spec]
        if spec in get_scorer_names():
            return _from_scorer(get_scorer(spec), spec)
        raise ConfigError(
            f"Unknown metric {spec!r} (argument --metric / metric=). Choose one of: "
            f"{', '.join(METRICS)}; or a scikit-learn scorer name "
            "(sklearn.metrics.get_scorer_names(), e.g. f1_macro, average_precision); or, in "
            "Python, assay.make_metric(fn, greater_is_better=...) (a custom metric's name "
            "is known only in the process that made it: call make_metric again)."
        )
    if _is_scorer(spec):
        func = getattr(spec, "_score_func", None)
        metric = _from_scorer(spec, getattr(func, "__name__", "scorer"))
        _MADE[metric.name] = metric
        return metric
    if callable(spec):
        raise ConfigError(
            f"metric={spec!r}: a function needs its direction: "
            "metric=assay.make_metric(fn, greater_is_better=True) for a score, False for a "
            "loss (needs_proba=True to receive probabilities)."
        )
    raise ConfigError(
        f"metric={spec!r}: give a metric name (such as {', '.join(list(METRICS)[:4])}), a "
        "scikit-learn scorer, or assay.make_metric(fn, greater_is_better=...)."
    )


def _from_scorer(scorer: Any, name: str) -> Metric:
    """A scorer's value as scikit-learn gives it (greater is better: a loss is neg_...)."""
    func = getattr(scorer, "_score_func", None)
    module = getattr(func, "__module__", "") or ""
    tasks = _REG if "_regression" in module else _CLF if "_classification" in module else _ALL
    if "_ranking" in module:
        tasks = _CLF
    return CustomMetric(
        name, True, tasks, _unused, call=scorer, response="scorer", takes_weight=True
    )


def _is_scorer(spec: Any) -> bool:
    try:
        from sklearn.metrics._scorer import _BaseScorer
    except ImportError:  # a scikit-learn that moved it: what every scorer has
        return callable(spec) and hasattr(spec, "_score_func")
    return isinstance(spec, _BaseScorer)


def _takes_weight(fn: Callable) -> bool:
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):  # a builtin without a signature
        return False
    return any(p.name == "sample_weight" or p.kind is p.VAR_KEYWORD for p in params)


def _unused(y: np.ndarray, pred: np.ndarray, w: np.ndarray | None) -> float:
    raise AssertionError("CustomMetric scores with __call__")  # pragma: no cover

"""Metrics and cross-validation with out-of-fold predictions."""

from assay.evaluate._cv import (
    CrossFit,
    TrialPruned,
    TrialTimeout,
    choose_n_folds,
    cross_fit,
    make_folds,
    predict_bagged,
    predict_raw,
)
from assay.evaluate._metrics import DEFAULT_METRIC, METRICS, Metric, get_metric

__all__ = [
    "DEFAULT_METRIC",
    "METRICS",
    "CrossFit",
    "Metric",
    "TrialPruned",
    "TrialTimeout",
    "choose_n_folds",
    "cross_fit",
    "get_metric",
    "make_folds",
    "predict_bagged",
    "predict_raw",
]

"""Metrics and cross-validation with out-of-fold predictions."""

from assay.errors import TrialPruned, TrialTimeout
from assay.evaluate._custom_metric import make_metric
from assay.evaluate._cv import (
    CrossFit,
    choose_n_folds,
    cross_fit,
    make_folds,
    predict_bagged,
    predict_raw,
)
from assay.evaluate._explain import PartialDependence, partial_dependence, permutation_importance
from assay.evaluate._glm import GLMResult, fit_glm
from assay.evaluate._metrics import DEFAULT_METRIC, METRICS, Metric, get_metric
from assay.evaluate._shap import ShapResult, tree_shap
from assay.evaluate._stats import (
    Comparison,
    compare_predictions,
    corrected_ttest,
    fold_scores,
    paired_bootstrap,
)

__all__ = [
    "DEFAULT_METRIC",
    "METRICS",
    "Comparison",
    "CrossFit",
    "GLMResult",
    "Metric",
    "PartialDependence",
    "ShapResult",
    "TrialPruned",
    "TrialTimeout",
    "choose_n_folds",
    "compare_predictions",
    "corrected_ttest",
    "cross_fit",
    "fit_glm",
    "fold_scores",
    "get_metric",
    "make_folds",
    "make_metric",
    "paired_bootstrap",
    "partial_dependence",
    "permutation_importance",
    "predict_bagged",
    "predict_raw",
    "tree_shap",
]

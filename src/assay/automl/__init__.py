"""The AutoML orchestrator, the Predictor artifact and the scikit-learn wrappers."""

from assay.automl._automl import AutoML, FeatureProgress, Progress
from assay.automl._compare import compare_predictors
from assay.automl._predictor import Predictor
from assay.automl._sklearn import AutoClassifier, AutoRegressor

__all__ = [
    "AutoClassifier",
    "AutoML",
    "AutoRegressor",
    "FeatureProgress",
    "Predictor",
    "Progress",
    "compare_predictors",
]

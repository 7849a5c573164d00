"""scikit-learn estimators around AutoML, usable in cross_val_score, Pipeline and GridSearchCV."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin

from assay._fit_settings import FitOptions, setting
from assay.automl._automl import AutoML
from assay.errors import NotFittedError


def _as_frame(X) -> pd.DataFrame:
    if isinstance(X, pd.DataFrame):
        return X.reset_index(drop=True)
    if type(X).__module__.startswith("polars"):
        return X.to_pandas()
    array = np.asarray(X)
    if array.ndim == 1:
        array = array.reshape(-1, 1)
    return pd.DataFrame(array, columns=[f"x{i}" for i in range(array.shape[1])])


@dataclass(kw_only=True, repr=False, eq=False)
class _AutoEstimator(FitOptions, BaseEstimator):
    """Every option of AutoML but the task, which the class fixes. Runs are not recorded
    by default (`store=False`): cross-validation and grid searches fit many clones."""

    _task = "classification"
    store: Any = setting(False, "Where the run is recorded (default: nowhere).")

    def fit(self, X, y):
        frame = _as_frame(X)
        target = "target"
        while target in frame.columns:
            target = f"_{target}"
        frame[target] = np.asarray(y)
        task = self._task if self._task == "regression" else "classification"
        self.automl_ = AutoML(task=task, **self.get_params()).fit(frame, target=target)
        self.feature_names_in_ = np.asarray(frame.columns[:-1], dtype=object)
        self.n_features_in_ = len(self.feature_names_in_)
        return self

    def _fitted(self) -> AutoML:
        if not hasattr(self, "automl_"):
            name = type(self).__name__
            raise NotFittedError(f"This {name} is not fitted yet: call fit(X, y) first.")
        return self.automl_

    def _frame(self, X) -> pd.DataFrame:
        self._fitted()
        frame = _as_frame(X)
        if not isinstance(X, pd.DataFrame) and not type(X).__module__.startswith("polars"):
            frame.columns = self.feature_names_in_
        return frame

    def predict(self, X) -> np.ndarray:
        return self._fitted().predict(self._frame(X))

    def leaderboard(self) -> pd.DataFrame:
        return self._fitted().leaderboard()


@dataclass(kw_only=True, repr=False, eq=False)
class AutoClassifier(ClassifierMixin, _AutoEstimator):
    """Classification with AutoML behind the scikit-learn estimator API."""

    _task = "classification"

    def fit(self, X, y):
        super().fit(X, y)
        self.classes_ = self.automl_.predictor_.classes_
        return self

    def predict_proba(self, X) -> np.ndarray:
        return self._fitted().predict_proba(self._frame(X)).to_numpy()


@dataclass(kw_only=True, repr=False, eq=False)
class AutoRegressor(RegressorMixin, _AutoEstimator):
    """Regression with AutoML behind the scikit-learn estimator API."""

    _task = "regression"

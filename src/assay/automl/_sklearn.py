"""scikit-learn estimators around AutoML, usable in cross_val_score, Pipeline and GridSearchCV."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin

from assay.automl._automl import AutoML


def _as_frame(X) -> pd.DataFrame:
    if isinstance(X, pd.DataFrame):
        return X.reset_index(drop=True)
    if type(X).__module__.startswith("polars"):
        return X.to_pandas()
    array = np.asarray(X)
    if array.ndim == 1:
        array = array.reshape(-1, 1)
    return pd.DataFrame(array, columns=[f"x{i}" for i in range(array.shape[1])])


class _AutoEstimator(BaseEstimator):
    _task: str

    def __init__(
        self,
        metric: str | None = None,
        time_limit_s: float | None = None,
        random_state: int = 0,
        n_folds: int | None = None,
        models: list[str] | None = None,
        n_jobs: int | None = None,
        store: str | bool | None = False,
        n_trials: int | None = None,
        deploy: str = "bagged",
        stack: str = "auto",
    ):
        self.metric = metric
        self.time_limit_s = time_limit_s
        self.random_state = random_state
        self.n_folds = n_folds
        self.models = models
        self.n_jobs = n_jobs
        self.store = store
        self.n_trials = n_trials
        self.deploy = deploy
        self.stack = stack

    def fit(self, X, y):
        frame = _as_frame(X)
        target = "target"
        while target in frame.columns:
            target = f"_{target}"
        frame[target] = np.asarray(y)
        task = self._task if self._task == "regression" else "classification"
        self.automl_ = AutoML(
            task=task,
            metric=self.metric,
            time_limit_s=self.time_limit_s,
            random_state=self.random_state,
            n_folds=self.n_folds,
            models=self.models,
            n_jobs=self.n_jobs,
            store=self.store,
            n_trials=self.n_trials,
            deploy=self.deploy,
            stack=self.stack,
        ).fit(frame, target=target)
        self.feature_names_in_ = np.asarray(frame.columns[:-1], dtype=object)
        self.n_features_in_ = len(self.feature_names_in_)
        return self

    def _frame(self, X) -> pd.DataFrame:
        frame = _as_frame(X)
        if not isinstance(X, pd.DataFrame) and not type(X).__module__.startswith("polars"):
            frame.columns = self.feature_names_in_
        return frame

    def predict(self, X) -> np.ndarray:
        return self.automl_.predict(self._frame(X))

    def leaderboard(self) -> pd.DataFrame:
        return self.automl_.leaderboard()


class AutoClassifier(ClassifierMixin, _AutoEstimator):
    """Classification with AutoML behind the scikit-learn estimator API."""

    _task = "classification"

    def fit(self, X, y):
        super().fit(X, y)
        self.classes_ = self.automl_.predictor_.classes_
        return self

    def predict_proba(self, X) -> np.ndarray:
        return self.automl_.predict_proba(self._frame(X)).to_numpy()


class AutoRegressor(RegressorMixin, _AutoEstimator):
    """Regression with AutoML behind the scikit-learn estimator API."""

    _task = "regression"

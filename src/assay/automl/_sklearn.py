"""scikit-learn estimators around AutoML, usable in cross_val_score, Pipeline and GridSearchCV.

They follow scikit-learn's conventions where a fit on a DataFrame does not need otherwise:
arrays are checked as `check_array` checks them (2-D, not sparse, not complex, not empty;
missing and infinite values are allowed, the pipelines handle them), `n_features_in_` is
set by every fit and `feature_names_in_` only by a fit on a DataFrame whose column names
are all strings. Such a DataFrame is then read by name at predict time (as `AutoML` reads
it: extra columns are ignored, a missing one is named); anything else is read by position
and must have `n_features_in_` columns. tests/automl/test_sklearn_checks.py runs
scikit-learn's own estimator checks over both wrappers."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.exceptions import DataConversionWarning
from sklearn.utils import Tags
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import check_array

from assay._fit_settings import FitOptions, setting
from assay.automl._automl import MIN_FIT_ROWS, AutoML
from assay.errors import DataError, TargetError, UnfittedEstimatorError


def _is_frame(X: Any) -> bool:
    return isinstance(X, pd.DataFrame) or type(X).__module__.startswith("polars")


def _feature_names(columns: Any) -> np.ndarray | None:
    """The column names as scikit-learn keeps them: only when every one is a string."""
    names = list(columns)
    if names and all(isinstance(name, str) for name in names):
        return np.asarray(names, dtype=object)
    return None


@dataclass(kw_only=True, repr=False, eq=False)
class _AutoEstimator(FitOptions, BaseEstimator):
    """Every option of AutoML but the task, which the class fixes. Runs are not recorded
    by default (`store=False`): cross-validation and grid searches fit many clones.
    `warm_start=False` (scikit-learn's "no warm start") is taken as None.

    scikit-learn's estimator checks (tests/automl/test_sklearn_checks.py) pass for a fit
    with `n_trials` and no time limit, which is reproducible: its tags say
    `non_deterministic=False`. One is expected to fail (EXPECTED_FAILED_CHECKS there,
    strict: a check listed that passes fails the run): a weight of 2 is not two copies of
    a row, since copies fall in different folds of the bagging. What does not run, and
    why: the check that NaN and inf are
    refused (they are allowed: `allow_nan`, infinite values become missing); the array-API
    checks (they need SCIPY_ARRAY_API=1 set before scipy is imported). Under a time limit
    (the default) what fits depends on the machine's speed, so the tags say
    `non_deterministic=True` and two fits may differ (check_fit_idempotent cannot hold)."""

    _task = "classification"
    store: Any = setting(False, "Where the run is recorded (default: nowhere).")

    def __sklearn_tags__(self) -> Tags:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True  # missing values are a part of the pipelines
        tags.input_tags.string = True  # text and category columns are features too
        tags.target_tags.required = True
        tags.target_tags.single_output = True
        tags.target_tags.multi_output = False
        tags.non_deterministic = self.time_limit_s is not None or self.n_trials is None
        return tags

    def fit(self, X, y, sample_weight=None):
        """Search and ensemble models on `X` (an array or a DataFrame) to predict `y`,
        each row counting as its `sample_weight` says (None: alike)."""
        frame, names = self._features(X, fitting=True)
        target = "y"
        while target in frame.columns:
            target = f"_{target}"
        columns = list(frame.columns)
        frame[target] = self._target(y, len(frame))
        params = self.get_params(deep=False)
        if params["warm_start"] is False:  # scikit-learn's "no warm start", as None here
            params["warm_start"] = None
        weights = None if sample_weight is None else np.asarray(sample_weight, dtype=float)
        automl = AutoML(task=self._task, **params).fit(frame, target=target, sample_weight=weights)
        self.automl_ = automl
        self.n_features_in_ = len(columns)
        self._columns = columns
        if names is None:
            self.__dict__.pop("feature_names_in_", None)
        else:
            self.feature_names_in_ = names
        return self

    def _features(self, X, *, fitting: bool) -> tuple[pd.DataFrame, np.ndarray | None]:
        """X as the frame AutoML reads, and its feature names (see the module docstring)."""
        name = type(self).__name__
        if X is None:
            raise DataError(f"X is None: give {name} a 2-D array or a DataFrame of features.")
        if sparse.issparse(X):
            raise DataError(
                f"X is a sparse matrix, which {name} does not take: pass X.toarray() or a "
                "DataFrame."
            )
        if _is_frame(X):
            frame = X.reset_index(drop=True) if isinstance(X, pd.DataFrame) else X.to_pandas()
            for axis, what in ((1, "feature"), (0, "sample")):
                if frame.shape[axis] == 0:
                    raise DataError(
                        f"X has 0 {what}(s) (shape={frame.shape}) while a minimum of 1 is "
                        f"required by {name}: give it rows with feature columns."
                    )
            names = _feature_names(frame.columns)
            columns = [str(c) for c in frame.columns]
        else:
            # numbers or strings, NaN and inf allowed; 2-D, dense, real, not empty
            array = check_array(
                X, dtype=None, ensure_all_finite=False, input_name="X", estimator=self
            )
            frame, names = pd.DataFrame(array), None
            columns = [f"x{i}" for i in range(array.shape[1])]
        if fitting:
            frame.columns = columns
            return frame, names
        return self._as_fitted(frame, names), names

    def _as_fitted(self, frame: pd.DataFrame, names: np.ndarray | None) -> pd.DataFrame:
        """The rows to predict with the fit's column names: by name when both the fit and
        these rows have string column names, else by position."""
        name = type(self).__name__
        fitted_names = getattr(self, "feature_names_in_", None)
        if names is not None and fitted_names is not None:
            return frame  # the predictor checks the columns by name and names any missing
        n_features = frame.shape[1]
        if n_features != self.n_features_in_:
            raise DataError(
                f"X has {n_features} features, but {name} is expecting {self.n_features_in_} "
                "features as input: give the columns it was fitted on, in the same order."
            )
        if fitted_names is not None:
            warnings.warn(
                f"X does not have valid feature names, but {name} was fitted with feature "
                "names; its columns are read in the order of the fit.",
                UserWarning,
                stacklevel=4,
            )
        elif names is not None:
            warnings.warn(
                f"X has feature names, but {name} was fitted without feature names; its "
                "columns are read by position.",
                UserWarning,
                stacklevel=4,
            )
        frame.columns = self._columns
        return frame

    def _target(self, y, n_rows: int) -> np.ndarray:
        """`y` as a 1-D array of `n_rows` values; a ValueError naming y when it is not."""
        name = type(self).__name__
        if y is None:
            raise TargetError(
                f"{name} requires y to be passed, but the target y is None: call fit(X, y) "
                "with one target value per row of X."
            )
        values = y.to_numpy() if isinstance(y, pd.Series) else np.asarray(y)
        if values.ndim == 2 and values.shape[1] == 1:
            warnings.warn(
                "A column-vector y was passed when a 1d array was expected. Please change "
                "the shape of y to (n_samples,), for example using ravel().",
                DataConversionWarning,
                stacklevel=3,
            )
            values = values.ravel()
        if values.ndim != 1:
            raise TargetError(
                f"y should be a 1d array, got an array of shape {values.shape} instead: "
                f"{name} predicts one target, so give one value per row of X."
            )
        if len(values) != n_rows:
            raise TargetError(
                f"X has {n_rows} rows but y has {len(values)} values: give one target value "
                "per row of X."
            )
        if n_rows < MIN_FIT_ROWS:
            raise DataError(
                f"X has {n_rows} sample(s); {name} needs at least {MIN_FIT_ROWS} to "
                "cross-validate models. Add rows."
            )
        return values

    def _fitted(self) -> AutoML:
        if not hasattr(self, "automl_"):
            name = type(self).__name__
            raise UnfittedEstimatorError(f"This {name} is not fitted yet: call fit(X, y) first.")
        return self.automl_

    def _frame(self, X) -> pd.DataFrame:
        self._fitted()
        return self._features(X, fitting=False)[0]

    def predict(self, X) -> np.ndarray:
        """The predicted class or value of each row of `X`."""
        return self._fitted().predict(self._frame(X))

    def leaderboard(self) -> pd.DataFrame:
        return self._fitted().leaderboard()


@dataclass(kw_only=True, repr=False, eq=False)
class AutoClassifier(ClassifierMixin, _AutoEstimator):
    """Classification with AutoML behind the scikit-learn estimator API. `y` holds class
    labels (numbers or strings); continuous values are refused ("Unknown label type:
    continuous"), as scikit-learn's classifiers refuse them. With `n_trials` and no time
    limit it passes scikit-learn's estimator checks (see `_AutoEstimator`)."""

    _task = "classification"

    def fit(self, X, y, sample_weight=None):
        super().fit(X, y, sample_weight=sample_weight)
        self.classes_ = self.automl_.predictor_.classes_
        return self

    def _target(self, y, n_rows: int) -> np.ndarray:
        values = super()._target(y, n_rows)
        known = values[~pd.isna(values)]
        with np.errstate(invalid="ignore"):  # inf: type_of_target raises, naming y
            kind = type_of_target(known, input_name="y") if len(known) else "unknown"
        if kind.startswith("continuous"):
            raise TargetError(
                f"Unknown label type: continuous. y holds continuous values, which "
                f"{type(self).__name__} cannot take as classes: use AutoRegressor for a "
                "numeric target, or give class labels."
            )
        return values

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities of each row of `X`, one column per class of `classes_`."""
        return self._fitted().predict_proba(self._frame(X)).to_numpy()


@dataclass(kw_only=True, repr=False, eq=False)
class AutoRegressor(RegressorMixin, _AutoEstimator):
    """Regression with AutoML behind the scikit-learn estimator API. With `n_trials` and no
    time limit it passes scikit-learn's estimator checks (see `_AutoEstimator`)."""

    _task = "regression"

"""The Model interface every family implements.

The base class owns everything that must behave the same across families (label encoding,
missing classes, timing, input checks, row weights' checks and scale, params.json), so a
family only writes `_fit` (which honours the row weights it is given), `_predict_raw` and
its native save/load.
"""

from __future__ import annotations

import json
import math
import time
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

from assay._cpus import blas_threads
from assay._json import to_jsonable
from assay._trust import Trust
from assay._types import Encoding, FeatureType, Task
from assay.errors import ArtifactError, ConfigError, SchemaMismatchError
from assay.log import get_logger
from assay.search._space import Distribution

logger = get_logger(__name__)

PARAMS_FILE = "params.json"
_FORMAT_VERSION = 1


def _is_classifier(model: Model) -> bool:
    return Task(model.task).is_classification


def _take(X: Any, mask: np.ndarray) -> Any:
    return X.iloc[mask] if isinstance(X, pd.DataFrame) else X[mask]


ROWS_PER_PREDICT_THREAD = 1_000


def predict_threads(n_threads: int, n_rows: int) -> int:
    """Threads to predict `n_rows` with: one per 1,000 rows, up to `n_threads`. For a few
    rows, starting and joining a thread team costs more than it saves, and on a loaded
    machine a thread that is not scheduled holds the others up (single-row p99 of a
    two-thread LightGBM predict: 44 ms against 12 ms on one thread, at load 8 on 2 cores).
    Each row is predicted by one thread, so the values do not depend on the count."""
    return max(1, min(n_threads, n_rows // ROWS_PER_PREDICT_THREAD))


def n_rows_of(data: Any) -> int:
    """Rows of prepared data: an array or frame, or a library's own matrix (`num_row`)."""
    shape = getattr(data, "shape", None)
    return int(shape[0]) if shape is not None else int(data.num_row())


def category_codes(X: pd.DataFrame) -> np.ndarray:
    """A NATIVE frame as one float64 matrix, categories as their codes and missing or
    unknown values as NaN: what LightGBM and XGBoost make of such a frame themselves
    (codes in the order of the frame's categories, which are the ones the fit saw)."""
    is_category = [isinstance(dt, pd.CategoricalDtype) for dt in X.dtypes]
    numeric = [i for i, cat in enumerate(is_category) if not cat]
    if len(numeric) == X.shape[1]:
        return X.to_numpy(dtype=np.float64, na_value=np.nan, copy=True)
    out = np.empty(X.shape, dtype=np.float64)
    if numeric:
        out[:, numeric] = X.iloc[:, numeric].to_numpy(dtype=np.float64, na_value=np.nan)
    for i in np.flatnonzero(is_category):
        codes = X.iloc[:, i].array.codes
        out[:, i] = np.where(codes < 0, np.nan, codes)
    return out


class Model(ABC, BaseEstimator):
    """A tabular model of one family: a scikit-learn estimator with a declared search space,
    a fit that stops at a time limit, and native save/load.

    A family sets `name`, `encoding` (what its TabularEncoder gives it: a DataFrame with
    native categories, or an ordinal or one-hot matrix) and `tasks`; its constructor takes
    `task` and the hyperparameters and only stores them; it implements `_fit`,
    `_predict_raw`, `_save_native`, `_load_native`, `search_space`, `default_configs` and
    `cost`. What must behave the same in every family (label encoding, one-class folds,
    timing, input checks, row weights of 0 left out and the others scaled, params.json) is
    here. Every registered family passes
    `assay.testing.check_model`."""

    name: ClassVar[str] = ""
    encoding: ClassVar[Encoding]
    tasks: ClassVar[frozenset[Task]] = frozenset(Task)
    early_stopping: ClassVar[bool] = False  # stops on X_val rows when given them
    kind: ClassVar[FeatureType | None] = None  # the media column a network needs; None: tabular
    # a fit its time limit cuts short is still worth having (a booster with fewer rounds);
    # False: a trial estimated beyond the time a config may take is skipped, not started,
    # and until one has run the estimate is never below its own `cost()`
    useful_when_cut: ClassVar[bool] = True
    # too costly to fit once per fold (fine-tuning an encoder on a CPU): a trial fits one
    # model, on the first fold's training rows, and its out-of-fold predictions cover that
    # fold's rows only; the ensemble blends it in on them (see automl._assemble)
    one_fold: ClassVar[bool] = False
    # a row of weight 2 fits exactly as two copies of it (check_model holds such families
    # to it; the others, with their own randomness or statistics of the rows, only nearly)
    weights_as_copies: ClassVar[bool] = False
    artifact_file: ClassVar[str] = ""  # the file save() writes the fitted model to
    legacy_artifact_files: ClassVar[tuple[str, ...]] = ()  # older names load() still reads
    # BLAS threads inside fit and predict (see assay._cpus.blas_threads); None: as set
    blas_thread_limit: ClassVar[int | None] = None
    # may fit a level-2 stack, on the features plus the level-1 models' predictions
    stacker: ClassVar[bool] = True
    # fitting only keeps the rows (kNN): one model on all rows replaces a member's fold
    # models for the cost of encoding the rows, and predicts once instead of once a fold
    fit_keeps_rows: ClassVar[bool] = False
    _trust: Trust = Trust(False)  # what `_load_native` may run; `load` sets it per instance
    model_: Any  # the fitted library object; None when there was nothing to learn

    # -- family hooks -------------------------------------------------------------------
    @abstractmethod
    def _fit(
        self,
        X: Any,
        y: np.ndarray,
        X_val: Any,
        y_val: Any,
        deadline: float | None,
        w: np.ndarray | None,
        w_val: np.ndarray | None,
    ) -> None:
        """Train on encoded labels (0..K-1) or float targets; set `model_`. `w` and `w_val`
        are None (every row alike) or the rows' weights, each positive (`fit` leaves out
        rows of weight 0) and scaled so that the median row weighs 1: a row of weight 2
        should count as two rows, in the loss and in early stopping."""

    @abstractmethod
    def _predict_raw(self, X: Any) -> np.ndarray:
        """(n, K) probabilities for classification, (n,) values for regression."""

    @abstractmethod
    def _save_native(self, path: Path) -> None:
        """Write the fitted model to `path` in the library's own format."""

    @abstractmethod
    def _load_native(self, path: Path) -> Any:
        """Read what `_save_native` wrote; returns the value for `model_`. Anything that
        could run code from the file goes through `self._trust.require(...)` first."""

    @classmethod
    @abstractmethod
    def search_space(cls, n_rows: int, n_features: int, task: Task) -> dict[str, Distribution]:
        """The hyperparameters the search tunes, for data of this size and task.

        Returns a dict from constructor argument to distribution (Int, Float or Choice);
        each distribution's default is the cheap, safe starting point for such data."""

    @classmethod
    @abstractmethod
    def default_configs(cls, task: Task) -> list[dict[str, Any]]:
        """Ordered portfolio entries: the best single default first, then diverse ones."""

    @classmethod
    @abstractmethod
    def cost(cls, n_rows: int, n_features: int, config: dict[str, Any]) -> float:
        """Rough seconds for one fit on 2 cores; the budget rescales it by observed times."""

    @classmethod
    def classes_cost(cls, n_classes: int) -> float:
        """How many times `cost()` a fit on `n_classes` classes (0 for regression) takes:
        1 unless the family's work grows with the classes."""
        return 1.0

    @classmethod
    def cost_kind(cls, config: dict[str, Any]) -> str:
        """Configs of one family whose time departs from `cost()` differently on the same
        data (LightGBM's extra trees) name a kind; the budget calibrates each kind on its
        own trials. "" for the rest."""
        return ""

    @classmethod
    def memory_mb(cls, n_rows: int, n_features: int, n_classes: int, config: dict) -> float:
        """Rough MB one fitted model holds (a bagged trial keeps one per fold); families
        whose size grows with the data override it."""
        return 1.0

    # -- public API ---------------------------------------------------------------------
    def fit(
        self,
        X: Any,
        y: Any,
        *,
        X_val: Any = None,
        y_val: Any = None,
        time_limit_s: float | None = None,
        sample_weight: Any = None,
        val_weight: Any = None,
    ) -> Model:
        """Train on X (as `encoding` says: a DataFrame or a float matrix) and the targets y.

        Args:
            y: class labels of any type for classification (`classes_` keeps them sorted),
                numbers for regression.
            X_val, y_val: rows to stop early on, used by families with `early_stopping`;
                validation rows of a class missing from y are dropped.
            time_limit_s: seconds the fit may take; boosters stop adding rounds and forests
                trees when it is reached. None or infinite: no limit.
            sample_weight: None (every row alike) or one finite weight >= 0 per row of X,
                not all 0. Weights are relative (the fit scales them so that the median
                row weighs 1, so multiplying them all changes nothing); a row of weight 2
                counts about as two copies of it; a row of weight 0 is left out, as if it
                were not there (and its class with it, when no other row has that class).
            val_weight: the same for the rows of X_val (the validation loss is weighted),
                except that all 0 means no validation rows; ignored without X_val and
                y_val.

        Returns self, fitted (a refit forgets the previous fit). Raises ConfigError for a
        task the family does not support, X of the wrong kind, or weights that are not
        one finite number >= 0 per row."""
        start = time.perf_counter()
        task = Task(self.task)
        if task not in self.tasks:
            raise ConfigError(f"model {self.name!r} does not support task {task.value!r}")
        for key in [k for k in vars(self) if k.endswith("_") and not k.startswith("_")]:
            delattr(self, key)  # a refit must not keep anything from the previous fit
        X = self._check_X(X, fitting=True)
        y = self._check_y(y, X, "y", "X")
        w = self._check_weight(sample_weight, X.shape[0], "sample_weight", "X")
        X, y, w = _without_zero_weight(X, y, w)
        w_val = None
        if X_val is not None and y_val is not None:
            X_val = self._check_X(X_val)
            y_val = self._check_y(y_val, X_val, "y_val", "X_val")
            # all 0 is no error here: no rows to stop on, as when none are given
            w_val = self._check_weight(
                val_weight, X_val.shape[0], "val_weight", "X_val", all_zero=True
            )
            X_val, y_val, w_val = _without_zero_weight(X_val, y_val, w_val)
        else:
            X_val = y_val = None
        if task.is_classification:
            self.classes_ = np.unique(y)
            y = np.searchsorted(self.classes_, y)
            if y_val is not None:
                # A validation row of a class the fold never saw cannot be scored: drop it.
                known = np.isin(y_val, self.classes_)
                X_val, y_val = _take(X_val, known), np.searchsorted(self.classes_, y_val[known])
                w_val = None if w_val is None else w_val[known]
        if y_val is not None and len(y_val) == 0:
            X_val = y_val = w_val = None
        w, w_val = _relative(w), _relative(w_val)
        # no limit (None or infinite, as in a fit by trial count) means no deadline
        deadline = None
        if time_limit_s is not None and math.isfinite(time_limit_s):
            deadline = start + float(time_limit_s)
        if task.is_classification and len(self.classes_) == 1:
            self.model_ = None  # nothing to learn: predict_proba is a column of ones
        else:
            with blas_threads(self.blas_thread_limit):
                self._fit(X, y, X_val, y_val, deadline, w, w_val)
        self.fit_time_s_ = time.perf_counter() - start
        logger.debug("fitted %s in %.3fs", self.name, self.fit_time_s_)
        return self

    def predict(self, X: Any) -> np.ndarray:
        """The most probable class of each row (one of `classes_`), or the predicted value.

        Returns a 1-D array in the order of X's rows. Raises scikit-learn's NotFittedError
        before fit and SchemaMismatchError when X's columns differ from those at fit."""
        if _is_classifier(self):
            return self.classes_[np.argmax(self.predict_proba(X), axis=1)]
        check_is_fitted(self, "fit_time_s_")
        X = self._check_X(X)
        with blas_threads(self.blas_thread_limit):
            return np.asarray(self._predict_raw(X), dtype=np.float64)

    @available_if(_is_classifier)
    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities of each row; only classifiers have this method.

        Returns an (n_rows, n_classes) array, columns in the order of `classes_` (one column
        of ones when the fit saw a single class). Raises scikit-learn's NotFittedError
        before fit and SchemaMismatchError when X's columns differ from those at fit."""
        check_is_fitted(self, "fit_time_s_")
        X = self._check_X(X)
        if self.model_ is None:
            return np.ones((X.shape[0], 1))
        with blas_threads(self.blas_thread_limit):
            return np.asarray(self._predict_raw(X), dtype=np.float64)

    def prepare(self, X: Any) -> Any:
        """X (as `encoding` says) checked and converted to what this family predicts from,
        for `predict_prepared`. The result depends only on X and on the columns the fit
        saw, never on what the fit learned from them, so the fold models of one bagged
        config (same encoder output) share it: the conversion runs once per prediction,
        not once per fold. Families whose library converts its input expensively on every
        call override `_prepare`."""
        return self._prepare(self._check_X(X))

    def predict_prepared(self, data: Any) -> np.ndarray:
        """`predict_proba` (classification) or `predict` (regression) of the rows that
        `prepare` converted: the same values, without converting them again."""
        check_is_fitted(self, "fit_time_s_")
        if _is_classifier(self) and self.model_ is None:
            return np.ones((n_rows_of(data), 1))
        with blas_threads(self.blas_thread_limit):
            return np.asarray(self._predict_prepared(data), dtype=np.float64)

    def _prepare(self, X: Any) -> Any:
        return X

    @classmethod
    def scores_out_of_bag(cls, config: dict) -> bool:
        """Whether a fit of `config` on all rows predicts each row without it
        (`out_of_bag_raw`), so that a trial may fit it once instead of once per fold
        (see evaluate.cross_fit)."""
        return False

    def out_of_bag_raw(self, X: Any) -> np.ndarray | None:
        """For a family that `scores_out_of_bag`: each row of the fit's X predicted without
        it (as the raw prediction: probabilities or values), or None when this fit cannot."""
        return None

    def _predict_prepared(self, data: Any) -> np.ndarray:
        return self._predict_raw(data)

    # -- persistence --------------------------------------------------------------------
    def save(self, directory: Path) -> None:
        """Write params.json plus the model in its native format into an empty directory."""
        check_is_fitted(self, "fit_time_s_")
        directory = Path(directory)
        if not directory.is_dir() or any(directory.iterdir()):
            raise ConfigError(f"save needs an existing empty directory, got {directory}")
        meta = {
            "format": _FORMAT_VERSION,
            "name": self.name,
            "class": type(self).__name__,
            "params": to_jsonable(self.get_params()),
            "fitted": self._fitted_state(),
        }
        (directory / PARAMS_FILE).write_text(json.dumps(meta, indent=2))
        if self.model_ is not None:
            self._save_native(directory / self.artifact_file)

    @classmethod
    def load(cls, directory: Path, trust: bool | Trust = False) -> Model:
        """Read a saved model. Without `trust`, a file that would run code when loaded
        (see `assay._trust`) is refused with an ArtifactError."""
        directory = Path(directory)
        meta = read_params(directory)
        if meta["name"] != cls.name:
            raise ArtifactError(f"{directory} holds a {meta['name']!r} model, not {cls.name!r}")
        try:
            model = cls(**meta["params"])
            fitted = dict(meta["fitted"])
            has_model = fitted.pop("has_model")
            classes, dtype = fitted.pop("classes_", None), fitted.pop("classes_dtype", None)
            names = fitted.pop("feature_names_in_", None)
            if not all(key.endswith("_") for key in fitted):
                raise TypeError(f"unexpected fitted entries {sorted(fitted)}")
        except (KeyError, TypeError) as exc:
            raise ArtifactError(f"{directory} has an unusable params.json: {exc}") from exc
        for key, value in fitted.items():
            setattr(model, key, value)
        if classes is not None:
            model.classes_ = np.asarray(classes, dtype=dtype)
        if names is not None:
            model.feature_names_in_ = np.asarray(names, dtype=object)
        model.model_ = None
        if has_model:
            path = directory / cls.artifact_file
            older = [directory / name for name in cls.legacy_artifact_files]
            path = next((p for p in older if p.is_file() and not path.is_file()), path)
            if not path.is_file():
                raise ArtifactError(f"{path} is missing: the saved model is incomplete")
            with Trust.scope(trust, directory) as scoped:
                model._trust = scoped
                try:
                    model.model_ = model._load_native(path)
                finally:
                    del model._trust  # back to the class's default: trust nothing
        return model

    def _fitted_state(self) -> dict[str, Any]:
        """Fitted attributes (besides model_) that predict needs, as JSON-safe values."""
        state: dict[str, Any] = {
            "fit_time_s_": self.fit_time_s_,
            "n_features_in_": int(self.n_features_in_),
            "has_model": self.model_ is not None,
        }
        if hasattr(self, "feature_names_in_"):
            state["feature_names_in_"] = [str(c) for c in self.feature_names_in_]
        if hasattr(self, "classes_"):
            state["classes_"] = self.classes_.tolist()
            state["classes_dtype"] = str(self.classes_.dtype)
        if hasattr(self, "n_iterations_"):
            state["n_iterations_"] = int(self.n_iterations_)
        return state

    # -- input checks -------------------------------------------------------------------
    def _check_y(self, y: Any, X: Any, argument: str, rows: str) -> np.ndarray:
        """Labels as they are (classification) or float targets, one per row of X."""
        classification = Task(self.task).is_classification
        y = np.asarray(y) if classification else np.asarray(y, dtype=np.float64)
        if len(y) != X.shape[0]:
            raise ConfigError(
                f"model {self.name!r}: {argument} has {len(y)} values, {rows} has {X.shape[0]} "
                f"rows: give one target per row of {rows}"
            )
        return y

    def _check_weight(
        self, weight: Any, n_rows: int, argument: str, rows: str, all_zero: bool = False
    ) -> np.ndarray | None:
        """`weight` as float64: None, or one finite weight >= 0 per row, not all 0 (unless
        `all_zero`)."""
        if weight is None:
            return None
        where = f"model {self.name!r}: {argument}"
        try:
            w = np.asarray(weight, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ConfigError(
                f"{where} is not numbers ({exc}): give one number >= 0 per row of {rows}"
            ) from exc
        if w.shape != (n_rows,):
            raise ConfigError(
                f"{where} has shape {w.shape}, {rows} has {n_rows} rows: give one weight per "
                f"row of {rows}, in the same order"
            )
        bad = np.flatnonzero(~np.isfinite(w))
        if len(bad):
            raise ConfigError(
                f"{where} holds {len(bad)} NaN or infinite value(s), the first at row "
                f"{bad[0]}: give every row a finite weight (0 leaves a row out)"
            )
        bad = np.flatnonzero(w < 0)
        if len(bad):
            raise ConfigError(
                f"{where} holds {len(bad)} negative value(s), the first {w[bad[0]]:g} at row "
                f"{bad[0]}: weights must be >= 0 (0 leaves a row out)"
            )
        if not all_zero and not (w > 0).any():
            raise ConfigError(
                f"{where} is 0 for every row, which leaves nothing to learn from: give some "
                "rows a positive weight"
            )
        return w

    def _check_X(self, X: Any, *, fitting: bool = False) -> Any:
        """NATIVE and RAW models take a DataFrame, the others a float64 matrix; shapes
        must match fit."""
        if self.encoding in (Encoding.NATIVE, Encoding.RAW):
            if not isinstance(X, pd.DataFrame):
                raise ConfigError(
                    f"model {self.name!r} needs a DataFrame (Encoding.{self.encoding.name})"
                )
            names = np.asarray([str(c) for c in X.columns], dtype=object)
            if fitting:
                self.feature_names_in_ = names
            elif not np.array_equal(names, self.feature_names_in_):
                raise SchemaMismatchError(
                    f"model {self.name!r} was fitted on columns {list(self.feature_names_in_)},"
                    f" got {list(names)}: encode the data with the same fitted pipeline"
                )
        else:
            X = np.asarray(X, dtype=np.float64)
            if X.ndim != 2:
                raise ConfigError(f"model {self.name!r} needs a 2-d matrix, got {X.ndim}-d")
        if fitting:
            self.n_features_in_ = X.shape[1]
        elif X.shape[1] != self.n_features_in_:
            raise SchemaMismatchError(
                f"model {self.name!r} was fitted on {self.n_features_in_} features,"
                f" got {X.shape[1]}: encode the data with the same fitted pipeline"
            )
        return X


def _without_zero_weight(X: Any, y: np.ndarray, w: np.ndarray | None) -> tuple[Any, Any, Any]:
    """The rows of positive weight: a row of weight 0 has no influence on any family (not
    on LightGBM's bins or minimum rows per leaf, a forest's bootstrap or a network's input
    scaling either)."""
    if w is None or (w > 0).all():
        return X, y, w
    keep = w > 0
    return _take(X, keep), y[keep], w[keep]


def _relative(w: np.ndarray | None) -> np.ndarray | None:
    """Positive weights scaled so that the median row weighs 1 (what regularisation and
    minimum leaf weights are tuned for, whatever the scale given); None when they are all
    alike. The median, not the mean: weights 2 on a minority of rows stay 2, exact copies
    of those rows for the families that are exact about it."""
    if w is None:
        return None
    w = w / np.median(w)
    return None if (w == 1.0).all() else w


def read_params(directory: Path) -> dict[str, Any]:
    path = Path(directory) / PARAMS_FILE
    try:
        meta = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ArtifactError(f"cannot read {path}: {exc}; save the model again") from exc
    if meta.get("format") != _FORMAT_VERSION:
        raise ArtifactError(f"{path} has format {meta.get('format')!r}, expected {_FORMAT_VERSION}")
    return meta

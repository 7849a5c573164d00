"""CatBoost: oblivious trees and ordered target statistics for categorical columns."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from assay._types import Encoding, Task
from assay.log import get_logger
from assay.models._base import Model, n_rows_of, predict_threads
from assay.models._boosting import (
    Stopper,
    depth_for,
    expected_rounds,
    learning_rate_for,
    n_rounds,
    n_threads,
    patience,
    per_class_cost,
)
from assay.search._space import Distribution, Float, Int

logger = get_logger(__name__)

MISSING_CATEGORY = "nan"
_MAX_OBJECT_CELLS = 1_000_000  # rows x columns prepared through an object array


def to_catboost_frame(X: pd.DataFrame, cat_columns: list[int]) -> pd.DataFrame:
    """Categorical columns as Python strings, missing as "nan": CatBoost takes no NaN there.

    Fit and predict both go through here, so a category always maps to the same string.
    """
    X = X.set_axis([f"f{i}" for i in range(X.shape[1])], axis=1)
    columns = {}
    for i in cat_columns:
        col = X.iloc[:, i]
        # Code -1 (missing) picks the last entry: MISSING_CATEGORY.
        names = np.array([*map(str, col.cat.categories), MISSING_CATEGORY], dtype=object)
        values = names[col.cat.codes.to_numpy()]
        columns[X.columns[i]] = pd.Series(values, index=X.index, dtype=object)
    return X.assign(**columns) if columns else X


class CatBoostModel(Model):
    """Slower than the other boosters but often the best on categorical-heavy data."""

    name = "catboost"
    early_stopping = True  # cross_fit holds out rows of the training part to stop on
    encoding = Encoding.NATIVE
    artifact_file = "model.cbm"

    def __init__(
        self,
        *,
        task: Task | str = Task.BINARY,
        learning_rate: float = 0.05,
        depth: int = 6,
        l2_leaf_reg: float = 3.0,
        random_strength: float = 1.0,
        one_hot_max_size: int = 2,
        n_estimators: int | None = None,
        n_jobs: int = 1,
        random_state: int = 0,
    ) -> None:
        self.task = task
        self.learning_rate = learning_rate
        self.depth = depth
        self.l2_leaf_reg = l2_leaf_reg
        self.random_strength = random_strength
        self.one_hot_max_size = one_hot_max_size
        self.n_estimators = n_estimators
        self.n_jobs = n_jobs
        self.random_state = random_state

    def _estimator(self, iterations: int, n_rows: int) -> Any:
        import catboost

        params = {
            "iterations": iterations,
            "learning_rate": learning_rate_for(self.learning_rate, n_rows),
            "depth": depth_for(self.depth, n_rows),
            "l2_leaf_reg": self.l2_leaf_reg,
            "random_strength": self.random_strength,
            "one_hot_max_size": self.one_hot_max_size,
            "thread_count": n_threads(self.n_jobs),
            "random_seed": self.random_state,
            "use_best_model": False,  # the shared Stopper picks the best round
            "allow_writing_files": False,
            "verbose": False,
        }
        if not Task(self.task).is_classification:
            return catboost.CatBoostRegressor(loss_function="RMSE", **params)
        loss = "Logloss" if len(self.classes_) == 2 else "MultiClass"
        return catboost.CatBoostClassifier(loss_function=loss, **params)

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
        import catboost

        self.cat_columns_ = [
            i for i, dt in enumerate(X.dtypes) if isinstance(dt, pd.CategoricalDtype)
        ]
        rate = learning_rate_for(self.learning_rate, len(y))
        estimator = self._estimator(
            n_rounds(self.n_estimators, rate, X_val is not None, len(y)), len(y)
        )
        stopper = Stopper(patience(rate), deadline)
        metric = estimator.get_param("loss_function")

        class Monitor:
            def after_iteration(self, info: Any) -> bool:  # CatBoost: True = keep going
                history = info.metrics.get("validation", {}).get(metric)
                loss = None if not history else float(history[-1])
                return not stopper.update(info.iteration - 1, loss)

        def pool(frame: pd.DataFrame, label: np.ndarray, weight: np.ndarray | None) -> Any:
            # weights scale each row's part of the loss (and of the validation loss)
            data = to_catboost_frame(frame, self.cat_columns_)
            return catboost.Pool(data, label, cat_features=self.cat_columns_, weight=weight)

        eval_set = None if X_val is None else pool(X_val, y_val, w_val)
        estimator.fit(pool(X, y, w), eval_set=eval_set, callbacks=[Monitor()])
        self.n_iterations_ = min(stopper.n_keep, estimator.tree_count_)
        if stopper.timed_out:
            logger.info("catboost hit its time limit after %d rounds", stopper.n_done)
        if self.n_iterations_ < estimator.tree_count_:
            estimator.shrink(ntree_end=self.n_iterations_)
        self.model_ = estimator

    def _predict_raw(self, X: Any) -> np.ndarray:
        return self._predict_prepared(to_catboost_frame(X, self.cat_columns_))

    def _prepare(self, X: Any) -> Any:
        """CatBoost's own pool, built once for every fold model that predicts from it (the
        categorical columns are those of the frame, the same for every fold's fit). Small
        inputs go through one object array (a single row: about 1 ms against 13 ms through
        the frame, at load 8 on 2 cores), large ones through the frame, which holds the
        numbers unboxed; both give CatBoost the same values."""
        from catboost import Pool

        cat_columns = [i for i, dt in enumerate(X.dtypes) if isinstance(dt, pd.CategoricalDtype)]
        threads = predict_threads(n_threads(self.n_jobs), X.shape[0])
        if X.size > _MAX_OBJECT_CELLS:
            frame = to_catboost_frame(X, cat_columns)
            return Pool(frame, cat_features=cat_columns, thread_count=threads)
        data = np.empty(X.shape, dtype=object)
        for i, (_, column) in enumerate(X.items()):
            if i in cat_columns:  # as to_catboost_frame writes them
                names = [*map(str, column.cat.categories), MISSING_CATEGORY]
                data[:, i] = np.array(names, dtype=object)[column.array.codes]
            else:
                data[:, i] = column.to_numpy(dtype=np.float64, na_value=np.nan)
        return Pool(data, cat_features=cat_columns, thread_count=threads)

    def _predict_prepared(self, data: Any) -> np.ndarray:
        # CatBoost would otherwise predict on every core
        threads = predict_threads(n_threads(self.n_jobs), n_rows_of(data))
        if Task(self.task).is_classification:
            return self.model_.predict_proba(data, thread_count=threads)
        return self.model_.predict(data, thread_count=threads)

    def native_input(self, X: Any) -> Any:
        """What the booster itself predicts from (for the shap package's TreeExplainer)."""
        from catboost import Pool

        return Pool(to_catboost_frame(X, self.cat_columns_), cat_features=self.cat_columns_)

    def contributions(self, X: Any) -> np.ndarray:
        """SHAP values on the margin scale, (n, outputs, features + 1); CatBoost's own."""
        from catboost import Pool

        data = to_catboost_frame(X, self.cat_columns_)
        pool = Pool(data, cat_features=self.cat_columns_)
        values = self.model_.get_feature_importance(
            pool, type="ShapValues", thread_count=n_threads(self.n_jobs)
        )
        return values.reshape(values.shape[0], -1, X.shape[1] + 1)

    def _fitted_state(self) -> dict[str, Any]:
        return {**super()._fitted_state(), "cat_columns_": list(getattr(self, "cat_columns_", []))}

    def _save_native(self, path: Path) -> None:
        self.model_.save_model(str(path))

    def _load_native(self, path: Path) -> Any:
        import catboost

        if Task(self.task).is_classification:
            return catboost.CatBoostClassifier().load_model(str(path))
        return catboost.CatBoostRegressor().load_model(str(path))

    @classmethod
    def search_space(cls, n_rows: int, n_features: int, task: Task) -> dict[str, Distribution]:
        return {
            "learning_rate": Float(0.005, 0.3, 0.05 if n_rows < 100_000 else 0.08, log=True),
            "depth": Int(3, 10, 6),
            "l2_leaf_reg": Float(0.5, 30.0, 3.0, log=True),
            "random_strength": Float(0.1, 10.0, 1.0, log=True),
            "one_hot_max_size": Int(2, 32, 2, log=True),
        }

    @classmethod
    def default_configs(cls, task: Task) -> list[dict[str, Any]]:
        return [
            {"learning_rate": 0.05, "depth": 6, "l2_leaf_reg": 3.0},
            {"learning_rate": 0.04, "depth": 8, "l2_leaf_reg": 6.0},
            {"learning_rate": 0.08, "depth": 4, "l2_leaf_reg": 1.0, "one_hot_max_size": 10},
        ]

    @classmethod
    def classes_cost(cls, n_classes: int) -> float:
        return per_class_cost(n_classes)

    @classmethod
    def cost(cls, n_rows: int, n_features: int, config: dict[str, Any]) -> float:
        """Per round: a fixed start plus a pass over rows x features; deeper trees cost more."""
        depth = depth_for(int(config.get("depth", 6)), n_rows)
        per_round_s = 1.8e-3 + n_features * (2.4e-8 * n_rows + 1.2e-4)
        return 0.2 + expected_rounds(config, 0.05, n_rows) * per_round_s * 2.0 ** ((depth - 6) / 3)

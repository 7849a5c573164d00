"""XGBoost with depth-wise histogram trees and native categorical splits."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from assay._cpus import torch_threads_kept
from assay._types import Encoding, Task
from assay.log import get_logger
from assay.models._base import Model, category_codes, predict_threads
from assay.models._boosting import (
    Stopper,
    column_fraction,
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


def _matrix(
    X: pd.DataFrame, y: np.ndarray | None, n_jobs: int, weight: np.ndarray | None = None
) -> Any:
    import xgboost as xgb

    # Positional names: XGBoost refuses '[', ']' and '<' in feature names.
    X = X.set_axis([f"f{i}" for i in range(X.shape[1])], axis=1)
    return xgb.DMatrix(
        X, label=y, weight=weight, enable_categorical=True, nthread=n_threads(n_jobs)
    )


class XGBoostModel(Model):
    """Gradient boosting with depth-limited trees: a different bias from LightGBM's leaves."""

    name = "xgboost"
    early_stopping = True  # cross_fit holds out rows of the training part to stop on
    encoding = Encoding.NATIVE
    artifact_file = "model.ubj"

    def __init__(
        self,
        *,
        task: Task | str = Task.BINARY,
        learning_rate: float = 0.1,
        max_depth: int = 6,
        min_child_weight: float = 1.0,
        subsample: float = 1.0,
        colsample_bytree: float = 1.0,
        reg_lambda: float = 1.0,
        reg_alpha: float = 1e-3,
        max_cat_to_onehot: int = 4,
        n_estimators: int | None = None,
        n_jobs: int = 1,
        random_state: int = 0,
    ) -> None:
        self.task = task
        self.learning_rate = learning_rate
        self.max_depth = max_depth
        self.min_child_weight = min_child_weight
        self.subsample = subsample
        self.colsample_bytree = colsample_bytree
        self.reg_lambda = reg_lambda
        self.reg_alpha = reg_alpha
        self.max_cat_to_onehot = max_cat_to_onehot
        self.n_estimators = n_estimators
        self.n_jobs = n_jobs
        self.random_state = random_state

    def _params(self, n_rows: int, n_features: int) -> dict[str, Any]:
        if not Task(self.task).is_classification:
            objective: dict[str, Any] = {"objective": "reg:squarederror", "eval_metric": "rmse"}
        elif len(self.classes_) == 2:
            objective = {"objective": "binary:logistic", "eval_metric": "logloss"}
        else:
            objective = {
                "objective": "multi:softprob",
                "eval_metric": "mlogloss",
                "num_class": len(self.classes_),
            }
        return {
            **objective,
            "tree_method": "hist",
            "learning_rate": learning_rate_for(self.learning_rate, n_rows),
            "max_depth": depth_for(self.max_depth, n_rows),
            "min_child_weight": self.min_child_weight,
            "subsample": self.subsample,
            "colsample_bytree": column_fraction(self.colsample_bytree, n_features),
            "reg_lambda": self.reg_lambda,
            "reg_alpha": self.reg_alpha,
            "max_cat_to_onehot": self.max_cat_to_onehot,
            "nthread": n_threads(self.n_jobs),
            "seed": self.random_state,
            "verbosity": 0,
        }

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
        import xgboost as xgb

        params = self._params(len(y), X.shape[1])
        stopper = Stopper(patience(params["learning_rate"]), deadline)

        class Monitor(xgb.callback.TrainingCallback):
            def after_iteration(self, model: Any, epoch: int, evals_log: dict) -> bool:
                history = next(iter(evals_log.get("val", {}).values()), None)
                return stopper.update(epoch, None if history is None else float(history[-1]))

        # weights scale each row's gradient and hessian (and so min_child_weight's sums),
        # the quantile sketch of the bins, and the validation loss
        evals = [] if X_val is None else [(_matrix(X_val, y_val, self.n_jobs, w_val), "val")]
        booster = xgb.train(
            params,
            _matrix(X, y, self.n_jobs, w),
            num_boost_round=n_rounds(
                self.n_estimators, params["learning_rate"], bool(evals), len(y)
            ),
            evals=evals,
            callbacks=[Monitor()],
            verbose_eval=False,
        )
        self.n_iterations_ = stopper.n_keep
        if stopper.timed_out:
            logger.info("xgboost hit its time limit after %d rounds", stopper.n_done)
        if self.n_iterations_ < booster.num_boosted_rounds():
            booster = booster[: self.n_iterations_]
        self.model_ = booster

    def _predict_raw(self, X: Any) -> np.ndarray:
        return self._predict_prepared(_matrix(X, None, self.n_jobs))

    def _prepare(self, X: Any) -> Any:
        """XGBoost's own matrix, built once for every fold model that predicts from it, from
        the codes matrix rather than the frame (for hundreds of derived text columns the
        frame took 67 ms a row, the codes 2 ms): the categories are the fit's, in its order,
        so the codes are those XGBoost takes from the frame."""
        import xgboost as xgb

        types = ["c" if isinstance(dt, pd.CategoricalDtype) else "q" for dt in X.dtypes]
        return xgb.DMatrix(
            category_codes(X),
            feature_names=[f"f{i}" for i in range(X.shape[1])],
            feature_types=types,
            enable_categorical=True,
            nthread=predict_threads(n_threads(self.n_jobs), X.shape[0]),
        )

    def _predict_prepared(self, data: Any) -> np.ndarray:
        import xgboost as xgb

        threads = predict_threads(n_threads(self.n_jobs), data.num_row())
        if threads < n_threads(self.n_jobs):  # this thread only; the booster keeps its own
            with torch_threads_kept(), xgb.config_context(nthread=threads):
                raw = self.model_.predict(data)
        else:
            raw = self.model_.predict(data)
        if Task(self.task).is_classification and raw.ndim == 1:
            return np.column_stack([1.0 - raw, raw])
        return raw

    def native_input(self, X: Any) -> Any:
        """What the booster itself predicts from (for the shap package's TreeExplainer)."""
        return _matrix(X, None, self.n_jobs)

    def contributions(self, X: Any) -> np.ndarray:
        """TreeSHAP values on the margin scale, (n, outputs, features + 1); XGBoost's own."""
        values = self.model_.predict(_matrix(X, None, self.n_jobs), pred_contribs=True)
        return values.reshape(values.shape[0], -1, X.shape[1] + 1)

    def _save_native(self, path: Path) -> None:
        self.model_.save_model(str(path))

    def _load_native(self, path: Path) -> Any:
        import xgboost as xgb

        booster = xgb.Booster()
        booster.load_model(str(path))
        booster.set_param({"nthread": n_threads(self.n_jobs)})
        return booster

    @classmethod
    def search_space(cls, n_rows: int, n_features: int, task: Task) -> dict[str, Distribution]:
        return {
            "learning_rate": Float(0.005, 0.3, 0.1, log=True),
            "max_depth": Int(2, 12, 4 if n_rows < 2_000 else 6),
            "min_child_weight": Float(0.01, 20.0, 1.0, log=True),
            "subsample": Float(0.5, 1.0, 1.0),
            "colsample_bytree": Float(0.4, 1.0, 1.0),
            "reg_lambda": Float(1e-3, 100.0, 1.0, log=True),
            "reg_alpha": Float(1e-3, 10.0, 1e-3, log=True),
            "max_cat_to_onehot": Int(1, 32, 4, log=True),
        }

    @classmethod
    def default_configs(cls, task: Task) -> list[dict[str, Any]]:
        return [
            {"learning_rate": 0.1, "max_depth": 6, "min_child_weight": 1.0},
            {
                "learning_rate": 0.05,
                "max_depth": 8,
                "min_child_weight": 2.0,
                "subsample": 0.8,
                "colsample_bytree": 0.8,
            },
            {"learning_rate": 0.05, "max_depth": 4, "colsample_bytree": 0.7, "reg_lambda": 5.0},
        ]

    @classmethod
    def classes_cost(cls, n_classes: int) -> float:
        return per_class_cost(n_classes)

    @classmethod
    def cost(cls, n_rows: int, n_features: int, config: dict[str, Any]) -> float:
        """Per round: one histogram pass over the rows per level, split finding per node."""
        depth = depth_for(int(config.get("max_depth", 6)), n_rows)
        nodes = min(2.0**depth, n_rows / 10.0)
        per_round_s = n_features * (4.5e-10 * n_rows * depth + 1.3e-6 * nodes)
        return 0.05 + expected_rounds(config, 0.1, n_rows) * per_round_s

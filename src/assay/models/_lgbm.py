"""LightGBM on the native frame: pandas categories become LightGBM categorical splits; a
config's extra trees are turned off where many columns have 3 to 7 values (see
`extra_trees_suit`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from assay._types import Encoding, Task
from assay.log import get_logger
from assay.models._base import Model, category_codes, predict_threads
from assay.models._boosting import (
    Stopper,
    column_fraction,
    expected_rounds,
    learning_rate_for,
    n_rounds,
    n_threads,
    patience,
    per_class_cost,
    round_cap,
)
from assay.search._space import Choice, Distribution, Float, Int

logger = get_logger(__name__)

# Extra trees early-stop later but their rounds are cheaper (a random threshold per column
# instead of a search): on the 39 `tabular_design` datasets where they apply, the median
# extra-trees fit took 2.07x the rounds and 1.22x the seconds of the same config without
# them (benchmarks/extra_trees_rounds.py, results/extra_trees_rounds.csv). Electricity, at
# 3.0x the seconds, is far in the tail: there the budget's per-kind calibration
# (`cost_kind`) keeps the extra-trees trials' slowness off the plain configs' estimates.
EXTRA_TREES_SECONDS = 1.22

_METRICS = {"binary": "binary_logloss", "multiclass": "multi_logloss", "regression": "l2"}
_FEW_VALUES = range(3, 8)  # distinct values of a numeric column that extra trees split badly
_FEW_SHARE = 0.3  # above this share of such columns, a config's extra trees are turned off
_SAMPLE_ROWS = 5_000  # rows the distinct values are counted on


def extra_trees_suit(X: pd.DataFrame) -> bool:
    """Whether LightGBM's extra trees suit these columns. They draw one random threshold
    per feature among all but the last bin boundary (in dumped trees on columns of values
    0, 1 and 2, all 1,500 splits were at 0, none at 1.5), so a numeric column with 3 to 7
    distinct values loses splits it needs: on connect-4 (42 three-valued columns) the
    default extra-trees config learned nothing (logloss 0.82 against 0.46 without), and on
    synthetic regressions with half the columns three-valued R2 fell from 0.93 to 0.84
    (with a quarter of them it still rose, 0.93 to 0.94)."""
    numeric = X.select_dtypes(exclude="category")
    if numeric.shape[1] == 0:
        return True
    sample = numeric.iloc[:: max(1, len(numeric) // _SAMPLE_ROWS)]
    few = sample.nunique().isin(_FEW_VALUES).sum()
    return few <= _FEW_SHARE * X.shape[1]


def _positional(X: pd.DataFrame) -> pd.DataFrame:
    """Column names become f0..fn: LightGBM refuses JSON characters such as ',' or ':'."""
    return X.set_axis([f"f{i}" for i in range(X.shape[1])], axis=1)


class LightGBMModel(Model):
    """Gradient boosting with leaf-wise trees; usually the strongest single family."""

    name = "lightgbm"
    early_stopping = True  # cross_fit holds out rows of the training part to stop on
    encoding = Encoding.NATIVE
    artifact_file = "model.txt"

    def __init__(
        self,
        *,
        task: Task | str = Task.BINARY,
        learning_rate: float = 0.05,
        num_leaves: int = 31,
        min_child_samples: int = 20,
        feature_fraction: float = 0.9,
        bagging_fraction: float = 1.0,
        lambda_l1: float = 1e-3,
        lambda_l2: float = 1e-3,
        extra_trees: bool = False,
        cat_smooth: float = 10.0,
        min_data_per_group: int = 100,
        n_estimators: int | None = None,
        n_jobs: int = 1,
        random_state: int = 0,
    ) -> None:
        self.task = task
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.feature_fraction = feature_fraction
        self.bagging_fraction = bagging_fraction
        self.lambda_l1 = lambda_l1
        self.lambda_l2 = lambda_l2
        self.extra_trees = extra_trees
        self.cat_smooth = cat_smooth
        self.min_data_per_group = min_data_per_group
        self.n_estimators = n_estimators
        self.n_jobs = n_jobs
        self.random_state = random_state

    def _objective(self) -> tuple[str, dict[str, Any]]:
        if not Task(self.task).is_classification:
            return "regression", {}
        if len(self.classes_) == 2:
            return "binary", {}
        return "multiclass", {"num_class": len(self.classes_)}

    def _params(self, n_rows: int, n_features: int) -> dict[str, Any]:
        objective, extra = self._objective()
        return {
            "objective": objective,
            "metric": _METRICS[objective],
            "learning_rate": learning_rate_for(self.learning_rate, n_rows),
            "num_leaves": self.num_leaves,
            "min_data_in_leaf": self.min_child_samples,
            "feature_fraction": column_fraction(self.feature_fraction, n_features),
            "bagging_fraction": self.bagging_fraction,
            "bagging_freq": 1 if self.bagging_fraction < 1.0 else 0,
            "lambda_l1": self.lambda_l1,
            "lambda_l2": self.lambda_l2,
            "extra_trees": bool(self.extra_trees),
            "cat_smooth": self.cat_smooth,
            "min_data_per_group": self.min_data_per_group,
            "num_threads": n_threads(self.n_jobs),
            "seed": self.random_state,
            # Same threads and data give the same model; row-wise suits few threads.
            "deterministic": True,
            "force_row_wise": True,
            "verbosity": -1,
            **extra,
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
        import lightgbm as lgb

        # weights scale each row's gradient and hessian, and the validation loss
        train = lgb.Dataset(_positional(X), y, weight=w, free_raw_data=True)
        valid: list[Any] = []
        if X_val is not None:
            valid = [lgb.Dataset(_positional(X_val), y_val, weight=w_val, reference=train)]
        params = self._params(len(y), X.shape[1])
        self.extra_trees_ = params["extra_trees"] and extra_trees_suit(X)
        params["extra_trees"] = self.extra_trees_
        stopper = Stopper(patience(params["learning_rate"]), deadline)

        def monitor(env: Any) -> None:
            loss = next((r[2] for r in env.evaluation_result_list if r[0] == "val"), None)
            if stopper.update(env.iteration, loss):
                raise lgb.callback.EarlyStopException(env.iteration, env.evaluation_result_list)

        booster = lgb.train(
            params,
            train,
            num_boost_round=n_rounds(
                self.n_estimators, params["learning_rate"], bool(valid), len(y)
            ),
            valid_sets=valid,
            valid_names=["val"] * len(valid),
            callbacks=[monitor],
        )
        self.n_iterations_ = stopper.n_keep
        if stopper.timed_out:
            logger.info("lightgbm hit its time limit after %d rounds", stopper.n_done)
        # Round-trip through the text format: predictions then match a saved and reloaded
        # model exactly, and the booster lets go of the training data.
        text = booster.model_to_string(num_iteration=self.n_iterations_)
        self.model_ = lgb.Booster(model_str=text)

    def _predict_raw(self, X: Any) -> np.ndarray:
        return self._predict_prepared(_positional(X))

    def _prepare(self, X: Any) -> Any:
        """The codes matrix LightGBM would otherwise build from the frame on every call."""
        return category_codes(X)

    def _predict_prepared(self, data: Any) -> np.ndarray:
        threads = predict_threads(n_threads(self.n_jobs), data.shape[0])
        raw = self.model_.predict(data, num_threads=threads)
        if Task(self.task).is_classification and raw.ndim == 1:
            return np.column_stack([1.0 - raw, raw])
        return raw

    def native_input(self, X: Any) -> Any:
        """What the booster itself predicts from (for the shap package's TreeExplainer)."""
        return _positional(X)

    def contributions(self, X: Any) -> np.ndarray:
        """TreeSHAP values on the raw (margin) scale, (n, outputs, features + 1); the last
        entry is the expected value. LightGBM's own implementation."""
        flat = self.model_.predict(
            _positional(X), pred_contrib=True, num_threads=n_threads(self.n_jobs)
        )
        return flat.reshape(flat.shape[0], -1, X.shape[1] + 1)

    def _save_native(self, path: Path) -> None:
        self.model_.save_model(str(path))

    def _load_native(self, path: Path) -> Any:
        import lightgbm as lgb

        # Loading from the file restores `pandas_categorical`, the category-to-code mapping.
        return lgb.Booster(model_file=str(path))

    @classmethod
    def search_space(cls, n_rows: int, n_features: int, task: Task) -> dict[str, Distribution]:
        small = n_rows < 2_000
        return {
            "learning_rate": Float(0.005, 0.3, 0.05 if n_rows < 100_000 else 0.08, log=True),
            "num_leaves": Int(4, 256, 15 if small else 31, log=True),
            "min_child_samples": Int(2, 200, 10 if small else 20, log=True),
            "feature_fraction": Float(0.4, 1.0, 0.9),
            "bagging_fraction": Float(0.5, 1.0, 1.0),
            "lambda_l1": Float(1e-3, 10.0, 1e-3, log=True),
            "lambda_l2": Float(1e-3, 100.0, 1e-3, log=True),
            "extra_trees": Choice((False, True), False),
            "cat_smooth": Float(1.0, 100.0, 10.0, log=True),
            "min_data_per_group": Int(2, 200, int(np.clip(n_rows // 100, 5, 100)), log=True),
        }

    @classmethod
    def default_configs(cls, task: Task) -> list[dict[str, Any]]:
        return [
            {"learning_rate": 0.05, "num_leaves": 31, "feature_fraction": 0.9},
            {"learning_rate": 0.05, "num_leaves": 31, "feature_fraction": 0.9, "extra_trees": True},
            {
                "learning_rate": 0.03,
                "num_leaves": 128,
                "min_child_samples": 3,
                "feature_fraction": 0.9,
                "lambda_l2": 1.0,
            },
            {
                "learning_rate": 0.05,
                "num_leaves": 15,
                "min_child_samples": 50,
                "feature_fraction": 0.6,
                "bagging_fraction": 0.8,
                "lambda_l2": 5.0,
            },
        ]

    @classmethod
    def classes_cost(cls, n_classes: int) -> float:
        return per_class_cost(n_classes)

    @classmethod
    def cost(cls, n_rows: int, n_features: int, config: dict[str, Any]) -> float:
        """Per round: a histogram pass over rows x features plus split finding per leaf."""
        leaves = int(config.get("num_leaves", 31))
        per_round_s = n_features * (1.2e-9 * n_rows + 2e-6 * leaves)
        rounds: float = expected_rounds(config, 0.05, n_rows)
        if cls.cost_kind(config):  # early-stopped extra trees: longer, cheaper rounds
            rounds = min(rounds * EXTRA_TREES_SECONDS, round_cap(n_rows))
        return 0.05 + rounds * per_round_s

    @classmethod
    def cost_kind(cls, config: dict[str, Any]) -> str:
        """Early-stopped extra trees: how much longer they boost varies by data (1.06x to
        3.34x the rounds between the design datasets' quartiles)."""
        early_stopped = config.get("n_estimators") is None
        return "extra_trees" if config.get("extra_trees") and early_stopped else ""

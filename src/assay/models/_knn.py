"""k-nearest neighbours on the standardized one-hot matrix: a local, non-tree view."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor

from assay._types import Encoding, Task
from assay.models._boosting import n_threads
from assay.models._sklearn import SklearnModel
from assay.search._space import Choice, Distribution, Int


class KNNModel(SklearnModel):
    """Fitting only stores the data; the time goes into predicting, so cost counts that."""

    name = "knn"
    encoding = Encoding.ONEHOT

    def __init__(
        self,
        *,
        task: Task | str = Task.BINARY,
        n_neighbors: int = 10,
        weights: str = "distance",
        p: int = 2,
        n_jobs: int = 1,
        random_state: int = 0,
    ) -> None:
        self.task = task
        self.n_neighbors = n_neighbors
        self.weights = weights
        self.p = p
        self.n_jobs = n_jobs
        self.random_state = random_state

    def _fit(self, X: Any, y: np.ndarray, X_val: Any, y_val: Any, deadline: float | None) -> None:
        # A small fold may have fewer rows than neighbours asked for.
        self.model_ = self._estimator(min(self.n_neighbors, len(y))).fit(X, y)

    def _estimator(self, n_neighbors: int | None = None) -> Any:
        cls = KNeighborsClassifier if Task(self.task).is_classification else KNeighborsRegressor
        return cls(
            n_neighbors=n_neighbors or self.n_neighbors,
            weights=self.weights,
            p=self.p,
            n_jobs=n_threads(self.n_jobs),
        )

    @classmethod
    def _estimator_types(cls) -> tuple[type, ...]:
        return (KNeighborsClassifier, KNeighborsRegressor)

    @classmethod
    def search_space(cls, n_rows: int, n_features: int, task: Task) -> dict[str, Distribution]:
        return {
            "n_neighbors": Int(1, 100, 5 if n_rows < 1_000 else 10, log=True),
            "weights": Choice(("uniform", "distance"), "distance"),
            "p": Choice((1, 2), 2),
        }

    @classmethod
    def default_configs(cls, task: Task) -> list[dict[str, Any]]:
        return [
            {"n_neighbors": 10, "weights": "distance", "p": 2},
            {"n_neighbors": 25, "weights": "uniform", "p": 2},
            {"n_neighbors": 5, "weights": "distance", "p": 1},
        ]

    @classmethod
    def memory_mb(cls, n_rows: int, n_features: int, n_classes: int, config: dict) -> float:
        """kNN keeps its (encoded, float64) training rows."""
        return max(n_rows, 1) * max(n_features, 1) * 8 / 2**20

    @classmethod
    def cost(cls, n_rows: int, n_features: int, config: dict[str, Any]) -> float:
        """Brute-force distances from a held-out fold (a fifth of the rows) to the rest."""
        n = max(n_rows, 1)
        return 0.01 + 6e-6 * n + 1.2e-10 * (n / 5.0) * n * max(n_features, 1)

"""L2-regularised linear models on the one-hot matrix: fast, smooth, and unlike the trees."""

from __future__ import annotations

from typing import Any

from sklearn.linear_model import LogisticRegression, Ridge

from assay._types import Encoding, Task
from assay.models._boosting import per_class_cost
from assay.models._sklearn import SklearnModel
from assay.search._space import Distribution, Float


class LinearModel(SklearnModel):
    """Logistic regression (C) for classification, ridge regression (alpha) for regression."""

    name = "linear"
    encoding = Encoding.ONEHOT
    weights_as_copies = True  # both losses are sums over the rows, weighted

    def __init__(
        self,
        *,
        task: Task | str = Task.BINARY,
        C: float = 1.0,
        alpha: float = 1.0,
        n_jobs: int = 1,
        random_state: int = 0,
    ) -> None:
        self.task = task
        self.C = C
        self.alpha = alpha
        self.n_jobs = n_jobs
        self.random_state = random_state

    def _estimator(self) -> Any:
        if Task(self.task).is_classification:
            # lbfgs uses an L2 penalty; the multinomial loss covers binary and multiclass.
            return LogisticRegression(
                C=self.C, solver="lbfgs", max_iter=1000, random_state=self.random_state
            )
        return Ridge(alpha=self.alpha, random_state=self.random_state)

    @classmethod
    def _estimator_types(cls) -> tuple[type, ...]:
        return (LogisticRegression, Ridge)

    @classmethod
    def search_space(cls, n_rows: int, n_features: int, task: Task) -> dict[str, Distribution]:
        if task.is_classification:
            return {"C": Float(1e-4, 1e3, 1.0, log=True)}
        return {"alpha": Float(1e-4, 1e4, 1.0, log=True)}

    @classmethod
    def default_configs(cls, task: Task) -> list[dict[str, Any]]:
        if task.is_classification:
            return [{"C": 1.0}, {"C": 0.1}, {"C": 10.0}]
        return [{"alpha": 1.0}, {"alpha": 10.0}, {"alpha": 0.1}]

    @classmethod
    def classes_cost(cls, n_classes: int) -> float:
        """Multinomial lbfgs: a weight vector per class (10-15x the binary time at 5-26
        classes on letter, at its iteration cap)."""
        return per_class_cost(n_classes)

    @classmethod
    def cost(cls, n_rows: int, n_features: int, config: dict[str, Any]) -> float:
        """lbfgs passes over the data a few dozen times; ridge solves a features^2 system."""
        return 0.01 + 1e-7 * max(n_rows, 1) * max(n_features, 1) + 1e-9 * n_features**3

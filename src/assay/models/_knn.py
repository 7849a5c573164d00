"""k-nearest neighbours on the standardized one-hot matrix: a local, non-tree view.

Under row weights, `n_neighbors` counts weight, not rows: a query takes its nearest rows
until their weights add up to `n_neighbors` (the last one in part), and each votes (or
enters the mean) with its weight, times 1/distance with `weights="distance"`. The fit's
weights are scaled so that the median row weighs 1, so a row of weight 2 is exactly two
copies of it, and unweighted rows are scikit-learn's k nearest. scikit-learn's estimators
take no weights; it finds the neighbours, the weights are applied here.
"""

from __future__ import annotations

import hashlib
import math
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor

from assay._types import Encoding, Task
from assay.errors import ArtifactError
from assay.models._boosting import n_threads
from assay.models._estimator_file import load_estimator, save_estimator
from assay.models._sklearn import SklearnModel
from assay.search._space import Choice, Distribution, Int

_SHARED_NEIGHBOURS = 20  # rows found per query in a search kNN members share (k=10 asks 20)


class KNNModel(SklearnModel):
    """Fitting only stores the data; the time goes into predicting, so cost counts that."""

    name = "knn"
    encoding = Encoding.ONEHOT
    weights_as_copies = True
    # Not a level 2: level 1's out-of-fold predictions are the columns that separate the
    # rows best, so its neighbours agree, its vote shares say 1 and 0, and its out-of-fold
    # score looks perfect. On analcatdata_authorship (672 rows) a kNN level 2 scored
    # perfectly on the stacking check's 84 held-out rows, took all the ensemble's weight,
    # and gave one test row's class probability 0 (test log loss 0.204 against 0.015
    # without the stack).
    stacker = False
    fit_keeps_rows = True
    row_weight_: np.ndarray | None  # the training rows' weights; None: all alike

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
        # A small fold may have fewer rows than neighbours asked for.
        self.model_ = self._estimator(min(self.n_neighbors, len(y))).fit(X, y)
        self.row_weight_ = None if w is None else np.asarray(w, dtype=np.float64)

    def _predict_raw(self, X: Any) -> np.ndarray:
        weight = getattr(self, "row_weight_", None)
        if weight is None:  # every row weighs 1: the k nearest, as scikit-learn takes them
            distances, rows = self._nearest(X, min(self.n_neighbors, len(self.model_._y)))
            share = np.ones(rows.shape)
        else:
            distances, rows, share = self._weighted_neighbours(X, weight)
        if self.weights == "distance":  # as scikit-learn: a row at distance 0 takes it all
            with np.errstate(divide="ignore"):
                inverse = 1.0 / distances
            exact = np.isinf(inverse)
            hit = exact.any(axis=1)
            inverse[hit] = exact[hit]
            share = share * inverse
        targets = self.model_._y[rows]  # scikit-learn's fitted targets (class indices)
        if not Task(self.task).is_classification:
            return (share * targets).sum(axis=1) / share.sum(axis=1)
        labels = self.model_.classes_[targets]  # the encoded classes, 0..K-1
        proba = np.column_stack(
            [np.where(labels == k, share, 0.0).sum(axis=1) for k in range(len(self.classes_))]
        )
        return proba / proba.sum(axis=1, keepdims=True)

    def _weighted_neighbours(
        self, X: Any, weight: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(distances, training rows, weight taken from each), nearest first: the rows
        until their weights reach `n_neighbors` (all the weight there is, at most). Asks
        scikit-learn for twice `n_neighbors` rows, and for four times more for the queries
        whose rows of less than the median weight do not add up to it."""
        n_rows = len(weight)
        need = min(float(self.n_neighbors), float(weight.sum()))
        n_asked = min(n_rows, 2 * self.n_neighbors)
        distances, rows = self._nearest(X, n_asked)
        found = weight[rows]
        while n_asked < n_rows:
            short = np.flatnonzero(found.sum(axis=1) < need * (1 - 1e-12))
            if len(short) == 0:
                break
            n_asked = min(n_rows, 4 * n_asked)
            more_distances, more_rows = self.model_.kneighbors(X[short], n_neighbors=n_asked)
            pad = ((0, 0), (0, n_asked - rows.shape[1]))
            distances = np.pad(distances, pad, constant_values=np.inf)
            rows = np.pad(rows, pad)  # row 0 with no weight taken: a placeholder
            found = np.pad(found, pad)
            distances[short], rows[short], found[short] = (
                more_distances, more_rows, weight[more_rows]
            )  # fmt: skip
        before = np.cumsum(found, axis=1) - found
        return distances, rows, np.clip(need - before, 0.0, found)

    def _nearest(self, X: Any, n: int) -> tuple[np.ndarray, np.ndarray]:
        """The `n` nearest training rows of each query, nearest first. Within
        `shared_conversions` (a predictor's members), kNN models that keep the same rows
        and measure distance alike search once, for at least `_SHARED_NEIGHBOURS` rows,
        and each takes its first `n`. A search is most of a kNN's prediction: Manhattan
        distance on the 420 columns SST-2's embeddings make took 1.5 s for its 1,821 test
        rows (7,792 training rows), and SMS spam's ensemble of a 300 s fit had two such
        members (5 and 7 neighbours)."""
        from assay.features._encoder import shared_result, sharing

        if not sharing():  # nothing to share it with: no digest, no extra neighbours
            return self.model_.kneighbors(X, n_neighbors=n)
        n_rows = len(self.model_._y)
        wanted = min(n_rows, max(n, _SHARED_NEIGHBOURS))
        key = ("knn neighbours", self._rows_digest(), self.p)
        distances, rows = shared_result(
            X, key, lambda: self.model_.kneighbors(X, n_neighbors=wanted)
        )
        if rows.shape[1] >= n:
            return distances[:, :n], rows[:, :n]
        return self.model_.kneighbors(X, n_neighbors=n)

    def _rows_digest(self) -> str:
        """A digest of the training rows, computed once per fitted estimator (not saved)."""
        cached = getattr(self, "_digest", None)
        if cached is None or cached[0] is not self.model_:  # a new fit keeps other rows
            rows = np.ascontiguousarray(self.model_._fit_X)
            h = hashlib.blake2b(digest_size=16)
            h.update(f"{rows.dtype}{rows.shape}".encode())
            h.update(rows.data)
            cached = self._digest = (self.model_, h.hexdigest())
        return cached[1]

    # -- persistence: the weights go into params.json with the other fitted values ------
    def _fitted_state(self) -> dict[str, Any]:
        state = super()._fitted_state()
        weight = getattr(self, "row_weight_", None)
        if weight is not None:
            state["row_weight_"] = weight.tolist()
        return state

    def _load_native(self, path: Path) -> Any:
        if getattr(self, "row_weight_", None) is not None:  # a list from params.json
            self.row_weight_ = np.asarray(self.row_weight_, dtype=np.float64)
        return super()._load_native(path)

    def _save_native(self, path: Path) -> None:
        """The training rows and their targets: loading builds the search tree again (a
        KD or ball tree is an object, not arrays; rebuilding it takes milliseconds)."""
        fitted = self.model_
        y = fitted.classes_[fitted._y] if hasattr(fitted, "classes_") else fitted._y
        save_estimator(fitted, path, arrays={"X": fitted._fit_X, "y": y})

    def _load_arrays(self, path: Path) -> Any:
        estimator, arrays = load_estimator(path, self._estimator_types(), refit=True)
        try:
            return estimator.fit(arrays["X"], arrays["y"])
        except (KeyError, ValueError) as exc:  # arrays missing, or not rows and targets
            raise ArtifactError(
                f"{path} is not a readable k-nearest-neighbours file: {exc}"
            ) from exc

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
        """Distances from a held-out fold (a fifth of the rows) to the rest: seconds per
        (held-out, training) pair, measured by `benchmarks/knn_cost.py` (one thread). Over
        15 columns scikit-learn compares every pair; Euclidean distance rides on a matrix
        product, Manhattan (p=1) does not and costs about 0.6 ns a pair and column. At 15
        columns or fewer a KD tree prunes pairs, less so with every column (at 12 it
        saves nothing on data with no structure)."""
        n = max(n_rows, 1)
        pairs = (n / 5.0) * n
        return 0.01 + 6e-6 * n + pairs * _pair_s(max(n_features, 1), int(config.get("p", 2)))


def _pair_s(n_features: int, p: int) -> float:
    if n_features <= 15:  # scikit-learn's "auto" picks a KD tree
        return 2e-9 * math.exp(0.28 * (n_features - 5))
    if p == 1:
        return 2e-9 + 6e-10 * n_features
    return 2.5e-9 + 4e-11 * n_features

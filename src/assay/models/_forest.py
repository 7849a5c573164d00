"""Random forests and extra trees on the ordinal matrix.

Under a time limit the forest grows in chunks with `warm_start`; scikit-learn seeds each tree
the same way either way, so a forest that finishes equals one grown in a single call.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from joblib import Parallel, delayed
from sklearn.ensemble import (
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)

from assay._types import Encoding, Task
from assay.log import get_logger
from assay.models._boosting import n_threads
from assay.models._forest_file import load_forest, save_forest
from assay.models._sklearn import SklearnModel
from assay.search._space import Choice, Distribution, Int

logger = get_logger(__name__)

_MAX_FEATURES = ("sqrt", "log2", 0.3, 0.5, 0.7, 1.0)
_SECONDS_PER_TREE = 2e-3  # scikit-learn's own work per tree, whatever the rows
FOREST_MB = 128  # a forest stops growing trees at this size (in memory and on disk)
MIN_TREES = 32  # ... unless it has fewer trees than this
_NODE_BYTES = 64  # scikit-learn's node record, beside its values (8 bytes per class)


def trees_for(n_estimators: int, n_rows: int) -> int:
    """The config's tree count, capped at a quarter of the rows (at least 100): each tree
    costs scikit-learn ~2 ms however few the rows (300 trees on 500 rows: 0.6 s a fold), and
    past ~100 trees more of them on little data barely move the score."""
    return int(min(n_estimators, max(100, n_rows // 4)))


def trees_within_size(n_trees: int, tree_mb: float) -> int:
    """At most as many trees as fit in FOREST_MB (never fewer than MIN_TREES).

    Fully grown trees hold about two nodes per training row: 300 extra-trees regressors on
    12,000 rows came to 6.8M nodes, 490 MB a fold and 1.3 GB for a 3-fold member, which
    the fit then spent 9 s loading back and saving again. Past the first hundred trees the
    score barely moves (on 218_house_8L's folds, rmse 30,357 with 300 trees, 30,470 with
    100; letter's log loss 0.319 and 0.324), where a leaf floor that shrinks them as much
    costs more (rmse 30,809 at leaf 5; log loss 0.590)."""
    fitting = int(FOREST_MB / max(tree_mb, 1e-9))
    return int(min(n_trees, max(MIN_TREES, fitting)))


def _tree_mb(n_nodes: float, n_classes: int) -> float:
    return n_nodes * (_NODE_BYTES + 8 * max(n_classes, 1)) / 2**20


class _ForestModel(SklearnModel):
    encoding = Encoding.ORDINAL
    artifact_file = "model.forest"  # the trees as arrays (_forest_file.py), not skops
    legacy_artifact_files = ("model.npz", "model.skops")
    _classifier: ClassVar[type]
    _regressor: ClassVar[type]

    def __init__(
        self,
        *,
        task: Task | str = Task.BINARY,
        max_features: str | float | None = None,
        min_samples_leaf: int = 1,
        criterion: str | None = None,
        bootstrap: bool | None = None,
        n_estimators: int = 300,
        n_jobs: int = 1,
        random_state: int = 0,
    ) -> None:
        self.task = task
        self.max_features = max_features
        self.min_samples_leaf = min_samples_leaf
        self.criterion = criterion
        self.bootstrap = bootstrap
        self.n_estimators = n_estimators
        self.n_jobs = n_jobs
        self.random_state = random_state

    def _estimator(self) -> Any:
        """None means the task's default: sqrt/gini for classification, 1.0/squared error
        for regression (scikit-learn's own defaults). Both families draw a bootstrap by
        default (scikit-learn's extra trees do not), so that a fit on all rows can score
        itself out of bag (`out_of_bag_raw`)."""
        classification = Task(self.task).is_classification
        default_features = "sqrt" if classification else 1.0
        params = {
            "max_features": default_features if self.max_features is None else self.max_features,
            "min_samples_leaf": self.min_samples_leaf,
            "criterion": self.criterion or ("gini" if classification else "squared_error"),
            "bootstrap": True if self.bootstrap is None else self.bootstrap,
            "n_estimators": self.n_estimators,
            "n_jobs": n_threads(self.n_jobs),
            "random_state": self.random_state,
        }
        return (self._classifier if classification else self._regressor)(**params)

    @classmethod
    def _estimator_types(cls) -> tuple[type, ...]:
        return (cls._classifier, cls._regressor)

    def _save_native(self, path: Path) -> None:
        save_forest(self.model_, path)

    def _load_arrays(self, path: Path) -> Any:
        return load_forest(path, self._estimator_types())

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
        n_trees = trees_for(self.n_estimators, len(y))
        # Grow a first small chunk to weigh and time one tree, then the trees that fit in
        # FOREST_MB: at once without a deadline, else in chunks sized to the time left.
        threads = n_threads(self.n_jobs)
        forest = self._estimator().set_params(warm_start=True)
        n_grown, chunk = 0, threads
        while n_grown < n_trees:
            n_added = min(n_trees - n_grown, chunk)
            n_grown += n_added
            start = time.perf_counter()
            # a bootstrap draws rows in proportion to their weights (scikit-learn 1.9),
            # trees without one weigh each row's part of the impurities and leaf values
            forest.set_params(n_estimators=n_grown).fit(X, y, sample_weight=w)
            seconds = time.perf_counter() - start
            if n_grown == n_added:
                n_trees = self._sized(n_trees, forest)
            if deadline is None:
                chunk = n_trees
                continue
            per_tree_s = seconds / n_added * threads
            time_left_s = deadline - time.perf_counter()
            chunk = int(time_left_s / max(per_tree_s, 1e-6) * threads)
            if n_grown < n_trees and chunk < 1:
                logger.info("%s hit its time limit after %d trees", self.name, n_grown)
                break
            chunk = max(threads, min(chunk, 4 * n_grown))
        self._set_fitted(forest.set_params(warm_start=False))

    @classmethod
    def scores_out_of_bag(cls, config: dict) -> bool:
        return config.get("bootstrap") is not False

    def out_of_bag_raw(self, X: Any) -> np.ndarray | None:
        """Each row of the fit's X predicted by the trees whose bootstrap did not draw it (as
        `predict_proba` or `predict` would, mean over those trees), or None where the fit
        cannot give that: no bootstrap, rows of weight 0 left out of the fit, or rows that
        every tree drew (too few trees, as under a short time limit). `X` is the matrix
        the model was fitted on, rows in the same order."""
        forest = self.model_
        if forest is None or not forest.bootstrap:
            return None
        samples = forest.estimators_samples_  # each tree draws as many rows as it fitted on
        if len(samples[0]) != len(X):
            return None
        X = np.asarray(self._check_X(X), dtype=np.float32)
        classifier = Task(self.task).is_classification
        width = len(self.classes_) if classifier else 1
        total = np.zeros((len(X), width))
        counts = np.zeros(len(X), dtype=np.int64)
        for tree, drawn in zip(forest.estimators_, samples, strict=True):
            unseen = np.ones(len(X), dtype=bool)
            unseen[drawn] = False
            rows = np.flatnonzero(unseen)
            if len(rows) == 0:
                continue
            part = tree.predict_proba(X[rows]) if classifier else tree.predict(X[rows])
            total[rows] += part.reshape(len(rows), width)
            counts[rows] += 1
        if (counts == 0).any():
            return None
        raw = total / counts[:, None]
        return raw if classifier else raw[:, 0]

    def _sized(self, n_trees: int, forest: Any) -> int:
        """`n_trees`, or fewer when the trees grown so far say more would pass FOREST_MB."""
        trees = [tree.tree_ for tree in forest.estimators_]
        nodes = sum(tree.node_count for tree in trees) / len(trees)
        per_tree_mb = _tree_mb(nodes, trees[0].n_outputs * trees[0].max_n_classes)
        sized = trees_within_size(n_trees, per_tree_mb)
        if sized < n_trees:
            logger.info(
                "%s grows %d trees, not %d: %.2f MB a tree, %d MB a forest at most",
                self.name, sized, n_trees, per_tree_mb, FOREST_MB,
            )  # fmt: skip
        return sized

    def _set_fitted(self, forest: Any) -> None:
        # Predict sequentially inside the forest and in parallel over rows instead (below).
        self.model_ = forest.set_params(n_jobs=1)
        self.n_iterations_ = len(forest.estimators_)

    def _predict_raw(self, X: Any) -> np.ndarray:
        """Threads over row blocks, not trees: scikit-learn adds the trees up in whatever
        order its threads finish, so the last bits of a prediction would vary run to run."""
        n_blocks = min(n_threads(self.n_jobs), max(1, len(X) // 1_000))
        if n_blocks == 1:
            return self._tree_sum(X)
        blocks = np.array_split(X, n_blocks)
        parts = Parallel(n_jobs=n_blocks, prefer="threads")(
            delayed(self._tree_sum)(block) for block in blocks
        )
        return np.concatenate(parts)

    def _tree_sum(self, X: Any) -> np.ndarray:
        """What the forest's `predict_proba` or `predict` gives (its trees' leaf values
        added in the trees' order and divided by their count, as scikit-learn does on one
        thread), read from the trees' arrays directly. scikit-learn's route checks the
        input and dispatches each tree through its thread pool, about 0.1 ms a tree: on
        bank-marketing (four forests, 876 trees in all) a single row's p50 fell from 71 ms
        to 23 ms in-process."""
        forest = self.model_
        X = np.ascontiguousarray(X, dtype=np.float32)  # the trees' own dtype
        classifier = Task(self.task).is_classification
        width = len(forest.classes_) if classifier else 1
        total = np.zeros((X.shape[0], width))
        for tree in forest.estimators_:
            total += tree.tree_.predict(X)[:, :width]
        total /= len(forest.estimators_)
        return total if classifier else total[:, 0]

    @classmethod
    def search_space(cls, n_rows: int, n_features: int, task: Task) -> dict[str, Distribution]:
        space: dict[str, Distribution] = {
            "max_features": Choice(_MAX_FEATURES, "sqrt" if task.is_classification else 1.0),
            "min_samples_leaf": Int(1, 64, 1 if n_rows < 100_000 else 5, log=True),
        }
        if task.is_classification:
            space["criterion"] = Choice(("gini", "entropy"), "gini")
        return space

    @classmethod
    def default_configs(cls, task: Task) -> list[dict[str, Any]]:
        if task.is_classification:
            return [
                {"max_features": "sqrt", "criterion": "gini"},
                {"max_features": "sqrt", "criterion": "entropy"},
                {"max_features": 0.5, "min_samples_leaf": 2, "criterion": "gini"},
            ]
        return [
            {"max_features": 1.0},
            {"max_features": 0.5},
            {"max_features": 0.3, "min_samples_leaf": 3},
        ]

    @classmethod
    def memory_mb(cls, n_rows: int, n_features: int, n_classes: int, config: dict) -> float:
        """sklearn keeps ~64 bytes per node plus a value per class; a tree grown to leaves
        of `min_samples_leaf` rows has about 2 * rows / min_samples_leaf nodes."""
        tree_mb = cls._estimated_tree_mb(n_rows, n_classes, config)
        return cls._estimated_trees(n_rows, n_classes, config) * tree_mb

    @staticmethod
    def _estimated_tree_mb(n_rows: int, n_classes: int, config: dict) -> float:
        leaf = max(int(config.get("min_samples_leaf", 1)), 1)
        nodes = 2.0 * max(n_rows, 1) / leaf
        if config.get("max_depth") is not None:
            nodes = min(nodes, 2.0 ** (int(config["max_depth"]) + 1))
        return _tree_mb(nodes, n_classes)

    @classmethod
    def _estimated_trees(cls, n_rows: int, n_classes: int, config: dict) -> int:
        """The trees a fit will grow, as `_fit` sizes them (from estimated tree sizes)."""
        n_trees = trees_for(int(config.get("n_estimators", 300)), n_rows)
        return trees_within_size(n_trees, cls._estimated_tree_mb(n_rows, n_classes, config))

    @classmethod
    def cost(cls, n_rows: int, n_features: int, config: dict[str, Any]) -> float:
        """Each tree sorts its rows at every level (n log n) over the features it tries."""
        max_features = config.get("max_features", "sqrt")
        if max_features == "sqrt":
            tried = math.sqrt(n_features)
        elif max_features == "log2":
            tried = math.log2(max(n_features, 2))
        else:
            tried = float(max_features) * n_features
        n_trees = cls._estimated_trees(n_rows, 1, config)  # the classes are not known here
        rows = max(n_rows, 2)
        per_tree_s = cls._seconds_per_cell * rows * math.log2(rows) * max(tried, 1.0)
        per_tree_s += _SECONDS_PER_TREE
        if config.get("criterion") == "entropy":
            per_tree_s *= 1.2
        return 0.05 + n_trees * per_tree_s

    _seconds_per_cell: ClassVar[float] = 2.8e-8  # on two cores, timed on 10k x 20


class RandomForestModel(_ForestModel):
    """Bagged deep trees: robust, needs no tuning, a useful ensemble member."""

    name = "random_forest"
    _classifier = RandomForestClassifier
    _regressor = RandomForestRegressor


class ExtraTreesModel(_ForestModel):
    """Random split thresholds: faster than a random forest and less correlated with it."""

    name = "extra_trees"
    _classifier = ExtraTreesClassifier
    _regressor = ExtraTreesRegressor
    _seconds_per_cell = 1.1e-8

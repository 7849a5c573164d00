"""The contract every registered model passes: `check_model(LightGBMModel)`.

It raises AssertionError (never a bare `assert`, so it also runs under `python -O`) naming the
model, the task and what went wrong. Boosters and forests are capped at a few dozen trees so
the whole check takes about a second per model.

Row weights are checked on the training rows stacked on a copy of themselves whose labels
are flipped (the next class, or the target mirrored about its mean): given weight 0, the
flipped copy must change nothing at all; given a tenth of the weight of the true rows, the
fit must follow the true labels, and follow the flipped ones when the weights are swapped
(a family that ignored its weights would fit both the same).
"""

from __future__ import annotations

import math
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from sklearn.base import clone

from assay._types import Encoding, Task
from assay.errors import ConfigError
from assay.search._space import Choice, Float, Int, from_dict, sample, to_dict
from assay.testing._toy import toy_frame
from assay.testing._toy_media import toy_media

if TYPE_CHECKING:
    from assay.models import Model

_TIME_LIMIT_S = 0.01
_TIME_LIMIT_GRACE_S = 5.0
_LIGHT = 0.1  # the weight of the outvoted copy, against 1
# how much better the fit on heavy true rows must score on them than the fit on heavy
# flipped rows (accuracy; R2 for regression)
_FOLLOWS_ACCURACY = 0.2
_FOLLOWS_R2 = 0.5
_COPIES_ATOL = 1e-9  # weights_as_copies: weight 2 against a copy, up to rounding
# trees or epochs of the fits that only show each default config fits and predicts (what
# is learned is checked with the check's own cap, in `fit` and `weights`)
_CONFIG_ESTIMATORS = 2


class _Check:
    """One model class on one task, with its toy data split into train and validation."""

    def __init__(
        self, model_class: type[Model], task: Task, n_rows: int, max_estimators: int
    ) -> None:
        self.model_class, self.task, self.max_estimators = model_class, task, max_estimators
        if model_class.encoding is Encoding.RAW:  # files of its own, removed with the check
            self._folder = tempfile.TemporaryDirectory(prefix="assay-check-")
            X, y = toy_media(Path(self._folder.name), task, n_rows, seed=0)
        else:
            frames, y = toy_frame(task, n_rows, seed=0)
            X = frames[model_class.encoding]
        n_train = 2 * n_rows // 3
        self.X, self.y = _rows(X, slice(0, n_train)), y[:n_train]
        self.X_val, self.y_val = _rows(X, slice(n_train, None)), y[n_train:]
        self.n_classes = len(np.unique(y)) if task.is_classification else 0

    def ensure(self, condition: Any, message: str) -> None:
        if not condition:
            raise AssertionError(f"{self.model_class.__name__} [{self.task.value}]: {message}")

    def make(self, *, cap: int | None = None, **params: Any) -> Any:
        """The model with `params`, its trees or epochs capped at `cap` (default: the
        check's `max_estimators`)."""
        cap = self.max_estimators if cap is None else cap
        model = self.model_class(task=self.task, n_jobs=1, random_state=0, **params)
        current = model.get_params().get("n_estimators", 0)
        if current is None or current > cap:
            model.set_params(n_estimators=cap)
        return model

    def outputs(self, model: Any, X: Any, classes: np.ndarray | None = None) -> np.ndarray:
        """Check predict (and predict_proba) on X; return what must be reproducible."""
        n_rows = X.shape[0]
        pred = model.predict(X)
        self.ensure(isinstance(pred, np.ndarray), f"predict returned {type(pred).__name__}")
        self.ensure(pred.shape == (n_rows,), f"predict shape {pred.shape}, expected ({n_rows},)")
        if not self.task.is_classification:
            self.ensure(pred.dtype.kind == "f", f"regression predict dtype {pred.dtype}")
            self.ensure(np.isfinite(pred).all(), "regression predictions are not all finite")
            return pred
        classes = np.arange(self.n_classes) if classes is None else classes
        self.ensure(np.array_equal(model.classes_, classes), f"classes_ {model.classes_}")
        self.ensure(pred.dtype.kind in "iu", f"predict dtype {pred.dtype}, expected int labels")
        self.ensure(np.isin(pred, classes).all(), "predict returned labels outside classes_")
        proba = model.predict_proba(X)
        shape = (n_rows, len(classes))
        self.ensure(proba.shape == shape, f"predict_proba shape {proba.shape}, expected {shape}")
        self.ensure(np.all(proba >= 0) and np.all(proba <= 1), "probabilities outside [0, 1]")
        self.ensure(
            np.allclose(proba.sum(axis=1), 1.0, rtol=0, atol=1e-6),
            "predict_proba rows do not sum to 1",
        )
        self.ensure(
            np.array_equal(pred, classes[np.argmax(proba, axis=1)]), "predict != argmax(proba)"
        )
        return proba

    # -- the checks ---------------------------------------------------------------------
    def params(self) -> None:
        model = self.model_class(task=self.task, n_jobs=1, random_state=0)
        params = model.get_params()
        for key in ("task", "n_jobs", "random_state"):
            self.ensure(key in params, f"get_params lacks {key!r}")
        self.ensure(model.task is self.task, "the constructor changed `task`")
        self.ensure(clone(model).get_params() == params, "clone changed the params")
        self.ensure(model.set_params(**params) is model, "set_params did not return self")
        self.ensure(model.get_params() == params, "set_params(**get_params()) changed params")
        self.ensure(not hasattr(model, "fit_time_s_"), "the constructor set fitted attributes")

    def fit(self) -> Any:
        X_before = _copy(self.X)
        model = self.make()
        self.ensure(model.fit(self.X, self.y) is model, "fit did not return self")
        self.ensure(_same(self.X, X_before), "fit modified its input X")
        self.ensure(model.fit_time_s_ > 0, "fit_time_s_ is not a positive number")
        self.outputs(model, self.X_val)
        self.score(model)
        with_val = self.make().fit(self.X, self.y, X_val=self.X_val, y_val=self.y_val)
        self.with_val = with_val  # the reference of weights(): no row left out
        if hasattr(with_val, "n_iterations_"):
            n = with_val.n_iterations_
            self.ensure(1 <= n <= self.max_estimators, f"n_iterations_={n} with early stopping")
        self.outputs(with_val, self.X_val)
        again = clone(model).fit(self.X, self.y)
        self.ensure(
            np.array_equal(self.outputs(model, self.X_val), self.outputs(again, self.X_val)),
            "two fits with the same random_state predict differently",
        )
        return model

    def score(self, model: Any) -> None:
        """On a learnable problem the training score must beat a trivial baseline clearly."""
        pred = model.predict(self.X)
        if self.task.is_classification:
            majority = np.bincount(self.y).max() / len(self.y)
            accuracy = float(np.mean(pred == self.y))
            self.ensure(
                accuracy >= majority + 0.1,
                f"training accuracy {accuracy:.3f} is not above the majority rate {majority:.3f}",
            )
        else:
            r2 = 1.0 - np.sum((self.y - pred) ** 2) / np.sum((self.y - self.y.mean()) ** 2)
            self.ensure(r2 > 0.5, f"training R2 {r2:.3f} is not above 0.5")

    def missing_class(self) -> None:
        """A fold without the last class: classes_ and proba columns follow what was seen."""
        keep = self.y != self.n_classes - 1
        model = self.make().fit(
            _rows(self.X, keep), self.y[keep], X_val=self.X_val, y_val=self.y_val
        )
        self.outputs(model, self.X_val, classes=np.arange(self.n_classes - 1))
        self.save_load(model)

    def time_limit(self) -> None:
        model = self.make()
        if "n_estimators" in model.get_params():
            model.set_params(n_estimators=100_000)  # far too many without a working limit
        start = time.perf_counter()
        model.fit(self.X, self.y, time_limit_s=_TIME_LIMIT_S)
        elapsed = time.perf_counter() - start
        self.ensure(elapsed < _TIME_LIMIT_GRACE_S, f"time_limit_s=0.01 fit took {elapsed:.1f}s")
        if hasattr(model, "n_iterations_"):
            n = model.n_iterations_
            self.ensure(n >= 1, "a time-limited fit kept no iterations")
            self.ensure(n < 100_000, "time_limit_s did not stop adding iterations")
        self.outputs(model, self.X_val)

    def weights(self) -> None:
        """Rows of weight 0 are as absent, the fit follows the weights, weights 2 are copies
        where the family says so (`weights_as_copies`), bad weights are a ConfigError."""
        n, n_val = len(self.y), len(self.y_val)
        X2, y2 = _stack(self.X, self.X), np.concatenate([self.y, self._flipped(self.y)])
        X_val2 = _stack(self.X_val, self.X_val)
        y_val2 = np.concatenate([self.y_val, self._flipped(self.y_val)])
        ones, light = np.ones(n), np.full(n, _LIGHT)
        without = self.make().fit(
            X2,
            y2,
            sample_weight=np.r_[ones, np.zeros(n)],
            X_val=X_val2,
            y_val=y_val2,
            val_weight=np.r_[np.ones(n_val), np.zeros(n_val)],
        )
        self.ensure(
            np.array_equal(
                self.outputs(without, self.X_val), self.outputs(self.with_val, self.X_val)
            ),
            "rows of weight 0 changed the fit: it must equal the fit without them",
        )
        true_heavy = self.make().fit(X2, y2, sample_weight=np.r_[ones, light])
        flipped_heavy = self.make().fit(X2, y2, sample_weight=np.r_[light, ones])
        followed, against = self._agreement(true_heavy), self._agreement(flipped_heavy)
        margin = _FOLLOWS_ACCURACY if self.task.is_classification else _FOLLOWS_R2
        self.ensure(
            followed >= against + margin,
            f"the fit does not follow the row weights: true labels weighted 1 against "
            f"{_LIGHT} scored {followed:.3f} on them, weighted {_LIGHT} against 1 {against:.3f}",
        )
        self.save_load(true_heavy)  # whatever the weights left in the model survives
        if self.model_class.weights_as_copies:
            twice = np.arange(n) % 3 == 0
            weighted = self.make().fit(self.X, self.y, sample_weight=np.where(twice, 2.0, 1.0))
            copied = self.make().fit(
                _stack(self.X, _rows(self.X, twice)), np.r_[self.y, self.y[twice]]
            )
            got, expected = self.outputs(weighted, self.X_val), self.outputs(copied, self.X_val)
            self.ensure(
                np.allclose(got, expected, rtol=0, atol=_COPIES_ATOL),
                "rows of weight 2 do not fit as two copies of them (weights_as_copies): "
                f"largest difference {np.max(np.abs(got - expected)):.2e}",
            )
        self._bad_weights()

    def _bad_weights(self) -> None:
        n = len(self.y)
        bad = {
            "a negative weight": np.r_[-1.0, np.ones(n - 1)],
            "a NaN weight": np.r_[np.nan, np.ones(n - 1)],
            "an infinite weight": np.r_[np.inf, np.ones(n - 1)],
            "one weight too few": np.ones(n - 1),
            "weights of 0 only": np.zeros(n),
            "a column of weights": np.ones((n, 1)),
        }
        for what, weight in bad.items():
            self._refused({"sample_weight": weight}, "sample_weight", what)
        wrong = {"X_val": self.X_val, "y_val": self.y_val, "val_weight": np.ones(n + 1)}
        self._refused(wrong, "val_weight", "more weights than X_val has rows")

    def _refused(self, options: dict[str, Any], argument: str, what: str) -> None:
        try:
            self.make().fit(self.X, self.y, **options)
        except ConfigError as exc:
            self.ensure(argument in str(exc), f"the error for {what} does not name {argument}")
        else:
            self.ensure(False, f"{argument} with {what} was accepted, not a ConfigError")

    def _flipped(self, y: np.ndarray) -> np.ndarray:
        """Labels moved to the next class, or targets mirrored about the training mean."""
        if self.task.is_classification:
            return (y + 1) % self.n_classes
        return 2.0 * float(np.mean(self.y)) - y

    def _agreement(self, model: Any) -> float:
        """Accuracy (R2 for regression) on the true labels of the training rows."""
        pred = model.predict(self.X)
        if self.task.is_classification:
            return float(np.mean(pred == self.y))
        return float(1.0 - np.sum((self.y - pred) ** 2) / np.sum((self.y - self.y.mean()) ** 2))

    def search_space(self) -> dict[str, Any]:
        names = set(self.make().get_params())
        for n_rows, n_features in ((len(self.y), 8), (100_000, 100)):
            space = self.model_class.search_space(n_rows, n_features, self.task)
            self.ensure(isinstance(space, dict) and space, "search_space is empty")
            for key, dist in space.items():
                self.ensure(key in names, f"search space key {key!r} is not a constructor param")
                self.ensure(isinstance(dist, Int | Float | Choice), f"{key!r} is no Distribution")
                self.ensure(dist.contains(dist.default), f"{key!r} default outside its range")
            self.ensure(from_dict(to_dict(space)) == space, "search space does not serialize")
        return space

    def configs(self) -> None:
        configs = self.model_class.default_configs(self.task)
        self.ensure(2 <= len(configs) <= 5, f"{len(configs)} default configs, expected 2-5")
        spaces = [self.model_class.search_space(n, 8, self.task) for n in (len(self.y), 100_000)]
        for config in configs:
            for space in spaces:
                for key, value in config.items():
                    self.ensure(key in space, f"default config key {key!r} not in the space")
                    self.ensure(space[key].contains(value), f"default {key}={value!r} outside")
            self.outputs(
                self.make(cap=_CONFIG_ESTIMATORS, **config).fit(self.X, self.y), self.X_val
            )
        sampled = sample(spaces[0], np.random.default_rng(0))
        self.outputs(self.make(cap=_CONFIG_ESTIMATORS, **sampled).fit(self.X, self.y), self.X_val)

    def cost(self) -> None:
        configs = [{}, *self.model_class.default_configs(self.task)]
        for config in configs:
            small = self.model_class.cost(1_000, 10, config)
            large = self.model_class.cost(100_000, 100, config)
            self.ensure(math.isfinite(small) and small > 0, f"cost {small!r} for {config}")
            self.ensure(large >= small, f"cost falls with more data for {config}")

    def save_load(self, model: Any) -> None:
        from assay.models import MODELS, load_model

        expected = self.outputs(model, self.X_val, classes=getattr(model, "classes_", None))
        with tempfile.TemporaryDirectory() as tmp:
            model.save(Path(tmp))
            files = {p.name for p in Path(tmp).iterdir()}
            self.ensure("params.json" in files, f"save wrote no params.json: {sorted(files)}")
            if model.model_ is not None:
                artifact = self.model_class.artifact_file
                self.ensure(artifact in files, f"save wrote no {artifact}: {sorted(files)}")
            loaded = [self.model_class.load(Path(tmp))]
            if MODELS.get(self.model_class.name) is self.model_class:
                loaded.append(load_model(Path(tmp)))
        for other in loaded:
            self.ensure(type(other) is self.model_class, f"load returned {type(other).__name__}")
            self.ensure(other.get_params() == model.get_params(), "load changed the params")
            got = self.outputs(other, self.X_val, classes=getattr(model, "classes_", None))
            self.ensure(np.array_equal(got, expected), "predictions changed after save and load")


def check_model(model_class: type, *, n_rows: int = 240, max_estimators: int = 60) -> None:
    """Raise AssertionError unless `model_class` honours the Model contract on every task."""
    from assay.models import Model

    if not (isinstance(model_class, type) and issubclass(model_class, Model)):
        raise AssertionError(f"{model_class!r} is not a subclass of assay.models.Model")
    for attr in ("name", "encoding", "tasks", "artifact_file"):
        if not getattr(model_class, attr, None):
            raise AssertionError(f"{model_class.__name__} does not declare `{attr}`")
    for task in sorted(model_class.tasks, key=lambda t: t.value):
        check = _Check(model_class, task, n_rows, max_estimators)
        check.params()
        check.search_space()
        check.cost()
        model = check.fit()
        check.save_load(model)
        if task.is_classification:
            check.missing_class()
        check.weights()
        check.configs()
        check.time_limit()


def _rows(X: Any, index: Any) -> Any:
    return X.iloc[index] if isinstance(X, pd.DataFrame) else X[index]


def _stack(X: Any, other: Any) -> Any:
    """X's rows, then other's (a frame's second part labelled after the first's)."""
    if isinstance(X, pd.DataFrame):
        start = int(X.index.max()) + 1 if len(X) else 0
        return pd.concat([X, other.set_axis(pd.RangeIndex(start, start + len(other)))])
    return np.concatenate([X, other])


def _copy(X: Any) -> Any:
    return X.copy(deep=True) if isinstance(X, pd.DataFrame) else np.array(X, copy=True)


def _same(X: Any, other: Any) -> bool:
    if isinstance(X, pd.DataFrame):
        return X.equals(other) and (X.dtypes == other.dtypes).all()
    return np.array_equal(X, other, equal_nan=True)

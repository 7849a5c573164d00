"""How many bagging folds a fit picks: by data size, and fewer when time is short."""

from __future__ import annotations

import numpy as np
import pandas as pd

from assay import AutoML, Task
from assay.data import prepare
from assay.features import Encoding
from assay.search import Budget
from assay.testing import toy_frame


def _dataset(n_rows: int):
    frames, y = toy_frame(Task.REGRESSION, n_rows, seed=0)
    return prepare(frames[Encoding.NATIVE].assign(target=y), "target")


def test_a_short_budget_on_mid_size_data_fits_fewer_folds() -> None:
    automl = AutoML(time_limit_s=10, store=False)
    dataset = _dataset(12_000)
    models = {n: c for n, c in automl.chosen_models().items() if dataset.task in c.tasks}
    short = automl._auto_folds(dataset, 0, models, Budget(10))
    long = automl._auto_folds(dataset, 0, models, Budget(36_000))
    untimed = automl._auto_folds(dataset, 0, models, Budget(float("inf")))
    assert (short, long, untimed) == (3, 8, 8)


def test_many_classes_make_the_portfolio_dearer_and_the_folds_fewer() -> None:
    """Boosters grow a tree per class and round: at 60 s, 1,500 rows of 26 classes take 3
    folds (the head-cost guard) where the same rows of 2 classes take 8 (the rows rule)."""
    automl = AutoML(time_limit_s=60, store=False)
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(1_500, 16)), columns=[f"x{i}" for i in range(16)])
    folds = {}
    for n_classes in (2, 26):
        labels = [f"c{i}" for i in rng.integers(0, n_classes, len(X))]
        dataset = prepare(X.assign(target=labels), "target")
        models = {n: c for n, c in automl.chosen_models().items() if dataset.task in c.tasks}
        folds[n_classes] = automl._auto_folds(dataset, n_classes, models, Budget(60))
    assert folds == {2: 8, 26: 3}


def test_a_rare_class_keeps_the_folds_of_the_data_size_and_is_predicted() -> None:
    """A class of 3 rows among 600 used to cut the whole fit to 3 folds (and a class of one
    row to 2, without stacking); the folds now follow the data size, each fold model still
    learns from 2 or 3 of the rare rows, and the predictor gives the class a probability."""
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(603, 4)), columns=["a", "b", "c", "d"])
    labels = np.where(X["a"] > 0, "up", "down").astype(object)
    labels[-3:] = "rare"
    X.loc[X.index[-3:], "b"] = 6.0  # the rare rows stand apart on b
    automl = AutoML(time_limit_s=20, store=False, random_state=0)
    automl.fit(X.assign(target=labels), target="target")
    assert automl.predictor_.info["validation"].startswith("8-fold")
    proba = automl.predictor_.predict_proba(X.tail(3))
    assert list(proba.columns) == ["down", "rare", "up"]
    assert (proba["rare"] > 0).all()
    assert np.isfinite(automl.oof_).all()

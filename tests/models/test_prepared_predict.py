"""`Model.prepare` + `predict_prepared` give exactly what `predict_proba` / `predict` give,
for every family, and one fold model's prepared input serves the other folds of a config."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from assay import FeatureType, Task
from assay.features import TabularEncoder
from assay.models import MODELS

TYPES = {
    "x": FeatureType.NUMERIC,
    "n": FeatureType.NUMERIC,
    "color": FeatureType.CATEGORICAL,
    "flag": FeatureType.BOOLEAN,
    "day": FeatureType.DATETIME,
}


def frame(n_rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n_rows)
    return pd.DataFrame(
        {
            "x": np.where(rng.random(n_rows) < 0.15, np.nan, x),
            "n": rng.integers(0, 50, n_rows),
            "color": rng.choice(["red", "green", "blue", "violet", None], n_rows),
            "flag": rng.choice(["yes", "no", None], n_rows),
            "day": rng.choice(["2024-01-03", "2024-06-30 12:00", None, "2025-02-11"], n_rows),
        }
    )


def target(X: pd.DataFrame, task: Task, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    colors = X["color"].map({"red": 1.5, "green": -1.0, "blue": 0.5}).fillna(0).to_numpy()
    score = np.nan_to_num(X["x"].to_numpy()) + colors - (X["flag"] == "no").to_numpy()
    score = score + 0.5 * rng.normal(size=len(X))
    if task is Task.REGRESSION:
        return score * 10 + 3
    edges = [0.0] if task is Task.BINARY else [-0.5, 0.7]
    return np.digitize(score, edges)


def small(model):
    """Few trees, rounds or epochs; leaves and category groups small enough that the
    boosters split on the categorical column of a few hundred rows."""
    params = model.get_params()
    for name, value in [
        ("n_estimators", 25),
        ("min_child_samples", 5),
        ("min_data_per_group", 5),
        ("min_child_weight", 0.5),
    ]:
        if name in params:
            model.set_params(**{name: value})
    return model


def raw(model, X, task: Task) -> np.ndarray:
    return model.predict_proba(X) if task.is_classification else model.predict(X)


@pytest.mark.parametrize("task", [Task.BINARY, Task.MULTICLASS, Task.REGRESSION])
@pytest.mark.parametrize("name", sorted(n for n, c in MODELS.items() if c.kind is None))
def test_prepared_input_predicts_the_same_and_is_shared_across_folds(name, task):
    model_class = MODELS[name]
    if task not in model_class.tasks:
        pytest.skip(f"{name} does not do {task.value}")
    train = frame(400, seed=0)
    y = target(train, task, seed=0)
    encoder = TabularEncoder(model_class.encoding, TYPES).fit(train)
    E = encoder.transform(train)
    halves = [np.arange(0, 300), np.arange(100, 400)]  # two "folds" sharing one encoder
    models = []
    for i, rows in enumerate(halves):
        part = E.iloc[rows] if isinstance(E, pd.DataFrame) else E[rows]
        model = small(model_class(task=task, n_jobs=1, random_state=i))
        models.append(model.fit(part, y[rows]))
    new = frame(60, seed=1)
    new.loc[0, "color"] = "never seen"
    new.loc[1, ["x", "color", "flag", "day"]] = [np.nan, None, None, None]
    for rows in ([0], [1], [2, 3, 4], list(range(60))):
        X = encoder.transform(new.iloc[rows])
        data = models[0].prepare(X)
        for model in models:  # the second fold model predicts from the first one's input
            expected = raw(model, X, task)
            got = model.predict_prepared(data)
            assert got.dtype == np.float64 and got.shape == expected.shape
            np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("name", ["lightgbm", "catboost", "xgboost", "linear"])
def test_a_fold_that_saw_one_class_predicts_it_from_prepared_input(name):
    train = frame(40, seed=2)
    encoder = TabularEncoder(MODELS[name].encoding, TYPES).fit(train)
    X = encoder.transform(train)
    model = small(MODELS[name](task=Task.BINARY, n_jobs=1)).fit(X, np.ones(40, dtype=int))
    got = model.predict_prepared(model.prepare(encoder.transform(train.iloc[:3])))
    np.testing.assert_array_equal(got, np.ones((3, 1)))


def test_catboost_prepares_large_inputs_through_the_frame_with_the_same_values():
    """Above a million cells CatBoost's input is built from the frame, below from an object
    array; a row predicts the same either way."""
    rng = np.random.default_rng(3)
    n_rows, n_numeric = 2_100, 480
    wide = pd.DataFrame(
        rng.normal(size=(n_rows, n_numeric)), columns=[f"v{i}" for i in range(n_numeric)]
    )
    wide.iloc[::7, 3] = np.nan
    wide["color"] = rng.choice(["red", "green", None], n_rows)
    types = {c: FeatureType.NUMERIC for c in wide.columns[:-1]} | {"color": FeatureType.CATEGORICAL}
    y = (wide["v0"].fillna(0) + (wide["color"] == "red") > 0.5).astype(int).to_numpy()
    encoder = TabularEncoder(MODELS["catboost"].encoding, types).fit(wide)
    E = encoder.transform(wide)
    assert E.size > 1_000_000
    model = small(MODELS["catboost"](task=Task.BINARY, n_jobs=1)).fit(E.iloc[:300], y[:300])
    whole = model.predict_prepared(model.prepare(E))
    np.testing.assert_array_equal(whole, model.predict_proba(E))
    for i in (0, 7, 2_099):
        row = model.predict_prepared(model.prepare(E.iloc[[i]]))
        np.testing.assert_array_equal(row, whole[[i]])

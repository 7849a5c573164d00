"""A predictor's predictions through its shared, prepared inputs are those of the frame path
(`predict_bagged`: every fold encoder and model on its own, as cross-validation predicts),
for single rows and batches, and derived text features are computed once per call."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from assay import Predictor, Task
from assay.automl import AutoML
from assay.data import check_predict_frame
from assay.evaluate import predict_bagged
from assay.features import DerivedFeatures

FAMILIES = ["lightgbm", "catboost", "xgboost", "linear", "random_forest"]
_GOOD, _BAD = ["great", "lovely", "superb"], ["awful", "poor", "broken"]
_FILL = ["the", "box", "arrived", "on", "time", "and", "it", "was", "quite", "simply"]


def table(n_rows: int, task: Task, seed: int) -> pd.DataFrame:
    """Numeric (with gaps), integer, categorical (with gaps), boolean, date and text."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n_rows)
    color = rng.choice(["red", "green", "blue", "grey"], n_rows)
    mood = rng.integers(0, 2, n_rows)
    notes = [" ".join([*rng.choice(_FILL, 5), rng.choice(_GOOD if m else _BAD)]) for m in mood]
    score = x + (color == "red") - 0.8 * (color == "blue") + 1.2 * mood
    score = score + 0.3 * rng.normal(size=n_rows)
    frame = pd.DataFrame(
        {
            "x": np.where(rng.random(n_rows) < 0.1, np.nan, x),
            "count": rng.integers(0, 30, n_rows),
            "color": np.where(rng.random(n_rows) < 0.1, None, color),
            "member": rng.choice(["yes", "no"], n_rows),
            "joined": rng.choice(["2023-05-01", "2024-02-29 08:30", "2024-12-24"], n_rows),
            "note": notes,
        }
    )
    if task is Task.REGRESSION:
        frame["y"] = 10 * score
    else:
        edges = [0.6] if task is Task.BINARY else [0.0, 1.2]
        frame["y"] = np.array(["low", "mid", "high"])[np.digitize(score, edges)]
    return frame


def small_configs(task: Task) -> list[dict]:
    """Two quick configs per family (two members of a family share their encoders' output)."""
    boosters = {"n_estimators": 30, "learning_rate": 0.2}
    linear = (
        [{"C": 1.0}, {"C": 0.1}] if task.is_classification else [{"alpha": 1.0}, {"alpha": 9.0}]
    )
    configs = {
        "lightgbm": [
            {**boosters, "num_leaves": 15, "min_child_samples": 5, "min_data_per_group": 5},
            {**boosters, "num_leaves": 4, "min_child_samples": 10, "min_data_per_group": 10},
        ],
        "catboost": [{**boosters, "depth": 4}, {**boosters, "depth": 2}],
        "xgboost": [{**boosters, "max_depth": 4}, {**boosters, "max_depth": 2}],
        "linear": linear,
        "random_forest": [{"n_estimators": 30}, {"n_estimators": 20, "min_samples_leaf": 4}],
    }
    return [
        {"model": f, "config": c}
        for pair in zip(*configs.values(), strict=True)
        for f, c in zip(configs, pair, strict=True)
    ]


def fit(train, task: Task, families: list[str], portfolio: Path) -> Predictor:
    automl = AutoML(
        task=task,
        n_trials=2 * len(families),
        n_folds=3,
        n_jobs=1,  # one thread: two spin-wait far longer on a busy machine
        models=families,
        portfolio=str(portfolio),
        stack="off",
        embed=False,
        store=False,
        random_state=0,
    )
    return automl.fit(train, "y").predictor_


@pytest.fixture(scope="module", params=[Task.BINARY, Task.MULTICLASS, Task.REGRESSION])
def fitted(request, tmp_path_factory):
    """(task, an ensemble over the families, a predictor of two configs for each family
    the ensemble left out, rows to predict)."""
    task = request.param
    pool = "classification" if task.is_classification else "regression"
    portfolio = tmp_path_factory.mktemp("portfolio") / "small.json"
    portfolio.write_text(json.dumps({pool: small_configs(task)}))
    train = table(300, task, seed=0)
    ensemble = fit(train, task, FAMILIES, portfolio)
    chosen = {m.model for m in ensemble.members}
    alone = {f: fit(train, task, [f], portfolio) for f in FAMILIES if f not in chosen}
    new = table(40, task, seed=1).drop(columns="y")
    new.loc[0, "color"] = "a colour never seen"
    new.loc[1, ["x", "color", "member", "joined"]] = [np.nan, None, None, None]
    new.loc[2, "note"] = ""
    return task, ensemble, alone, new


def frame_path(predictor: Predictor, members, rows: pd.DataFrame) -> np.ndarray:
    """The weighted sum of every member's predict_bagged on the derived table, tempered
    as the predictor's calibration says (one part)."""
    X = check_predict_frame(rows, predictor.schema)
    if predictor.derived is not None:
        X = pd.concat([X, predictor.derived.transform(X)], axis=1)
    n_classes = len(predictor.classes) if predictor.classes is not None else 0
    raws = [
        m.weight * predict_bagged(m.encoders, m.models, X, predictor.task, n_classes)
        for m in members
        if m.weight > 0
    ]
    total = sum(raws[1:], raws[0])
    if predictor.task.is_classification and len(members) == len(predictor.members):
        from assay.ensemble import tempered

        total = tempered(total, predictor.temperatures[0])
    return total


def predicted(predictor: Predictor, rows: pd.DataFrame) -> np.ndarray:
    if predictor.task.is_classification:
        return predictor.predict_proba(rows).to_numpy()
    return predictor.predict(rows)


def batches(new: pd.DataFrame) -> list[pd.DataFrame]:
    return [new.iloc[[0]], new.iloc[[1]], new.iloc[[2]], new.iloc[3:8], new]


def test_every_family_and_member_predicts_as_the_frame_path(fitted):
    _, ensemble, alone, new = fitted
    predictors = [ensemble, *alone.values()]
    assert {m.model for p in predictors for m in p.members} == set(FAMILIES)
    for predictor in predictors:
        assert predictor.derived is not None and predictor.derived.text_columns == ["note"]
        for member in predictor.members:  # each alone, with weight 1
            # a forest per fold would be three; scored out of bag, one on all rows
            folds = 1 if member.model in ("random_forest", "extra_trees") else 3
            assert member.level == 1 and len(member.models) == folds
            single = Predictor(
                task=predictor.task,
                target=predictor.target,
                metric=predictor.metric,
                schema=predictor.schema,
                classes=predictor.classes,
                members=[replace(member, weight=1.0)],
                leaderboard=predictor.leaderboard(),
                derived=predictor.derived,
            )
            for rows in batches(new):
                expected = frame_path(single, single.members, rows)
                np.testing.assert_allclose(predicted(single, rows), expected, rtol=1e-9, atol=0)


def test_the_ensemble_predicts_as_the_frame_path_row_by_row_and_in_batches(fitted):
    task, predictor, _, new = fitted
    assert len(predictor.members) >= 2
    whole = predicted(predictor, new)
    np.testing.assert_allclose(whole, frame_path(predictor, predictor.members, new), rtol=1e-9)
    for i in range(len(new)):  # a single row gives what the same row gives in a batch
        np.testing.assert_allclose(predicted(predictor, new.iloc[[i]]), whole[[i]], rtol=1e-9)
    if task.is_classification:
        labels = predictor.predict(new)
        assert (labels == predictor.classes_[np.argmax(whole, axis=1)]).all()


class CountingDerived(DerivedFeatures):
    """The fitted derived features, counting the calls of `transform`."""

    n_calls = 0

    def transform(self, X, progress=None):
        self.n_calls += 1
        return super().transform(X, progress)


def test_text_features_are_computed_once_per_prediction(fitted):
    _, predictor, _, new = fitted
    before = predicted(predictor, new.iloc[:5])
    counting = CountingDerived.__new__(CountingDerived)
    counting.__dict__.update(vars(predictor.derived))
    n_fold_models = sum(len(m.models) for m in predictor.members)
    assert n_fold_models >= 6  # what a transform per fold model would have cost
    original = predictor.derived
    predictor.derived = counting
    try:
        np.testing.assert_array_equal(predicted(predictor, new.iloc[:5]), before)
        assert counting.n_calls == 1
        predictor.predict(new.iloc[[3]])
        assert counting.n_calls == 2
        predictor.predictions_frame(new)
        assert counting.n_calls == 3
    finally:
        predictor.derived = original

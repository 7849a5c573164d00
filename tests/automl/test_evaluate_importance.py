"""A fitted model scored and explained on labelled rows, as AutoGluon users expect:
`evaluate` gives every metric of the task, `feature_importance` permutation importance
with intervals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import mean_absolute_error, mean_squared_error

from assay import AutoML
from assay.data import read_table
from assay.errors import ConfigError, DataError


@pytest.fixture(scope="module")
def flowers():
    """Iris with a column of noise; the first 120 rows (shuffled) to fit, the rest to score."""
    frame = read_table("builtin:iris").sample(frac=1.0, random_state=0).reset_index(drop=True)
    frame["noise"] = np.random.default_rng(0).normal(size=len(frame))
    automl = AutoML(n_trials=2, models=["linear"], store=False).fit(frame.head(120), "target")
    return automl, frame.tail(30)


def test_evaluate_gives_every_metric_of_the_task_on_labelled_rows(flowers):
    automl, held_out = flowers
    scores = automl.evaluate(held_out)
    assert set(scores) == {"auc", "logloss", "accuracy", "f1", "balanced_accuracy"}
    truth = held_out["target"].to_numpy()
    assert scores["accuracy"] == pytest.approx(np.mean(automl.predict(held_out) == truth))
    proba = automl.predict_proba(held_out).to_numpy()
    classes = list(automl.predictor_.classes)
    picked = proba[np.arange(len(truth)), [classes.index(t) for t in truth]]
    assert scores["logloss"] == pytest.approx(-np.mean(np.log(picked)), rel=1e-6)
    assert automl.predictor_.evaluate(held_out, metrics=["accuracy"]) == {
        "accuracy": scores["accuracy"]
    }


def test_evaluate_says_what_is_missing_or_wrong(flowers):
    automl, held_out = flowers
    with pytest.raises(DataError, match=r"'target'.*evaluating"):
        automl.evaluate(held_out.drop(columns=["target"]))
    with pytest.raises(ConfigError, match="rmse"):
        automl.evaluate(held_out, metrics=["rmse"])


def test_evaluate_a_regression():
    frame = read_table("builtin:diabetes")
    automl = AutoML(n_trials=1, models=["linear"], store=False).fit(frame.head(350), "target")
    held_out = frame.tail(92)
    scores = automl.evaluate(held_out)
    assert set(scores) == {"rmse", "mae", "r2"}
    predicted, truth = automl.predict(held_out), held_out["target"].to_numpy()
    assert scores["rmse"] == pytest.approx(np.sqrt(mean_squared_error(truth, predicted)))
    assert scores["mae"] == pytest.approx(mean_absolute_error(truth, predicted))


def test_feature_importance_puts_the_petals_above_the_noise(flowers):
    automl, held_out = flowers
    table = automl.feature_importance(held_out, n_repeats=3)
    assert list(table.columns) == ["feature", "importance", "ci_low", "ci_high", "p_value"]
    assert table["importance"].is_monotonic_decreasing
    rank = {feature: i for i, feature in enumerate(table["feature"])}
    petals = [c for c in rank if c.startswith("petal")]
    assert petals and all(rank[c] < rank["noise"] for c in petals)
    assert (table["ci_low"] <= table["ci_high"]).all()
    assert isinstance(table, pd.DataFrame) and table.attrs["metric"] == "logloss"

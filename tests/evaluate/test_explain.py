"""Explaining a fitted predictor on held-out rows: permutation importance with confidence
intervals, TreeSHAP from the boosters themselves, partial dependence, and the comparison
of two predictors."""

import numpy as np
import pandas as pd
import pytest

from assay import AutoML
from assay.automl import compare_predictors
from assay.errors import ConfigError, DataError
from assay.evaluate import partial_dependence, permutation_importance, tree_shap


def _rows(n, seed):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "strong": rng.normal(size=n),
            "weak": rng.normal(size=n),
            "noise": rng.normal(size=n),
            "color": rng.choice(["red", "green", "blue"], n),
        }
    )
    logit = 3 * frame.strong + 0.7 * frame.weak + np.where(frame.color == "red", 1.0, 0.0)
    frame["y"] = np.where(rng.random(n) < 1 / (1 + np.exp(-logit)), "yes", "no")
    return frame


@pytest.fixture(scope="module")
def train():
    return _rows(800, 0)


@pytest.fixture(scope="module")
def held_out():
    return _rows(600, 1)


@pytest.fixture(scope="module")
def boosted(train):
    return (
        AutoML(n_trials=1, models=["lightgbm"], store=False, n_folds=4)
        .fit(train, target="y")
        .predictor_
    )


@pytest.fixture(scope="module")
def linear(train):
    return (
        AutoML(n_trials=1, models=["linear"], store=False, n_folds=4)
        .fit(train, target="y")
        .predictor_
    )


def test_permutation_importance_ranks_the_signal_and_its_ci_excludes_zero(boosted, held_out):
    table = permutation_importance(boosted, held_out, n_repeats=3, n_boot=200)
    assert list(table.columns) == ["feature", "importance", "ci_low", "ci_high", "p_value"]
    assert table.feature.iloc[0] == "strong"
    by_name = table.set_index("feature")
    assert by_name.loc["strong", "ci_low"] > 0 and by_name.loc["strong", "p_value"] < 0.01
    assert by_name.loc["noise", "ci_low"] < 0.005  # no real effect: the CI reaches zero
    assert by_name.loc["strong", "importance"] > 5 * abs(by_name.loc["noise", "importance"])
    assert (table.ci_low <= table.importance + 1e-12).all()
    assert (table.importance <= table.ci_high + 1e-12).all()
    assert table.attrs["metric"] == "auc" and table.attrs["n_rows"] == 600


def test_tree_shap_is_locally_exact_and_finds_the_signal(boosted, held_out):
    shap = tree_shap(boosted, held_out, max_rows=200)
    assert shap.values.shape == (200, 1, 4) and shap.outputs == ["yes"]
    assert shap.importance().feature.iloc[0] == "strong"
    # local accuracy: contributions + expected value = the members' mean log-odds
    member = boosted.members[0]
    rows = shap.rows
    margins = []
    for encoder, model in zip(member.encoders, member.models, strict=True):
        p = model._predict_raw(encoder.transform(rows))[:, 1]
        margins.append(np.log(p / (1 - p)))
    np.testing.assert_allclose(
        shap.values.sum(axis=2)[:, 0] + shap.expected[0], np.mean(margins, axis=0), atol=1e-6
    )
    # a higher 'strong' pushes towards 'yes'
    assert np.corrcoef(rows.strong, shap.values[:, 0, 0])[0, 1] > 0.8


def test_tree_shap_needs_a_tree_member(linear, held_out):
    with pytest.raises(ConfigError, match="LightGBM, XGBoost or CatBoost"):
        tree_shap(linear, held_out)


def test_partial_dependence_follows_the_effect(boosted, held_out):
    curve = partial_dependence(boosted, held_out, "strong", grid_size=10)
    assert curve.outputs == ["P(yes)"] and curve.mean.shape == (10, 1)
    assert curve.mean[-1, 0] - curve.mean[0, 0] > 0.5
    assert curve.ice.shape == (300, 10)
    np.testing.assert_allclose(curve.ice.mean(axis=0), curve.mean[:, 0])
    colors = partial_dependence(boosted, held_out, "color").to_frame().set_index("color")
    assert set(colors.index) == {"red", "green", "blue"}
    assert colors.loc["red", "P(yes)"] > colors.loc["blue", "P(yes)"]


def test_explaining_needs_the_target_and_known_features(boosted, held_out):
    with pytest.raises(DataError, match="'y'"):
        permutation_importance(boosted, held_out.drop(columns="y"))
    with pytest.raises(ConfigError, match="not an input"):
        partial_dependence(boosted, held_out, "nope")
    bad = held_out.assign(y=held_out.y.replace({"yes": "maybe"}))
    with pytest.raises(DataError, match="maybe"):
        permutation_importance(boosted, bad)


def test_compare_a_predictor_with_itself_and_with_a_weaker_one(boosted, train, held_out):
    same = compare_predictors(boosted, boosted, held_out, refit=False, n_boot=200)
    assert same["held_out"].diff == 0 and same["held_out"].p_value == 1.0
    assert same["folds"].ttest.p_value == 1.0
    # trained on a shuffled 'strong': the same recipe, a much worse artifact
    shuffled = train.assign(strong=np.random.default_rng(9).permutation(train.strong.to_numpy()))
    weak = (
        AutoML(n_trials=1, models=["lightgbm"], store=False, n_folds=4)
        .fit(shuffled, target="y")
        .predictor_
    )
    fixed = compare_predictors(boosted, weak, held_out, refit=False, n_folds=5, n_boot=300)
    assert fixed["score_a"] > fixed["score_b"] + 0.1
    assert fixed["held_out"].ci_low > 0 and fixed["held_out"].p_value < 0.01
    assert fixed["folds"].a_is_better and fixed["folds"].ttest.p_value < 0.01
    # retrained on the same folds of the held-out rows, the two recipes are alike
    refit = compare_predictors(boosted, weak, held_out, refit=True, n_folds=4, n_boot=100)
    assert refit["refit"] and refit["folds"].n_folds == 4
    assert abs(refit["folds"].ttest.mean_diff) < 0.05


def test_compare_refuses_predictors_of_different_targets(boosted, train, held_out):
    other = (
        AutoML(n_trials=1, models=["linear"], store=False, n_folds=3)
        .fit(train.rename(columns={"y": "label"}), target="label")
        .predictor_
    )
    with pytest.raises(ConfigError, match="different questions"):
        compare_predictors(boosted, other, held_out)


@pytest.mark.parametrize("name", ["lightgbm", "xgboost", "catboost"])
@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_booster_treeshap_equals_the_shap_package(name, task):
    pytest.importorskip("shap", reason="the shap package is the `explain` extra")
    from assay import Task
    from assay.evaluate._shap import _contributions
    from assay.models import MODELS

    rng = np.random.default_rng(0)
    X = pd.DataFrame(
        {
            "a": rng.normal(size=300),
            "b": rng.normal(size=300),
            "c": pd.Categorical(rng.choice(["x", "y", "z"], 300)),
        }
    )
    y = {
        "binary": (X.a + rng.normal(size=300) > 0).astype(int).to_numpy(),
        "multiclass": rng.integers(0, 3, 300),
        "regression": 2 * X.a.to_numpy() + (X.c == "x"),
    }[task]
    model = MODELS[name](task=Task(task), n_estimators=20, n_jobs=1).fit(X, y)
    own, package = _contributions(model, X, "booster"), _contributions(model, X, "shap")
    assert own.shape == package.shape == (300, 3 if task == "multiclass" else 1, 4)
    np.testing.assert_allclose(own, package, atol=1e-5)

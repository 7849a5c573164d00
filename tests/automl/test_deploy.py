"""Fast deployment: the ensemble's configs refitted once on all rows."""

import numpy as np
import pandas as pd
import pytest

import assay
from assay import AutoML
from assay.automl._refit import REFIT_FROM_ROWS, deploy_for
from assay.data import read_table
from assay.errors import ConfigError

MODELS = ["lightgbm", "linear", "extra_trees"]


@pytest.fixture(scope="module")
def fits():
    data = read_table("builtin:breast_cancer")
    # forests per fold too, so that every member has fold models to refit
    same = {"models": MODELS, "n_trials": 3, "stack": "off", "forests": "folds", "store": False}
    bagged = AutoML(**same).fit(data, target="target")
    fast = AutoML(deploy="fast", **same)
    return data, bagged, fast.fit(data, target="target")


def test_fast_deploy_keeps_one_model_per_member(fits):
    _, bagged, fast = fits
    assert all(len(m.models) > 1 for m in bagged.predictor_.members)
    assert all(len(m.models) == 1 for m in fast.predictor_.members)
    assert fast.predictor_.info["n_refit"] == len(fast.predictor_.members)
    chosen = [m.model for m in bagged.predictor_.members]
    assert [m.model for m in fast.predictor_.members] == chosen  # same ensemble, refitted


def test_refit_predictor_agrees_with_the_bagged_one(fits):
    data, bagged, fast = fits
    p_bagged, p_fast = bagged.predict_proba(data), fast.predict_proba(data)
    assert np.abs(p_bagged.to_numpy() - p_fast.to_numpy()).mean() < 0.03
    assert (bagged.predict(data) == fast.predict(data)).mean() > 0.97


def test_refit_predictor_is_smaller_and_round_trips(fits, tmp_path):
    data, bagged, fast = fits
    sizes = {}
    for name, automl in (("bagged", bagged), ("fast", fast)):
        path = automl.save(tmp_path / name)
        sizes[name] = sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
    assert sizes["fast"] < sizes["bagged"] / 2
    loaded = assay.load(tmp_path / "fast")
    np.testing.assert_array_equal(loaded.predict_proba(data), fast.predict_proba(data))


def test_unknown_deploy_mode_is_named():
    with pytest.raises(ConfigError, match="deploy='quick'"):
        AutoML(deploy="quick", store=False).fit(read_table("builtin:iris"), target="target")


def test_a_knn_member_is_one_model_on_all_rows_in_a_bagged_fit(tmp_path):
    """kNN's fit only keeps the rows: a default (bagged) fit replaces its fold models by
    one on all rows, which predicts each row once instead of once a fold; the other
    members keep their fold models, and the saved predictor predicts the same."""
    data = read_table("builtin:breast_cancer")
    automl = AutoML(models=["knn", "linear"], n_trials=4, stack="off", store=False)
    automl.fit(data, target="target")
    members = automl.predictor_.members
    knn = [m for m in members if m.model == "knn"]
    others = [m for m in members if m.model != "knn"]
    assert knn and others, "both families should be in this ensemble"
    for member in knn:
        (model,) = member.models
        assert model.model_.n_samples_fit_ == len(data)
    assert all(len(m.models) == automl.predictor_.info["n_folds"] > 1 for m in others)
    assert automl.predictor_.info["n_refit"] == len(knn)
    loaded = assay.load(automl.save(tmp_path / "model"))
    np.testing.assert_array_equal(loaded.predict_proba(data), automl.predict_proba(data))


def test_auto_deploy_refits_from_the_learned_row_count_and_bags_below_it():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(REFIT_FROM_ROWS, 4))
    frame = pd.DataFrame(X, columns=list("abcd"))
    frame["target"] = (X[:, 0] + rng.normal(size=len(X)) > 0).astype(int)
    same = {"models": ["linear"], "n_trials": 1, "stack": "off", "store": False}
    large = AutoML(**same).fit(frame, target="target")  # deploy="auto", the default
    small = AutoML(**same).fit(frame.iloc[:-1], target="target")
    assert large.deploy_ == "fast" and large.predictor_.info["deploy"] == "fast"
    assert all(len(m.models) == 1 for m in large.predictor_.members)
    assert small.deploy_ == "bagged" and small.predictor_.info["deploy"] == "bagged"
    assert all(len(m.models) == small.predictor_.info["n_folds"] for m in small.predictor_.members)


def test_auto_deploy_bags_images_and_sound_unless_grouped_and_keeps_a_mode_given():
    assert deploy_for("auto", 10 * REFIT_FROM_ROWS, has_media=True) == "bagged"
    # grouped: fold models never saw their fold's groups; the refit sees them all
    assert deploy_for("auto", 100, has_media=True, grouped=True) == "fast"
    assert deploy_for("auto", 100, has_media=False, grouped=True) == "bagged"
    assert deploy_for("bagged", 10 * REFIT_FROM_ROWS, has_media=False) == "bagged"
    assert deploy_for("fast", 100, has_media=True) == "fast"

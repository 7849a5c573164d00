"""A fit as a data scientist shapes it: row weights, a time split or any scikit-learn
splitter, a custom metric, and `refit_full` after a bagged fit; in Python and on the
command line."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GroupKFold, KFold, TimeSeriesSplit

from assay import AutoML, ConfigError, DataError, make_metric
from assay.evaluate._splits import splitter_folds, time_folds

FAST = {
    "models": ["lightgbm", "linear"],
    "n_trials": 2,
    "n_folds": 3,
    "verbosity": 0,
    "stack": "off",
}


def _mislabelled_half(n: int = 400, seed: int = 0) -> pd.DataFrame:
    """Each row twice: once with its true label (weight 1), once flipped (weight 0)."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(n, 3)), columns=["a", "b", "c"])
    label = np.where(X["a"] + 0.5 * X["b"] > 0, "yes", "no")
    true = X.assign(y=label, w=1.0)
    flipped = X.assign(y=np.where(label == "yes", "no", "yes"), w=0.0)
    return pd.concat([true, flipped], ignore_index=True)


def test_zero_weight_rows_do_not_teach_and_the_weight_is_not_a_feature():
    frame = _mislabelled_half()
    fresh = _mislabelled_half(seed=1).query("w == 1")
    truth = (fresh["y"] == "yes").to_numpy()
    weighted = AutoML(store=False, **FAST).fit(frame, target="y", sample_weight="w")
    unweighted = AutoML(store=False, **FAST).fit(frame.drop(columns="w"), target="y")
    auc_weighted = roc_auc_score(truth, weighted.predict_proba(fresh)["yes"])
    auc_unweighted = roc_auc_score(truth, unweighted.predict_proba(fresh)["yes"])
    assert auc_weighted > 0.95 and auc_unweighted < 0.8
    assert "w" not in weighted.predictor_.schema.features
    assert weighted.predictor_.info["ensemble_score"] > 0.95  # scored without the 0 rows
    assert "rows weighted by sample_weight 'w'" in weighted.predictor_.info["validation"]
    as_values = AutoML(store=False, **FAST).fit(
        frame.drop(columns="w"), target="y", sample_weight=frame["w"].to_numpy()
    )
    assert as_values.predictor_.info["ensemble_score"] > 0.95


def test_bad_weights_name_the_argument():
    frame = _mislabelled_half(50)
    automl = AutoML(store=False, **FAST)
    with pytest.raises(ConfigError, match="sample_weight='weight' is not a column"):
        automl.fit(frame, target="y", sample_weight="weight")
    with pytest.raises(DataError, match="not a finite number >= 0"):
        automl.fit(frame.assign(w=-1.0), target="y", sample_weight="w")
    with pytest.raises(DataError, match="zero on every row"):
        automl.fit(frame.assign(w=0.0), target="y", sample_weight="w")
    with pytest.raises(ConfigError, match="has 3 values"):
        automl.fit(frame, target="y", sample_weight=[1, 2, 3])


def _random_walk(n: int = 600, seed: int = 0) -> pd.DataFrame:
    """A target that drifts in time: neighbours in time are alike, the future is not."""
    rng = np.random.default_rng(seed)
    days = pd.date_range("2020-01-01", periods=n, freq="D")
    frame = pd.DataFrame({"t": np.arange(n, dtype=float), "noise": rng.normal(size=n)})
    frame["y"] = np.cumsum(rng.normal(size=n))
    frame["day"] = days.strftime("%Y-%m-%d")
    return frame.sample(frac=1.0, random_state=0).reset_index(drop=True)  # rows out of order


def test_time_folds_train_on_the_past_and_keep_equal_times_together():
    order = np.repeat(np.arange(30.0), 4)[np.random.default_rng(0).permutation(120)]
    folds = time_folds(order, 3)
    assert len(folds) == 3
    for train, valid in folds:
        assert order[train].max() < order[valid].min()
    validated = np.concatenate([valid for _, valid in folds])
    assert len(np.unique(validated)) == len(validated) < 120  # the earliest block only trains


def test_a_time_split_scores_the_future_honestly():
    """Shuffled folds let a model interpolate between yesterday and tomorrow; the time
    split scores it on days after all it learned from, as it will be used."""
    frame = _random_walk()
    options = {"models": ["lightgbm"], "n_trials": 1, "n_folds": 3, "verbosity": 0}
    shuffled = AutoML(store=False, metric="r2", **options).fit(frame, target="y")
    timed = AutoML(store=False, metric="r2", cv="time:day", **options).fit(frame, target="y")
    assert shuffled.predictor_.info["ensemble_score"] > 0.9
    assert (
        timed.predictor_.info["ensemble_score"] < shuffled.predictor_.info["ensemble_score"] - 0.3
    )
    info = timed.predictor_.info
    assert "3-fold time split by 'day'" in info["validation"]
    assert not info["stack"]["used"]
    assert "day" in timed.predictor_.schema.features  # the time stays a feature


def test_any_splitter_whose_folds_cover_every_row():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=240), "g": np.repeat(np.arange(12), 20)})
    frame["y"] = 2 * frame["x"] + rng.normal(scale=0.1, size=240)
    automl = AutoML(store=False, cv=GroupKFold(4), **FAST).fit(frame, target="y", groups="g")
    assert automl.predictor_.info["validation"].startswith("4 folds of GroupKFold")
    folds = splitter_folds(GroupKFold(4), 240, frame["y"].to_numpy(), frame["g"].to_numpy())
    for train, valid in folds:  # a group never on both sides
        assert not set(frame["g"].iloc[train]) & set(frame["g"].iloc[valid])
    fitted = AutoML(store=False, cv=KFold(3, shuffle=True, random_state=1), **FAST)
    assert fitted.fit(frame.drop(columns="g"), target="y").predictor_.info["n_folds"] == 3
    with pytest.raises(ConfigError, match="every row must be validated exactly once"):
        AutoML(store=False, cv=TimeSeriesSplit(3), **FAST).fit(frame, target="y")
    with pytest.raises(ConfigError, match="time:COL"):
        AutoML(store=False, cv="date", **FAST).fit(frame, target="y")
    with pytest.raises(ConfigError, match="'when' is not a column"):
        AutoML(store=False, cv="time:when", **FAST).fit(frame, target="y")


def test_a_custom_metric_drives_the_search_the_ensemble_and_the_leaderboard():
    frame = _mislabelled_half().query("w == 1").drop(columns="w")

    def missed_yes(y_true, y_pred):  # share of "yes" rows predicted "no"
        return float(np.mean(y_pred[y_true == "yes"] == "no"))

    metric = make_metric(missed_yes, greater_is_better=False)
    automl = AutoML(store=False, metric=metric, **FAST).fit(frame, target="y")
    board = automl.leaderboard()
    assert automl.predictor_.metric == "missed_yes"
    predicted = automl.predict(frame)
    expected = missed_yes(frame["y"].to_numpy(), predicted)
    assert 0 <= board["score"].min() < 0.2 and expected < 0.2
    assert automl.predictor_.evaluate(frame)["missed_yes"] == pytest.approx(expected)
    scorer_fit = AutoML(store=False, metric="f1_macro", **FAST).fit(frame, target="y")
    assert scorer_fit.predictor_.metric == "f1_macro"
    assert scorer_fit.predictor_.info["ensemble_score"] > 0.9


def test_refit_full_deploys_one_model_per_member_and_saves_it():
    import assay

    frame = _mislabelled_half().query("w == 1").drop(columns="w")
    automl = AutoML(**FAST).fit(frame, target="y")
    before = automl.predict_proba(frame)["yes"].to_numpy()
    assert all(len(m.models) == 3 for m in automl.predictor_.members)
    predictor = automl.refit_full()
    assert all(len(m.models) == 1 for m in predictor.members)
    assert predictor.info["deploy"] == "fast" and predictor.info["n_refit"] >= 1
    after = automl.predict_proba(frame)["yes"].to_numpy()
    assert np.corrcoef(before, after)[0, 1] > 0.95
    saved = assay.load(automl.artifact_dir_)
    assert saved.info["deploy"] == "fast"
    np.testing.assert_allclose(saved.predict_proba(frame)["yes"].to_numpy(), after)
    assert automl.refit_full() is predictor  # already deployed fast: as it is


def test_the_command_line_takes_weights_a_time_split_and_a_scorer_name(tmp_path):
    frame = _random_walk(300)
    frame["w"] = np.where(np.arange(300) % 3 == 0, 0.0, 1.0)
    frame["label"] = np.where(frame["y"] > frame["y"].median(), "up", "down")
    path = tmp_path / "walk.csv"
    frame.drop(columns="y").to_csv(path, index=False)
    args = ["fit", str(path), "--target", "label", "--weight", "w", "--split", "time:day"]
    args += ["--metric", "balanced_accuracy", "--models", "lightgbm", "--trials", "1"]
    done = subprocess.run(
        [sys.executable, "-m", "assay", *args],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "Leaderboard (balanced_accuracy" in done.stdout
    assert "time split by 'day'" in done.stdout
    assert "rows weighted by sample_weight 'w'" in done.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "assay", *args[:-4], "--metric", "nonsense", "--trials", "1"],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        timeout=300,
    )
    assert bad.returncode != 0 and "nonsense" in bad.stderr
    assert "get_scorer_names" in bad.stderr

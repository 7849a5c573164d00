import numpy as np
import pandas as pd
import pytest

import assay
from assay import AutoML
from assay.errors import ArtifactError, ConfigError, NotFittedError, SchemaMismatchError
from assay.store import open_store

FAST = ["lightgbm", "linear", "extra_trees"]


@pytest.fixture(scope="module")
def cancer():
    from assay.data import read_table

    return read_table("builtin:breast_cancer")


@pytest.fixture(scope="module")
def fitted(cancer, tmp_path_factory):
    home = tmp_path_factory.mktemp("home")
    store_url = f"sqlite:///{home / 'assay.db'}"
    return AutoML(n_trials=3, models=FAST, store=store_url).fit(cancer, target="target"), store_url


def test_binary_fit_gives_an_ensemble_that_predicts(fitted, cancer):
    automl, _ = fitted
    board = automl.leaderboard()
    assert board.model.iloc[0] == "ensemble"
    assert set(board.model.iloc[1:]) <= set(FAST) and len(board) >= 3
    assert board.weight.iloc[1:].sum() == pytest.approx(1.0)
    proba = automl.predict_proba(cancer)
    assert list(proba.columns) == ["benign", "malignant"]
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    accuracy = (automl.predict(cancer) == cancer.target).mean()
    assert accuracy > 0.95
    assert automl.predictor_.info["ensemble_score"] > 0.97  # out-of-fold AUC


def test_every_trial_is_in_the_store(fitted):
    automl, url = fitted
    store = open_store(url)
    run = store.get_run(automl.run_id_)
    trials = store.trials(automl.run_id_)
    assert run.state.value == "finished" and run.best_score > 0.97
    info = automl.predictor_.info
    assert len(trials) == info["n_trials"] + info["n_skipped"] + info["n_level2"]
    complete = [t for t in trials if t.state.value == "complete"]
    assert complete and all(len(t.fold_scores) == 8 and t.fit_time_s > 0 for t in complete)
    assert all(np.load(t.oof_path).shape == (569, 2) for t in complete)


def test_leaderboard_has_fold_spread_and_a_significance_test(fitted):
    from pathlib import Path

    from assay.evaluate import fold_scores, get_metric, make_folds

    automl, url = fitted
    board = automl.leaderboard()
    for column in ("fold_mean", "fold_std", "p_vs_top"):
        assert column in board.columns
    assert np.isnan(board.p_vs_top.iloc[0]) and board.p_vs_top.iloc[1:].between(0, 1).all()
    assert (board.fold_std.iloc[1:] > 0).all()
    # the best single model's fold mean is the mean of its trial's fold scores
    trials = open_store(url).trials(automl.run_id_)
    best = max((t for t in trials if t.score is not None), key=lambda t: t.score)
    row = board[(board.model == best.model) & (board.score == best.score)].iloc[0]
    assert row.fold_mean == pytest.approx(np.mean(best.fold_scores))
    # the ensemble's out-of-fold predictions are kept with the run, and they score as told
    folder = Path(best.oof_path).parent
    oof, y = np.load(folder / "ensemble.npy"), np.load(folder / "target.npy")
    metric = get_metric("auc", automl.predictor_.task)
    assert metric(y, oof) == pytest.approx(automl.predictor_.info["ensemble_score"])
    folds = make_folds(y, automl.predictor_.task, 8, 0)
    assert (np.load(folder / "fold_of_row.npy")[folds[3][1]] == 3).all()
    significance = automl.predictor_.info["significance"]
    assert significance["a"] == "ensemble" and significance["n_folds"] == 8
    top_scores = fold_scores(metric, y, oof, folds)
    assert board.fold_mean.iloc[0] == pytest.approx(np.mean(top_scores))
    second = board.iloc[1]
    assert significance["b"] == second.model
    p = significance["ttest"]["p_value"]
    assert p == pytest.approx(second.p_vs_top)
    assert "corrected t-test over 8 folds" in significance["sentence"]


def test_artifact_round_trip_is_identical(fitted, cancer, tmp_path):
    automl, _ = fitted
    path = automl.save(tmp_path / "predictor")
    loaded = assay.load(path)
    pd.testing.assert_frame_equal(loaded.predict_proba(cancer), automl.predict_proba(cancer))
    assert loaded.leaderboard().model.tolist() == automl.leaderboard().model.tolist()


def test_tampered_or_incomplete_artifact_is_refused(fitted, tmp_path):
    automl, _ = fitted
    path = automl.save(tmp_path / "predictor")
    model_file = next(
        p
        for p in path.rglob("*")
        if p.is_file() and p.parent.name == "model" and p.name != "params.json"
    )
    model_file.write_bytes(model_file.read_bytes() + b" ")
    with pytest.raises(ArtifactError, match="SHA-256"):
        assay.load(path)
    model_file.unlink()
    with pytest.raises(ArtifactError, match="missing"):
        assay.load(path)
    with pytest.raises(ArtifactError, match="not an assay predictor"):
        assay.load(tmp_path)


def test_predict_needs_the_fit_columns(fitted, cancer):
    automl, _ = fitted
    with pytest.raises(SchemaMismatchError, match="mean radius"):
        automl.predict(cancer.drop(columns=["mean radius"]))


def test_regression_and_multiclass(tmp_path):
    from assay.data import read_table

    diabetes = read_table("builtin:diabetes")
    reg = AutoML(n_trials=2, models=["lightgbm", "linear"], store=False)
    reg.fit(diabetes, target="target")
    assert reg.predictor_.task.value == "regression"
    assert reg.leaderboard().score.iloc[0] < diabetes.target.std()  # rmse beats the mean
    iris = read_table("builtin:iris")
    clf = AutoML(n_trials=3, models=["linear", "knn"], metric="accuracy", store=False)
    clf.fit(iris, target="target")
    assert clf.predict_proba(iris).shape == (150, 3)
    assert (clf.predict(iris) == iris.target).mean() > 0.9


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"time_limit_s": -1}, "time_limit_s=-1"),
        ({"models": ["nope"]}, "unknown \\['nope'\\]"),
        ({"n_folds": 1}, "n_folds=1"),
        ({"metric": "rmse"}, "does not apply to a binary task"),
    ],
)
def test_bad_arguments_are_named(cancer, kwargs, message):
    with pytest.raises(ConfigError, match=message):
        AutoML(store=False, **kwargs).fit(cancer, target="target")


def test_unfitted_use_is_explained():
    with pytest.raises(NotFittedError, match="not fitted"):
        AutoML().predict(pd.DataFrame({"a": [1]}))

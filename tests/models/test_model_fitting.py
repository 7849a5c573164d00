"""Fitting behaviour the orchestrator relies on: round counts, time limits, input checks."""

from __future__ import annotations

import numpy as np
import pytest

from assay import Task
from assay.errors import ConfigError, SchemaMismatchError
from assay.features import Encoding
from assay.models import (
    CatBoostModel,
    ExtraTreesModel,
    LightGBMModel,
    LinearModel,
    RandomForestModel,
    XGBoostModel,
    _forest,
)
from assay.models._boosting import depth_for, learning_rate_for, round_cap
from assay.models._forest import trees_for
from assay.testing import toy_frame

BOOSTERS = [LightGBMModel, XGBoostModel, CatBoostModel]


def _split(task: Task, encoding: Encoding, n_rows: int = 300):
    frames, y = toy_frame(task, n_rows, seed=3)
    X = frames[encoding]
    take = (lambda a, s: a.iloc[s]) if encoding is Encoding.NATIVE else (lambda a, s: a[s])
    n = 2 * n_rows // 3
    return take(X, slice(0, n)), y[:n], take(X, slice(n, None)), y[n:]


@pytest.mark.parametrize("model_class", BOOSTERS)
def test_boosters_early_stop_long_before_the_round_cap(model_class: type) -> None:
    X, y, X_val, y_val = _split(Task.BINARY, Encoding.NATIVE)
    model = model_class(task=Task.BINARY, learning_rate=0.3).fit(X, y, X_val=X_val, y_val=y_val)
    assert model.n_estimators is None  # 10000 rounds allowed, early stopping must end it
    assert 1 <= model.n_iterations_ < 500


@pytest.mark.parametrize("model_class", BOOSTERS)
def test_boosters_without_validation_run_a_rate_scaled_round_count(model_class: type) -> None:
    X, y, _, _ = _split(Task.REGRESSION, Encoding.NATIVE, n_rows=120)
    model = model_class(task=Task.REGRESSION, learning_rate=0.3).fit(X, y)
    assert model.n_iterations_ == 50  # 15 / 0.3, the documented rule
    capped = model_class(task=Task.REGRESSION, learning_rate=0.3, n_estimators=7).fit(X, y)
    assert capped.n_iterations_ == 7


def test_small_data_caps_rounds_rate_depth_and_trees() -> None:
    assert [round_cap(n) for n in (100, 500, 4_000, 20_000, 10**6)] == [
        200,
        250,
        2000,
        10_000,
        10_000,
    ]
    assert learning_rate_for(0.005, 500) == pytest.approx(8 / 250)  # raised
    assert learning_rate_for(0.1, 500) == 0.1  # a fast rate is kept
    assert learning_rate_for(0.005, 50_000) == 0.005  # big data: as configured
    assert [depth_for(10, n) for n in (50, 500, 5_000, 50_000)] == [3, 5, 8, 10]
    assert [trees_for(300, n) for n in (200, 800, 2_000)] == [100, 200, 300]


@pytest.mark.parametrize("model_class", BOOSTERS)
def test_a_slow_booster_on_small_data_stops_at_the_round_cap(model_class: type) -> None:
    # 400 training rows: a rate of 0.002 would boost for thousands of rounds uncapped
    X, y, X_val, y_val = _split(Task.BINARY, Encoding.NATIVE, n_rows=600)
    model = model_class(task=Task.BINARY, learning_rate=0.002, random_state=0)
    model.fit(X, y, X_val=X_val, y_val=y_val)
    assert 1 <= model.n_iterations_ <= round_cap(len(y)) == 200


@pytest.mark.parametrize("model_class", [RandomForestModel, ExtraTreesModel])
def test_a_forest_on_small_data_grows_fewer_trees(model_class: type) -> None:
    X, y, _, _ = _split(Task.BINARY, Encoding.ORDINAL, n_rows=600)
    assert model_class(task=Task.BINARY, n_estimators=300).fit(X, y).n_iterations_ == 100
    timed = model_class(task=Task.BINARY, n_estimators=300).fit(X, y, time_limit_s=60)
    assert timed.n_iterations_ == 100


@pytest.mark.parametrize("model_class", [RandomForestModel, ExtraTreesModel])
def test_a_forest_of_big_trees_stops_growing_at_its_size_cap(model_class, monkeypatch, tmp_path):
    monkeypatch.setattr(_forest, "FOREST_MB", 12)  # the cap scaled to a test's data
    X, y, _, _ = _split(Task.REGRESSION, Encoding.ORDINAL, n_rows=3_000)
    model = model_class(task=Task.REGRESSION, n_estimators=300).fit(X, y)
    trees = model.model_.estimators_
    size_mb = sum(tree.tree_.node_count for tree in trees) * (64 + 8) / 2**20
    assert _forest.MIN_TREES < model.n_iterations_ < 300  # 300 would be 50-80 MB
    assert 0.8 * 12 < size_mb <= 12 * 1.1
    model.save(tmp_path)
    assert sum(f.stat().st_size for f in tmp_path.iterdir()) < 12 * 1.2 * 2**20
    timed = model_class(task=Task.REGRESSION, n_estimators=300).fit(X, y, time_limit_s=60)
    assert timed.n_iterations_ == model.n_iterations_
    assert np.array_equal(timed.predict(X[:50]), model.predict(X[:50]))


@pytest.mark.parametrize("model_class", BOOSTERS)
def test_boosters_stop_at_the_time_limit(model_class: type) -> None:
    X, y, _, _ = _split(Task.MULTICLASS, Encoding.NATIVE)
    model = model_class(task=Task.MULTICLASS, n_estimators=1_000_000)
    model.fit(X, y, time_limit_s=0.3)
    assert 1 <= model.n_iterations_ < 1_000_000  # the limit, not the round cap, ended it
    assert model.predict_proba(X).shape == (len(y), 3)


@pytest.mark.parametrize("model_class", [RandomForestModel, ExtraTreesModel])
def test_forest_grown_in_chunks_equals_one_grown_at_once(model_class: type) -> None:
    X, y, X_val, _ = _split(Task.MULTICLASS, Encoding.ORDINAL)
    whole = model_class(task=Task.MULTICLASS, n_estimators=40).fit(X, y)
    chunked = model_class(task=Task.MULTICLASS, n_estimators=40).fit(X, y, time_limit_s=60)
    assert whole.n_iterations_ == chunked.n_iterations_ == 40
    assert np.array_equal(whole.predict_proba(X_val), chunked.predict_proba(X_val))


@pytest.mark.parametrize("model_class", [RandomForestModel, ExtraTreesModel])
def test_forest_predictions_do_not_depend_on_threads(model_class: type) -> None:
    """scikit-learn sums trees in thread order; the forests here must not."""
    X, y, _, _ = _split(Task.REGRESSION, Encoding.ORDINAL, n_rows=4_500)
    one = model_class(task=Task.REGRESSION, n_estimators=40, n_jobs=1).fit(X, y).predict(X)
    two = model_class(task=Task.REGRESSION, n_estimators=40, n_jobs=2).fit(X, y)
    for _ in range(3):
        assert np.array_equal(two.predict(X), one)


@pytest.mark.parametrize("model_class", [RandomForestModel, ExtraTreesModel])
def test_forest_stops_growing_when_time_runs_out(model_class: type) -> None:
    X, y, _, _ = _split(Task.REGRESSION, Encoding.ORDINAL)
    model = model_class(task=Task.REGRESSION, n_estimators=1_000_000)
    model.fit(X, y, time_limit_s=0.3)
    assert 1 <= model.n_iterations_ < 1_000_000  # the limit, not the tree count, ended it


def test_validation_rows_of_an_unseen_class_are_ignored() -> None:
    X, y, X_val, y_val = _split(Task.MULTICLASS, Encoding.NATIVE)
    keep = y != 0
    model = LightGBMModel(task=Task.MULTICLASS, n_estimators=20)
    model.fit(X.iloc[keep], y[keep], X_val=X_val, y_val=y_val)
    assert np.array_equal(model.classes_, [1, 2])
    assert model.predict_proba(X_val).shape == (len(y_val), 2)
    assert set(model.predict(X_val)) <= {1, 2}


def test_single_class_fold_predicts_that_class() -> None:
    X, y, X_val, _ = _split(Task.BINARY, Encoding.ONEHOT)
    model = LinearModel(task=Task.BINARY).fit(X[y == 1], y[y == 1])
    assert np.array_equal(model.classes_, [1])
    assert np.array_equal(model.predict_proba(X_val), np.ones((len(X_val), 1)))
    assert (model.predict(X_val) == 1).all()


def test_predict_refuses_data_encoded_differently() -> None:
    X, y, X_val, _ = _split(Task.BINARY, Encoding.NATIVE)
    model = LightGBMModel(task=Task.BINARY, n_estimators=5).fit(X, y)
    with pytest.raises(SchemaMismatchError, match="columns"):
        model.predict(X_val.rename(columns={"x0": "renamed"}))
    with pytest.raises(ConfigError, match="DataFrame"):
        model.predict(X_val.to_numpy())
    X, y, _, _ = _split(Task.REGRESSION, Encoding.ONEHOT)
    linear = LinearModel(task=Task.REGRESSION).fit(X, y)
    with pytest.raises(SchemaMismatchError, match=f"{X.shape[1]} features"):
        linear.predict(np.zeros((3, X.shape[1] + 1)))


def test_regression_models_have_no_predict_proba() -> None:
    model = LinearModel(task="regression")
    assert not hasattr(model, "predict_proba")
    assert hasattr(LinearModel(task="binary"), "predict_proba")


def test_unsupported_task_is_a_config_error() -> None:
    class RegressionOnly(LinearModel):
        tasks = frozenset({Task.REGRESSION})

    X, y, _, _ = _split(Task.BINARY, Encoding.ONEHOT)
    with pytest.raises(ConfigError, match="does not support task 'binary'"):
        RegressionOnly(task="binary").fit(X, y)


def _few_valued_regression(n_values: int, n_rows: int = 3_000):
    import pandas as pd

    rng = np.random.default_rng(0)
    X = rng.integers(0, n_values, size=(n_rows, 10)).astype(float)
    y = X @ rng.normal(size=10) + 0.5 * X[:, 0] * X[:, 1] + rng.normal(scale=0.5, size=n_rows)
    frame = pd.DataFrame(X, columns=[f"c{i}" for i in range(10)])
    n = 2 * n_rows // 3
    return frame.iloc[:n], y[:n], frame.iloc[n:], y[n:]


def test_lightgbm_extra_trees_are_off_on_columns_of_few_values() -> None:
    """LightGBM's extra trees never draw the last bin boundary: with three-valued columns
    they lose half the splits (R2 0.68 against 0.94 with all of them three-valued)."""

    def r2(model, X, y) -> float:
        return 1 - np.mean((model.predict(X) - y) ** 2) / np.var(y)

    X, y, X_test, y_test = _few_valued_regression(3)
    plain = LightGBMModel(task=Task.REGRESSION).fit(X, y)
    extra = LightGBMModel(task=Task.REGRESSION, extra_trees=True).fit(X, y)
    assert not extra.extra_trees_
    assert r2(extra, X_test, y_test) == pytest.approx(r2(plain, X_test, y_test))
    assert r2(plain, X_test, y_test) > 0.9
    X, y, _, _ = _few_valued_regression(50)  # many values: the config's extra trees stay
    assert LightGBMModel(task=Task.REGRESSION, extra_trees=True).fit(X, y).extra_trees_
    assert not LightGBMModel(task=Task.REGRESSION).fit(X, y).extra_trees_


@pytest.mark.parametrize(
    ("model_class", "option"),
    [(XGBoostModel, "colsample_bytree"), (LightGBMModel, "feature_fraction")],
)
def test_every_tree_sees_two_columns_so_an_interaction_is_learned(model_class, option) -> None:
    """XOR of two columns: a tree that sees one column at a time learns nothing."""
    import pandas as pd

    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(1_200, 2)), columns=["a", "b"])
    y = ((X.a > 0) ^ (X.b > 0)).to_numpy().astype(int)
    model = model_class(task=Task.BINARY, **{option: 0.5}).fit(X.iloc[:800], y[:800])
    accuracy = np.mean(model.predict_proba(X.iloc[800:]).argmax(axis=1) == y[800:])
    assert accuracy > 0.9  # one column per tree: about 0.5


def test_the_column_share_per_tree_keeps_two_columns() -> None:
    from assay.models._boosting import column_fraction

    assert column_fraction(0.5, 2) == 1.0
    assert int(column_fraction(0.5, 3) * 3) == 2  # XGBoost rounds down
    assert column_fraction(0.5, 40) == 0.5


def _blas_threads() -> set[int]:
    from threadpoolctl import threadpool_info

    return {lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"}


class _BlasProbe(LinearModel):
    """Records the BLAS thread counts its solver runs with."""

    def _fit(self, X, y, X_val, y_val, deadline, w, w_val):
        self.seen_fit_ = _blas_threads()
        super()._fit(X, y, X_val, y_val, deadline, w, w_val)

    def _predict_raw(self, X):
        self.seen_predict_ = _blas_threads()
        return super()._predict_raw(X)


def test_scikit_learn_solvers_run_on_one_blas_thread_and_give_the_rest_back() -> None:
    from threadpoolctl import threadpool_limits

    X, y, X_test, _ = _split(Task.MULTICLASS, Encoding.ONEHOT)
    with threadpool_limits(limits=2, user_api="blas"):  # as on a 2-core machine
        before = _blas_threads()
        model = _BlasProbe(task=Task.MULTICLASS).fit(X, y)
        model.predict_proba(X_test)
        assert model.seen_fit_ == {1} and model.seen_predict_ == {1}
        assert _blas_threads() == before == {2}

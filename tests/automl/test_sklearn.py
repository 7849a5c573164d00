import numpy as np
import pandas as pd
import polars as pl
import pytest
import scipy.sparse
from sklearn.base import clone
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.exceptions import NotFittedError as SklearnNotFittedError
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils import get_tags

from assay import AutoClassifier, AutoRegressor
from assay.errors import DataError, NotFittedError, SchemaMismatchError, TargetError


def test_classifier_in_cross_val_score_and_pipeline():
    X, y = load_breast_cancer(return_X_y=True)
    estimator = AutoClassifier(n_trials=2, models=["linear"], n_folds=3)
    params = clone(estimator).get_params()
    assert (params["n_trials"], params["models"], params["n_folds"]) == (2, ["linear"], 3)
    scores = cross_val_score(estimator, X, y, cv=3, scoring="accuracy")
    assert scores.shape == (3,) and scores.min() > 0.9
    pipeline = make_pipeline(StandardScaler(), AutoClassifier(n_trials=2, models=["linear"]))
    pipeline.fit(X, y)
    assert set(pipeline.classes_) == {0, 1}
    assert pipeline.predict_proba(X[:5]).shape == (5, 2)


def test_regressor_on_arrays_and_polars():
    X, y = load_diabetes(return_X_y=True)
    model = AutoRegressor(n_trials=2, models=["linear"]).fit(X, y)
    assert model.score(X, y) > 0.4  # R^2
    frame = pl.DataFrame({f"f{i}": X[:, i] for i in range(X.shape[1])})
    again = AutoRegressor(n_trials=2, models=["linear"]).fit(frame, y)
    assert again.score(frame, y) > 0.4
    assert np.corrcoef(again.predict(frame), model.predict(X))[0, 1] > 0.99


def test_trial_count_deploy_and_stack_reach_the_fit():
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    model = AutoClassifier(n_trials=2, models=["linear"], deploy="fast", stack="off").fit(X, y)
    info = model.automl_.predictor_.info
    assert info["n_trials"] == 2 and info["deploy"] == "fast"
    assert info["stack"]["reason"] == "stack='off'"
    assert clone(model).get_params()["n_trials"] == 2


def _frame(n_rows: int = 60) -> tuple:
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=n_rows), "b": rng.normal(size=n_rows)})
    X["city"] = rng.choice(["paris", "rome", "oslo"], size=n_rows)
    y = (X["a"] + 0.5 * X["b"] > 0).map({True: "yes", False: "no"})
    return X, y


def test_feature_names_only_from_string_columns_and_read_by_name():
    X, y = _frame()
    model = AutoClassifier(n_trials=1, models=["linear"], verbosity=0).fit(X, y)
    assert list(model.feature_names_in_) == ["a", "b", "city"] and model.n_features_in_ == 3
    assert list(model.classes_) == ["no", "yes"]
    shuffled = X[["city", "b", "a"]].assign(extra=1.0)  # by name: order and extras don't matter
    assert (model.predict(shuffled) == model.predict(X)).all()
    with pytest.raises(SchemaMismatchError, match="'city'"):
        model.predict(X[["a", "b"]])
    with pytest.warns(UserWarning, match="does not have valid feature names"):
        by_position = model.predict(X.to_numpy(dtype=object))
    assert (by_position == model.predict(X)).all()
    # refitted on an array: no names any more, and a frame is then read by position
    model.fit(X[["a", "b"]].to_numpy(), y)
    assert not hasattr(model, "feature_names_in_") and model.n_features_in_ == 2
    with pytest.warns(UserWarning, match="fitted without feature names"):
        model.predict(X[["b", "a"]])
    numbered = AutoClassifier(n_trials=1, models=["linear"], verbosity=0)
    numbered.fit(pd.DataFrame(X[["a", "b"]].to_numpy()), y)  # integer column names
    assert not hasattr(numbered, "feature_names_in_") and numbered.n_features_in_ == 2


def test_bad_inputs_get_errors_naming_the_argument():
    X, y = _frame()
    model = AutoClassifier(n_trials=1, models=["linear"], verbosity=0)
    with pytest.raises(NotFittedError, match=r"call fit\(X, y\)") as unfitted:
        model.predict(X)
    assert isinstance(unfitted.value, SklearnNotFittedError)
    with pytest.raises(TargetError, match="target y is None"):
        model.fit(X, None)
    with pytest.raises(TargetError, match="X has 60 rows but y has 59 values"):
        model.fit(X, y[:-1])
    with pytest.raises(TargetError, match=r"Unknown label type: continuous.*AutoRegressor"):
        model.fit(X, np.linspace(0, 1, len(X)))
    with pytest.raises(DataError, match="X has 5 sample"):
        model.fit(X[:5], y[:5])
    with pytest.raises(DataError, match="sparse matrix"):
        model.fit(scipy.sparse.csr_matrix(X[["a", "b"]].to_numpy()), y)
    with pytest.raises(ValueError, match="Reshape your data"):
        model.fit(X["a"].to_numpy(), y)
    model.fit(X[["a", "b"]].to_numpy(), y)
    with pytest.raises(DataError, match="X has 3 features, but AutoClassifier is expecting 2"):
        model.predict(np.zeros((4, 3)))


def test_params_round_trip_and_tags_follow_the_budget():
    model = AutoRegressor(n_trials=3, models=["linear"], n_folds=4)
    copy = clone(model)
    assert copy.get_params() == model.get_params() and copy.models is not None
    copy.set_params(n_trials=None, time_limit_s=30)
    assert (copy.n_trials, copy.time_limit_s, model.n_trials) == (None, 30, 3)
    assert not get_tags(model).non_deterministic  # a trial count alone is reproducible
    assert get_tags(copy).non_deterministic  # a time limit is not
    tags = get_tags(AutoClassifier())
    assert tags.estimator_type == "classifier" and tags.input_tags.allow_nan
    assert get_tags(model).estimator_type == "regressor" and get_tags(model).target_tags.required

import numpy as np
import polars as pl
from sklearn.base import clone
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from assay import AutoClassifier, AutoRegressor


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

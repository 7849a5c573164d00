"""The neural net (extra `nn`): categories through embeddings, unseen levels, fixed epochs."""

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("torch", reason="the mlp model needs the `nn` extra (torch==2.13.0)")

from assay.models import MLPModel, load_model


def _frame(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    colour = pd.Categorical(rng.choice(["red", "green", "blue"], n), ["blue", "green", "red"])
    x = rng.normal(size=n)
    x[rng.random(n) < 0.1] = np.nan  # missing numerics are imputed inside the model
    y = ((np.asarray(colour) == "red") ^ (np.nan_to_num(x) > 0)).astype(int)
    return pd.DataFrame({"colour": colour, "x": x}), y


def test_mlp_learns_an_interaction_of_a_category_and_a_number():
    X, y = _frame(1500, 0)
    X_test, y_test = _frame(500, 1)
    model = MLPModel(task="binary", hidden_size=64, n_layers=2, learning_rate=3e-3).fit(X, y)
    assert (model.predict(X_test) == y_test).mean() > 0.85
    assert 1 <= model.n_iterations_ <= 200  # early stopping on an internal tenth


def test_unseen_category_and_save_load_round_trip(tmp_path):
    X, y = _frame(400, 0)
    model = MLPModel(task="binary", hidden_size=32, n_layers=1, n_estimators=5).fit(X, y)
    assert model.n_iterations_ == 5  # a fixed epoch count trains exactly that many
    odd = X.head(3).copy()
    odd["colour"] = pd.Categorical(["purple", None, "red"], categories=["purple", "red"])
    odd["colour"] = odd["colour"].cat.set_categories(["blue", "green", "red"])
    proba = model.predict_proba(odd)
    assert np.isfinite(proba).all()
    model.save(tmp_path)
    np.testing.assert_array_equal(load_model(tmp_path).predict_proba(X), model.predict_proba(X))


def test_mlp_regression_predicts_on_the_target_scale():
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=800), "b": rng.normal(size=800)})
    y = 1000 + 50 * X.a.to_numpy() - 20 * X.b.to_numpy()
    model = MLPModel(task="regression", hidden_size=64, n_layers=2).fit(X, y)
    rmse = np.sqrt(np.mean((model.predict(X) - y) ** 2))
    assert rmse < 0.2 * y.std()

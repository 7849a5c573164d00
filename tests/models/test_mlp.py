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


def test_the_mlps_adamw_takes_the_same_steps_as_torchs():
    """The MLP steps its own AdamW (creating a torch.optim optimizer imports torch._dynamo
    and sympy, ~100 MB); its parameters must follow torch.optim.AdamW's exactly."""
    import copy

    import torch

    from assay.models._training import AdamW

    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))
    net[0].bias.requires_grad_(False)  # a frozen parameter is left alone
    ours, start = copy.deepcopy(net), copy.deepcopy(net)
    reference = torch.optim.AdamW(net.parameters(), lr=3e-3, weight_decay=0.05)
    mine = AdamW(torch, ours.parameters(), 3e-3, 0.05)
    X, y = torch.randn(64, 5), torch.randint(0, 3, (64,))
    for _ in range(30):
        for model, optimizer in ((net, reference), (ours, mine)):
            optimizer.zero_grad()
            torch.nn.functional.cross_entropy(model(X), y).backward()
            optimizer.step()
    assert torch.equal(ours[0].bias, start[0].bias)
    for a, b in zip(net.parameters(), ours.parameters(), strict=True):
        assert torch.equal(a, b)
    assert not torch.equal(ours[0].weight, start[0].weight)  # it did take steps

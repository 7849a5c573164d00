"""The neural net: categories through embeddings, unseen levels, fixed epochs; its NumPy
network computes what the torch one computes, and a fit with a built-in activation runs
without torch."""

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

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


def _torch_twin(net, config: dict, n_numeric: int, cardinalities: list[int], n_out: int):
    """The torch network of `_mlp._network` holding the NumPy network's parameters."""
    torch = pytest.importorskip("torch", reason="the comparison needs the `nn` extra")
    from assay.models._mlp import _network

    twin = _network(torch, n_numeric, cardinalities, n_out, config)
    linear = [k for k in twin.state_dict() if k.startswith("body") and k.endswith("weight")]
    state = {f"embeddings.{j}.weight": net.params[f"emb{j}"] for j in range(len(cardinalities))}
    for i, key in enumerate(linear):
        state[key] = net.params[f"w{i}"].T
        state[key.replace("weight", "bias")] = net.params[f"b{i}"]
    twin.load_state_dict({k: torch.as_tensor(np.ascontiguousarray(v)) for k, v in state.items()})
    return twin, {key: name for key, name in zip(state, _names(net), strict=True)}


def _names(net) -> list[str]:
    embeddings = [k for k in net.params if k.startswith("emb")]
    return embeddings + [f"{kind}{i}" for i in range(net.n_layers) for kind in "wb"]


@pytest.mark.parametrize("activation", ["silu", "relu", "gelu", "tanh"])
@pytest.mark.parametrize("classification", [True, False], ids=["classes", "values"])
def test_the_numpy_network_computes_the_torch_networks_outputs_and_gradients(
    activation, classification
):
    torch = pytest.importorskip("torch", reason="the comparison needs the `nn` extra")
    from assay._types import Task
    from assay.models._dense import DenseNet, loss_and_gradient
    from assay.models._training import batch_loss

    rng = np.random.default_rng(0)
    cardinalities, n_numeric, n_out = [4, 7], 5, 3 if classification else 1
    config = {"hidden_size": 16, "n_layers": 2, "dropout": 0.0, "activation": activation}
    net = DenseNet.create(n_numeric, cardinalities, n_out, config, rng)
    twin, names = _torch_twin(net, config, n_numeric, cardinalities, n_out)
    numeric = rng.standard_normal((32, n_numeric)).astype(np.float32)
    codes = np.stack([rng.integers(0, c, 32) for c in cardinalities], axis=1)
    weight = (rng.random(32) + 0.5).astype(np.float32)
    if classification:
        target = rng.integers(0, n_out, 32)
    else:
        target = rng.standard_normal((32, 1)).astype(np.float32)
    out, cache = net.forward(numeric, codes)
    loss, d_out = loss_and_gradient(out, target, classification, weight)
    grads = net.backward(codes, cache, d_out)
    twin_out = twin(torch.as_tensor(numeric), torch.as_tensor(codes))
    task = Task.MULTICLASS if classification else Task.REGRESSION
    twin_loss = batch_loss(torch, task, twin_out, torch.as_tensor(target), torch.as_tensor(weight))
    twin_loss.backward()
    np.testing.assert_allclose(out, twin_out.detach().numpy(), rtol=1e-5, atol=1e-5)
    assert loss == pytest.approx(float(twin_loss.detach()), rel=1e-5)
    for key, parameter in twin.named_parameters():
        expected = parameter.grad.numpy()
        if key.startswith("body") and key.endswith("weight"):  # torch: outputs x inputs
            expected = expected.T
        np.testing.assert_allclose(grads[names[key]], expected, rtol=1e-4, atol=1e-6)


def test_the_numpy_adamw_takes_the_steps_of_torchs():
    torch = pytest.importorskip("torch", reason="the comparison needs the `nn` extra")
    from assay.models._dense import AdamW as DenseAdamW

    rng = np.random.default_rng(0)
    start = {"w": rng.standard_normal((5, 3)).astype(np.float32)}
    mine = {"w": start["w"].copy()}
    reference = torch.nn.Parameter(torch.as_tensor(start["w"].copy()))
    torch_step = torch.optim.AdamW([reference], lr=3e-3, weight_decay=0.05)
    numpy_step = DenseAdamW(mine, 3e-3, 0.05)
    for _ in range(30):
        grad = rng.standard_normal((5, 3)).astype(np.float32)
        reference.grad = torch.as_tensor(grad.copy())
        torch_step.step()
        numpy_step.step({"w": grad})
    np.testing.assert_allclose(mine["w"], reference.detach().numpy(), rtol=1e-5, atol=1e-6)
    assert not np.allclose(mine["w"], start["w"])


def test_an_mlp_with_a_built_in_activation_fits_saves_and_loads_without_torch(tmp_path):
    """Importing torch costs the fitting process about 180 MB: the NumPy network must not
    need it, and its saved arrays must load without it."""
    script = f"""
import sys
import numpy as np, pandas as pd
from assay.models import MLPModel, load_model
rng = np.random.default_rng(0)
X = pd.DataFrame({{"a": rng.normal(size=300), "c": pd.Categorical(rng.choice(list("xyz"), 300))}})
y = (X.a > 0).astype(int).to_numpy()
model = MLPModel(task="binary", hidden_size=16, n_layers=2, n_estimators=3).fit(X, y)
model.save({str(tmp_path)!r})
again = load_model({str(tmp_path)!r})
assert np.array_equal(again.predict_proba(X), model.predict_proba(X))
print("torch" in sys.modules)
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.npz", "params.json"]


def test_the_mlps_adamw_takes_the_same_steps_as_torchs():
    """The MLP steps its own AdamW (creating a torch.optim optimizer imports torch._dynamo
    and sympy, ~100 MB); its parameters must follow torch.optim.AdamW's exactly."""
    import copy

    torch = pytest.importorskip("torch", reason="the comparison needs the `nn` extra")

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


def _mid_rank_by_interp(q: np.ndarray, values: np.ndarray) -> np.ndarray:
    """The quantile position as np.interp gives it: from below and from above, averaged
    (the two differ only at a run of tied quantiles, whose middle the average is)."""
    levels = np.linspace(0, 1, q.shape[0])
    out = np.empty_like(values)
    for j in range(values.shape[1]):
        up = np.interp(values[:, j], q[:, j], levels)
        down = 1 - np.interp(-values[:, j], -q[::-1, j], levels)
        out[:, j] = (up + down) / 2
    return out


@pytest.mark.parametrize("at_once", [True, False], ids=["rows-at-once", "column-by-column"])
def test_the_quantile_map_gives_interpolated_positions_and_mid_ranks_of_ties(monkeypatch, at_once):
    from assay.models import _mlp

    rng = np.random.default_rng(0)
    train = np.column_stack(
        [
            rng.normal(size=600),
            rng.integers(0, 4, 600).astype(float),  # long runs of tied quantiles
            np.zeros(600),  # one value only
            rng.exponential(size=600),
        ]
    )
    q = np.nanquantile(train, np.linspace(0, 1, _mlp._N_QUANTILES), axis=0)
    values = np.column_stack(
        [
            rng.normal(size=200) * 3,  # beyond the training range too
            rng.integers(-1, 6, 200).astype(float),
            rng.normal(size=200),
            np.r_[np.inf, -np.inf, rng.exponential(size=198) * 2],
        ]
    )
    monkeypatch.setattr(_mlp, "_BROADCAST_CELLS", 1 << 40 if at_once else 0)
    position = _mlp._quantile_position(q, values)
    np.testing.assert_allclose(position, _mid_rank_by_interp(q, values), rtol=0, atol=1e-12)


def test_a_single_row_is_mapped_as_in_a_large_batch():
    """Few rows are compared with every quantile at once, many go column by column: a row
    must come out the same either way (a served row and a batch give the same prediction)."""
    X, y = _frame(3000, 0)
    X = X.assign(**{f"z{i}": np.random.default_rng(i).normal(size=len(X)) for i in range(30)})
    model = MLPModel(task="binary", hidden_size=16, n_layers=1, n_estimators=3).fit(X, y)
    batch = model.predict_proba(X)
    rows = np.vstack([model.predict_proba(X.iloc[[i]]) for i in range(0, len(X), 300)])
    np.testing.assert_allclose(rows, batch[::300], rtol=0, atol=1e-6)

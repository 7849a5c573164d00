"""Row weights beyond the contract check: early stopping on weighted validation rows, the
scale of the weights, the weighted neighbours of kNN, and the weighted loss of the networks."""

from __future__ import annotations

from importlib.util import find_spec

import numpy as np
import pandas as pd
import pytest

from assay import Task
from assay.errors import ConfigError
from assay.features import Encoding
from assay.models import (
    CatBoostModel,
    KNNModel,
    LightGBMModel,
    LinearModel,
    MLPModel,
    RandomForestModel,
    XGBoostModel,
)
from assay.testing import toy_frame

BOOSTERS = [LightGBMModel, XGBoostModel, CatBoostModel]
HAS_TORCH = find_spec("torch") is not None


def _split(task: Task, encoding: Encoding, n_rows: int = 300):
    frames, y = toy_frame(task, n_rows, seed=3)
    X = frames[encoding]
    take = (lambda a, s: a.iloc[s]) if encoding is Encoding.NATIVE else (lambda a, s: a[s])
    n = 2 * n_rows // 3
    return take(X, slice(0, n)), y[:n], take(X, slice(n, None)), y[n:]


def _validation_half_flipped(task: Task, n_rows: int = 300):
    """Training rows, and validation rows stacked on a copy with the other label."""
    X, y, X_val, y_val = _split(task, Encoding.NATIVE, n_rows)
    X_val2 = pd.concat([X_val, X_val], ignore_index=True)
    return X, y, X_val2, np.r_[y_val, 1 - y_val], len(y_val)


def _early_stopping_model(model_class: type):
    if model_class is MLPModel:
        return model_class(task=Task.BINARY, hidden_size=32, n_layers=1, learning_rate=3e-3)
    return model_class(task=Task.BINARY, learning_rate=0.3)


NEEDS_TORCH = pytest.mark.skipif(not HAS_TORCH, reason="needs the `nn` extra")


@pytest.mark.parametrize("model_class", [*BOOSTERS, MLPModel])
def test_early_stopping_weighs_the_validation_rows(model_class: type) -> None:
    """Validation rows outvoted by copies with the other label stop the fit at once; the
    same rows weighted ten times their copies let it learn."""
    X, y, X_val, y_val, n = _validation_half_flipped(Task.BINARY)
    rounds = {}
    for name, weight in {"true": np.r_[np.ones(n), np.full(n, 0.1)],
                         "flipped": np.r_[np.full(n, 0.1), np.ones(n)]}.items():  # fmt: skip
        model = _early_stopping_model(model_class)
        model.fit(X, y, X_val=X_val, y_val=y_val, val_weight=weight)
        rounds[name] = model.n_iterations_
    assert rounds["flipped"] <= 3 < rounds["true"], rounds


@pytest.mark.parametrize(
    ("model_class", "encoding"),
    [
        (LightGBMModel, Encoding.NATIVE),
        (XGBoostModel, Encoding.NATIVE),
        (CatBoostModel, Encoding.NATIVE),
        (RandomForestModel, Encoding.ORDINAL),
        (LinearModel, Encoding.ONEHOT),
        (KNNModel, Encoding.ONEHOT),
    ],
)
def test_weights_are_relative(model_class: type, encoding: Encoding) -> None:
    """Multiplying every weight changes nothing; weights of one value are no weights."""
    X, y, X_val, _ = _split(Task.BINARY, encoding)
    w = np.random.default_rng(0).uniform(0.2, 3.0, len(y))
    params = {"n_estimators": 20} if "n_estimators" in model_class().get_params() else {}
    fitted = [
        model_class(task=Task.BINARY, **params).fit(X, y, sample_weight=scale * w)
        for scale in (1.0, 2.0**-10, 256.0)  # powers of two: the scaled weights are exact
    ]
    first = fitted[0].predict_proba(X_val)
    for other in fitted[1:]:
        np.testing.assert_array_equal(other.predict_proba(X_val), first)
    plain = model_class(task=Task.BINARY, **params).fit(X, y).predict_proba(X_val)
    alike = model_class(task=Task.BINARY, **params).fit(X, y, sample_weight=np.full(len(y), 4.0))
    np.testing.assert_array_equal(alike.predict_proba(X_val), plain)
    assert not np.allclose(first, plain)  # the weights above did change the fit


def test_a_class_only_in_rows_of_weight_zero_is_left_out() -> None:
    X, y, X_val, _ = _split(Task.MULTICLASS, Encoding.ONEHOT)
    model = LinearModel(task=Task.MULTICLASS).fit(X, y, sample_weight=(y != 2).astype(float))
    assert np.array_equal(model.classes_, [0, 1])
    assert model.predict_proba(X_val).shape == (len(X_val), 2)


def test_targets_and_weights_must_match_the_rows() -> None:
    X, y, X_val, y_val = _split(Task.REGRESSION, Encoding.ONEHOT)
    with pytest.raises(ConfigError, match="y has 199 values, X has 200 rows"):
        LinearModel(task=Task.REGRESSION).fit(X, y[:-1])
    with pytest.raises(ConfigError, match="y_val has 99 values, X_val has 100 rows"):
        LinearModel(task=Task.REGRESSION).fit(X, y, X_val=X_val, y_val=y_val[:-1])
    with pytest.raises(ConfigError, match="sample_weight has shape"):
        LinearModel(task=Task.REGRESSION).fit(X, y, sample_weight=[1.0, 2.0])
    with pytest.raises(ConfigError, match="negative"):
        LinearModel(task=Task.REGRESSION).fit(X, y, sample_weight=np.r_[np.ones(199), -2.0])
    # without validation rows there is nothing for val_weight to weigh
    LinearModel(task=Task.REGRESSION).fit(X, y, val_weight=np.ones(3))


def test_validation_rows_all_of_weight_zero_are_no_validation_rows() -> None:
    X, y, X_val, y_val = _split(Task.BINARY, Encoding.NATIVE)
    plain = LightGBMModel(task=Task.BINARY).fit(X, y)
    zero = LightGBMModel(task=Task.BINARY).fit(
        X, y, X_val=X_val, y_val=y_val, val_weight=np.zeros(len(y_val))
    )
    assert zero.n_iterations_ == plain.n_iterations_  # the rounds of a fit without any
    np.testing.assert_array_equal(zero.predict_proba(X_val), plain.predict_proba(X_val))


# -- kNN: neighbours counted in weight -----------------------------------------------------
def _reference_knn(X, y, w, queries, k, weights, classes=None):
    """The nearest rows until their weights reach k (the last in part), by brute force."""
    w = w / np.median(w)
    need = min(k, w.sum())
    out = []
    for q in queries:
        distances = np.sqrt(((X - q) ** 2).sum(axis=1))
        order = np.argsort(distances, kind="stable")
        taken = np.clip(need - (np.cumsum(w[order]) - w[order]), 0, w[order])
        d = distances[order]
        if weights == "distance":
            taken = taken * ((d == 0) if (d == 0).any() else 1 / d)
        if classes is None:
            out.append((taken * y[order]).sum() / taken.sum())
        else:
            votes = np.array([taken[y[order] == c].sum() for c in classes])
            out.append(votes / votes.sum())
    return np.array(out)


@pytest.mark.parametrize("weights", ["uniform", "distance"])
@pytest.mark.parametrize("task", [Task.MULTICLASS, Task.REGRESSION])
def test_knn_counts_its_neighbours_in_weight(task: Task, weights: str) -> None:
    X, y, X_val, _ = _split(task, Encoding.ONEHOT)
    rng = np.random.default_rng(1)
    # most rows weigh 1; some a hundredth (a query may need far more than 2k rows), some 5
    w = rng.choice([1.0, 0.01, 5.0], size=len(y), p=[0.55, 0.35, 0.1])
    model = KNNModel(task=task, n_neighbors=7, weights=weights).fit(X, y, sample_weight=w)
    queries = np.vstack([X_val, X[:5]])  # training rows: at distance 0 from themselves
    classes = [0, 1, 2] if task.is_classification else None
    expected = _reference_knn(X, y, w, queries, 7, weights, classes)
    got = model.predict_proba(queries) if task.is_classification else model.predict(queries)
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-12)


def test_knn_with_less_weight_than_neighbours_takes_every_row() -> None:
    X, y, X_val, _ = _split(Task.REGRESSION, Encoding.ONEHOT, n_rows=12)
    w = np.r_[np.ones(4), np.full(4, 0.5)]  # 6 of weight, 10 neighbours asked
    model = KNNModel(task=Task.REGRESSION, weights="uniform").fit(X, y, sample_weight=w)
    np.testing.assert_allclose(model.predict(X_val), np.average(y, weights=w), rtol=1e-12)


def test_weighted_knn_survives_save_and_load(tmp_path) -> None:
    from assay.models import load_model

    X, y, X_val, _ = _split(Task.BINARY, Encoding.ONEHOT)
    w = np.random.default_rng(0).uniform(0.1, 4.0, len(y))
    model = KNNModel(task=Task.BINARY).fit(X, y, sample_weight=w)
    model.save(tmp_path)
    loaded = load_model(tmp_path)
    assert isinstance(loaded.row_weight_, np.ndarray)
    np.testing.assert_array_equal(loaded.predict_proba(X_val), model.predict_proba(X_val))


# -- the networks' weighted loss -----------------------------------------------------------
@NEEDS_TORCH
@pytest.mark.parametrize("task", [Task.MULTICLASS, Task.REGRESSION])
def test_a_batch_loss_weighs_each_row(task: Task) -> None:
    import torch

    from assay.models._training import batch_loss

    generator = torch.Generator().manual_seed(0)
    out = torch.randn(6, 3 if task.is_classification else 1, generator=generator)
    if task.is_classification:
        target = torch.tensor([0, 1, 2, 2, 1, 0])
        per_row = torch.nn.functional.cross_entropy(out, target, reduction="none")
    else:
        target = torch.randn(6, 1, generator=generator)
        per_row = ((out - target) ** 2)[:, 0]
    weight = torch.tensor([1.0, 2.0, 0.0, 0.5, 1.0, 3.0])
    expected = (per_row * weight).sum() / weight.sum()
    assert torch.allclose(batch_loss(torch, task, out, target, weight), expected)
    assert torch.allclose(batch_loss(torch, task, out, target), per_row.mean())
    # a row of weight 0 gets no gradient
    out.requires_grad_(True)
    batch_loss(torch, task, out, target, weight).backward()
    assert torch.all(out.grad[2] == 0) and torch.any(out.grad[1] != 0)


def test_the_held_out_loss_is_weighted() -> None:
    from assay.models._training import held_out_loss

    proba = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]])
    y = np.array([0, 0, 1])
    losses = -np.log([0.9, 0.2, 0.4])
    w = np.array([3.0, 0.0, 1.0])
    assert held_out_loss(proba, y, Task.BINARY, w) == pytest.approx(np.average(losses, weights=w))
    assert held_out_loss(proba, y, Task.BINARY) == pytest.approx(losses.mean())
    values, targets = np.array([1.0, 2.0, 4.0]), np.array([1.0, 1.0, 1.0])
    rmse = np.sqrt((0 * 1 + 1 * 1 + 2 * 9) / 3)
    assert held_out_loss(values, targets, Task.REGRESSION, np.array([0.0, 1.0, 2.0])) == rmse

"""The MLP's network in NumPy: category embeddings, dense layers with a built-in activation
and dropout, a linear output; forward, backward and AdamW by hand, in float32.

The same network and update as the torch one (`_mlp._network`, `_training.AdamW`, torch's
default initialisation), without torch: importing torch costs about 180 MB in the fitting
process and a second of time, more than the network itself on tabular data. A discovered
activation (torch code) still trains with torch.
"""

from __future__ import annotations

import math
from functools import cache
from typing import Any

import numpy as np

_SQRT2 = math.sqrt(2.0)
_PREDICT_CHUNK = 8192  # rows a prediction pushes through the layers at once


@cache
def _blas():
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()  # finding the loaded BLAS libraries takes about 1 ms


def blas_threads(n_jobs: int):
    """A context in which NumPy's BLAS uses `n_jobs` threads (as torch.set_num_threads
    did for the torch network), cheap enough for a prediction of one row."""
    return _blas().limit(limits=max(1, int(n_jobs)), user_api="blas")


def embedding_width(size: int) -> int:
    """Columns of a category's embedding, as the torch network sizes them."""
    return min(16, (size + 1) // 2 + 1)


def _activate(name: str, z: np.ndarray) -> np.ndarray:
    from scipy.special import erf, expit  # here, so that `import assay` stays light

    if name == "silu":
        return z * expit(z)
    if name == "relu":
        return np.maximum(z, 0)
    if name == "gelu":
        return 0.5 * z * (1 + erf(z / _SQRT2))
    if name == "tanh":
        return np.tanh(z)
    raise ValueError(f"no NumPy form of activation {name!r}")


def _slope(name: str, z: np.ndarray, a: np.ndarray) -> np.ndarray:
    """d activation / d z at `z` (its output `a`)."""
    from scipy.special import erf, expit

    if name == "silu":
        s = expit(z)
        return s * (1 + z * (1 - s))
    if name == "relu":
        return (z > 0).astype(z.dtype)
    if name == "gelu":
        return 0.5 * (1 + erf(z / _SQRT2)) + z * np.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)
    return 1 - a * a  # tanh


class DenseNet:
    """Parameters in one ordered dict of float32 arrays: `emb{j}` (levels x width), then
    `w{i}` (inputs x outputs) and `b{i}` per layer, the last layer the output."""

    def __init__(self, params: dict[str, np.ndarray], activation: str, dropout: float):
        self.params = params
        self.activation = activation
        self.dropout = dropout
        self.n_embeddings = sum(k.startswith("emb") for k in params)
        self.n_layers = sum(k.startswith("w") for k in params)

    @classmethod
    def create(
        cls,
        n_numeric: int,
        cardinalities: list[int],
        n_out: int,
        config: dict[str, Any],
        rng: np.random.Generator,
    ) -> DenseNet:
        """Initialised as torch initialises nn.Embedding (standard normal) and nn.Linear
        (weights and bias uniform in +-1/sqrt(inputs))."""
        params: dict[str, np.ndarray] = {}
        for j, size in enumerate(cardinalities):
            table = (size, embedding_width(size))
            params[f"emb{j}"] = rng.standard_normal(table, dtype=np.float32)
        width = n_numeric + sum(embedding_width(size) for size in cardinalities)
        sizes = [int(config["hidden_size"])] * int(config["n_layers"]) + [n_out]
        for i, size in enumerate(sizes):
            bound = np.float32(1 / math.sqrt(max(width, 1)))
            shapes: dict[str, tuple[int, ...]] = {f"w{i}": (width, size), f"b{i}": (size,)}
            for name, shape in shapes.items():
                params[name] = (rng.random(shape, dtype=np.float32) * 2 - 1) * bound
            width = size
        return cls(params, str(config["activation"]), float(config["dropout"]))

    def copy_params(self) -> dict[str, np.ndarray]:
        return {k: v.copy() for k, v in self.params.items()}

    # -- passes ---------------------------------------------------------------------------
    def forward(
        self, numeric: np.ndarray, codes: np.ndarray, rng: np.random.Generator | None = None
    ) -> tuple[np.ndarray, list]:
        """Outputs (rows x n_out) and what backward needs; `rng` given: training (dropout)."""
        parts = [numeric] + [self.params[f"emb{j}"][codes[:, j]] for j in range(self.n_embeddings)]
        h = np.concatenate(parts, axis=1) if len(parts) > 1 else numeric
        cache: list = []
        for i in range(self.n_layers - 1):
            z = h @ self.params[f"w{i}"] + self.params[f"b{i}"]
            a = _activate(self.activation, z)
            mask = None
            if rng is not None and self.dropout > 0:
                keep = 1.0 - self.dropout
                mask = (rng.random(a.shape, dtype=np.float32) < keep).astype(np.float32) / keep
            cache.append((h, z, a, mask))  # the layer's input, and its activation before dropout
            h = a if mask is None else a * mask
        last = self.n_layers - 1
        cache.append((h, None, None, None))
        return h @ self.params[f"w{last}"] + self.params[f"b{last}"], cache

    def backward(self, codes: np.ndarray, cache: list, d_out: np.ndarray) -> dict[str, np.ndarray]:
        """Gradients of every parameter from d loss / d outputs."""
        grads: dict[str, np.ndarray] = {}
        d = d_out
        for i in range(self.n_layers - 1, -1, -1):
            grads[f"w{i}"] = cache[i][0].T @ d
            grads[f"b{i}"] = d.sum(axis=0)
            if i == 0 and not self.n_embeddings:
                break
            d = d @ self.params[f"w{i}"].T  # by the layer's input
            if i > 0:
                _, z, a, mask = cache[i - 1]
                d = _slope(self.activation, z, a) * (d if mask is None else d * mask)
        if self.n_embeddings:
            widths = [self.params[f"emb{j}"].shape[1] for j in range(self.n_embeddings)]
            start = d.shape[1] - sum(widths)
            for j in range(self.n_embeddings):
                table = self.params[f"emb{j}"]
                grad = np.zeros_like(table)
                np.add.at(grad, codes[:, j], d[:, start : start + table.shape[1]])
                grads[f"emb{j}"] = grad
                start += table.shape[1]
        return grads

    def predict(self, numeric: np.ndarray, codes: np.ndarray) -> np.ndarray:
        parts = [
            self.forward(numeric[s : s + _PREDICT_CHUNK], codes[s : s + _PREDICT_CHUNK])[0]
            for s in range(0, len(numeric), _PREDICT_CHUNK)
        ]
        n_out = self.params[f"b{self.n_layers - 1}"].shape[0]
        return np.concatenate(parts) if parts else np.zeros((0, n_out), dtype=np.float32)


def loss_and_gradient(
    out: np.ndarray, target: np.ndarray, classification: bool, weight: np.ndarray | None
) -> tuple[float, np.ndarray]:
    """Cross-entropy or squared error of a batch, the mean over its rows or under `weight`
    the weighted mean (as `_training.batch_loss`), and its gradient by the outputs."""
    n = len(out)
    share = np.full(n, 1.0 / n, dtype=np.float32) if weight is None else weight / weight.sum()
    if classification:
        shifted = out - out.max(axis=1, keepdims=True)
        logp = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        rows = np.arange(n)
        loss = float(-(logp[rows, target] * share).sum())
        grad = np.exp(logp)
        grad[rows, target] -= 1
        return loss, (grad * share[:, None]).astype(np.float32)
    error = out - target
    loss = float(((error**2).mean(axis=1) * share).sum())
    return loss, (2 * error / error.shape[1] * share[:, None]).astype(np.float32)


class AdamW:
    """AdamW as `torch.optim.AdamW` computes it (single-tensor path, no amsgrad)."""

    def __init__(self, params: dict[str, np.ndarray], lr: float, weight_decay: float):
        self.params = params
        self.lr, self.weight_decay, self.betas, self.eps = lr, weight_decay, (0.9, 0.999), 1e-8
        self.moments = {k: (np.zeros_like(v), np.zeros_like(v)) for k, v in params.items()}
        self.n_steps = 0

    def step(self, grads: dict[str, np.ndarray]) -> None:
        self.n_steps += 1
        beta1, beta2 = self.betas
        bias1, bias2 = 1 - beta1**self.n_steps, 1 - beta2**self.n_steps
        for key, grad in grads.items():
            p, (mean, square) = self.params[key], self.moments[key]
            p *= np.float32(1 - self.lr * self.weight_decay)
            mean += (grad - mean) * np.float32(1 - beta1)
            square *= np.float32(beta2)
            square += np.float32(1 - beta2) * grad * grad
            denominator = np.sqrt(square) / np.float32(math.sqrt(bias2)) + np.float32(self.eps)
            p -= np.float32(self.lr / bias1) * mean / denominator

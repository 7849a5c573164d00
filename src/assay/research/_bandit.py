"""Which family of operators the search proposer tries next: a bandit over the gains this
workspace measured, with a share of the proposals kept for exploration.

A family's gains are read back from the ledger alone: each search experiment's loss
removed against the best before it (negative when it did worse), whether it was kept or
not. A family never tried goes first; then, most of the time, the family with the highest
upper confidence bound (mean gain in units of the spread of all gains, plus a bonus that
shrinks as the family is tried more); the rest of the time, any family at random.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import numpy as np

FAMILIES = {
    "features": ("discovered", "features"),
    "models": ("models", "single_model", "portfolio", "automl"),
    "tuning": ("params", "continue_search"),
    "ensembling": ("stack",),
    "validation": ("n_folds",),
}
FAMILY_OF = {op: family for family, ops in FAMILIES.items() for op in ops}
EXPLORE = 0.2  # share of proposals from a family drawn at random


def is_search(source: object) -> bool:
    """Whether a ledger line's source is the search proposer ("search", "search/features")."""
    return str(source).split("/", 1)[0] == "search"


def measured_gains(
    ledger: Iterable[dict],
    greater_is_better: bool,
    operator_of: Callable[[str], str | None],
) -> dict[str, list[float]]:
    """Family -> the gains of its search experiments, oldest first."""
    sign = -1.0 if greater_is_better else 1.0
    best: float | None = None
    gains: dict[str, list[float]] = {}
    for entry in ledger:
        status, score = entry.get("status"), entry.get("score")
        if score is None or not math.isfinite(float(score)):
            continue
        loss = sign * float(score)
        if status == "baseline":
            best = loss
            continue
        if best is None or status not in ("keep", "discard"):
            continue
        op = operator_of(str(entry.get("description", "")))
        if is_search(entry.get("source")) and op in FAMILY_OF:
            gains.setdefault(FAMILY_OF[op], []).append(best - loss)
        if status == "keep":
            best = loss
    return gains


def choose_family(
    gains: dict[str, list[float]],
    families: Iterable[str],
    rng: np.random.Generator,
    explore: float = EXPLORE,
) -> tuple[str, str]:
    """(family, why) among `families` (those with an operator that applies); `explore` is
    the chance of a family drawn at random (the search proposer draws that once per
    proposal and passes 0 or 1, so retries of the best family do not turn into draws)."""
    options = sorted(set(families))
    untried = [f for f in options if not gains.get(f)]
    if untried:
        return untried[int(rng.integers(len(untried)))], "not tried yet"
    if rng.random() < explore:
        family = options[int(rng.integers(len(options)))]
        return family, f"exploring ({EXPLORE:.0%} of proposals draw a family at random)"
    every = [g for f in options for g in gains[f]]
    scale = float(np.std(every)) or 1.0
    n_total = len(every)

    def bound(family: str) -> float:
        tried = gains[family]
        return float(np.mean(tried)) / scale + math.sqrt(2 * math.log(n_total) / len(tried))

    family = max(options, key=bound)
    tried = gains[family]
    return family, (
        f"{family} gained {np.mean(tried):+.4g} on average over {len(tried)} experiment(s), "
        "the best upper bound"
    )

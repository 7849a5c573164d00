"""What the three boosters share: how many rounds, when to stop, how many threads, and how
small data caps their rounds, learning rate and depth.

One `Stopper` drives early stopping and the time limit for every booster, so the three
behave the same: stop after `patience` rounds without a better validation loss or as soon as
the wall clock passes the deadline, then keep the rounds up to the best validation loss.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from assay._cpus import usable_cpus

MAX_ROUNDS_WITH_VALIDATION = 10_000


def n_threads(n_jobs: int) -> int:
    """Map sklearn's n_jobs (-1 = all cores) to a positive thread count."""
    return n_jobs if n_jobs > 0 else max(1, usable_cpus() + 1 + n_jobs)


def patience(learning_rate: float) -> int:
    """About 50 rounds at learning rate 0.05; slower learners get more patience."""
    return int(np.clip(round(2.5 / learning_rate), 20, 300))


def rounds_without_validation(learning_rate: float) -> int:
    """About 300 rounds at learning rate 0.05: a safe fixed length when nothing early-stops."""
    return int(np.clip(round(15.0 / learning_rate), 50, 3000))


def round_cap(n_rows: int) -> int:
    """The most rounds a booster runs on `n_rows` training rows: half the row count, at
    least 200 and at most 10,000. On small data a slow learner otherwise boosts for
    thousands of rounds (breast cancer's 500 training rows: 10,000 rounds at rate 0.0056,
    4 s a fold) for no better score, where the same time buys many diverse trials."""
    return int(np.clip(n_rows // 2, 200, MAX_ROUNDS_WITH_VALIDATION))


def learning_rate_for(learning_rate: float, n_rows: int) -> float:
    """The config's learning rate, raised on small data so that `round_cap` rounds can take
    a total step of 8 (as 160 rounds at 0.05 do): on 500 rows at least 0.032; from 16,000
    rows on, as configured down to 0.001."""
    return max(float(learning_rate), TOTAL_STEP / round_cap(n_rows))


def depth_for(depth: int, n_rows: int) -> int:
    """The config's tree depth, lowered so that a full tree's leaves hold about 10 rows on
    average (at least depth 3): depth 8's 256 leaves on 500 rows fit noise, and CatBoost's
    symmetric trees pay for every level."""
    return int(min(depth, max(3, math.floor(math.log2(max(n_rows, 2) / 10)))))


TOTAL_STEP = 8.0


def column_fraction(fraction: float, n_features: int) -> float:
    """The config's share of columns per tree, raised so that every tree sees at least two
    columns (all of them when there are two): on banana's two columns XGBoost's 0.67 gave
    each tree one column, so no tree could split on both, and every XGBoost config scored
    AUC 0.77-0.79 against LightGBM's and CatBoost's 0.97. The small margin keeps XGBoost's
    rounding down from landing under two."""
    if n_features <= 2:
        return 1.0
    return float(max(fraction, min(1.0, 2.0 / n_features + 1e-6)))


def n_rounds(
    n_estimators: int | None, learning_rate: float, has_validation: bool, n_rows: int
) -> int:
    """`n_estimators=None` means `round_cap(n_rows)` with early stopping, else a length set
    by the rate (and capped alike); a given `n_estimators` is kept as it is."""
    if n_estimators is not None:
        return int(n_estimators)
    if has_validation:
        return round_cap(n_rows)
    return min(rounds_without_validation(learning_rate), round_cap(n_rows))


def expected_rounds(config: dict[str, Any], default_learning_rate: float, n_rows: int) -> int:
    """A guess of the rounds a fit runs, for cost estimates (early stopping is unknowable)."""
    learning_rate = learning_rate_for(config.get("learning_rate", default_learning_rate), n_rows)
    guess = min(
        rounds_without_validation(learning_rate) + patience(learning_rate), round_cap(n_rows)
    )
    n_estimators = config.get("n_estimators")
    return guess if n_estimators is None else min(int(n_estimators), guess)


def per_class_cost(n_classes: int) -> float:
    """`classes_cost` of the boosters and the multinomial linear model: one tree (or one
    weight vector) per class and round past two classes. 50 rounds on 12,000 x 16 of
    letter with 2 / 5 / 10 / 26 classes: LightGBM 0.14 / 0.45 / 0.86 / 2.15 s, XGBoost
    0.10 / 0.37 / 0.64 / 1.31 s, CatBoost 0.16 / 0.39 / 1.04 / 2.02 s; about 0.55 x classes
    the binary time (a 26-class LightGBM config was estimated at a ninth of its 4.5 s a
    fold and stopped at its fifth fold, its four done folds wasted)."""
    return 1.0 if n_classes <= 2 else 0.55 * n_classes


class Stopper:
    """Tracks the best validation loss (lower is better) and the deadline."""

    def __init__(self, patience: int, deadline: float | None) -> None:
        self.patience = patience
        self.deadline = deadline
        self.best_loss = math.inf
        self.best_round = -1
        self.n_done = 0
        self.timed_out = False

    def update(self, round_index: int, loss: float | None) -> bool:
        """Record a finished round (0-based); return True when training should stop."""
        self.n_done = round_index + 1
        if loss is not None:
            if loss < self.best_loss:
                self.best_loss, self.best_round = float(loss), round_index
            if round_index - self.best_round >= self.patience:
                return True
        if self.deadline is not None and time.perf_counter() >= self.deadline:
            self.timed_out = True
            return True
        return False

    @property
    def n_keep(self) -> int:
        """Rounds to keep: up to the best validation loss, else all that were trained."""
        return self.best_round + 1 if self.best_round >= 0 else self.n_done

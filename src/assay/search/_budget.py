"""Time accounting: a deadline for the whole fit, a reserve for the ensemble and the
artifact, and cost estimates calibrated by what trials really took."""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # models import search (their spaces), so only for the annotations
    from assay.models._base import Model


class Budget:
    """Trials may run until `trial_deadline`; the rest of the limit is kept for the end:
    the ensemble and the artifact, and with `refit` the refit of the ensemble's configs on
    all rows (about one fold's fit each)."""

    def __init__(self, time_limit_s: float, started: float | None = None, refit: bool = False):
        self.time_limit_s = float(time_limit_s)
        self.started = time.monotonic() if started is None else started
        self.reserve_s = min(max(1.0, 0.06 * self.time_limit_s), 20.0)
        if refit and math.isfinite(self.time_limit_s):
            self.reserve_s += 0.12 * self.time_limit_s

    @property
    def deadline(self) -> float:
        return self.started + self.time_limit_s

    @property
    def trial_deadline(self) -> float:
        return self.deadline - self.reserve_s

    def elapsed_s(self) -> float:
        return time.monotonic() - self.started

    def trial_time_left_s(self) -> float:
        return self.trial_deadline - time.monotonic()


FOLD_CHOICES = (8, 5, 3)  # bagging folds a timed fit picks from, most first
HEAD_CONFIGS = 6  # the portfolio's first configs ...
HEAD_SHARE = 1.0  # ... should fit in this share of the trial time: learned on tabular_design
# (benchmarks/results/tabular_design_60s_defaults.md): at 60 s the rule with 1.0 scores 0.9915
# normalized over 52 datasets (0.75: 0.9905; always 3, 5, 8 folds: 0.9916, 0.9863, 0.9860),
# better than 0.75 on 8 datasets and worse on 4; always 3 folds ties its mean but loses to it
# on 20 datasets and wins 14, and would give up the folds that pay at longer budgets


def folds_for_budget(
    max_folds: int, head_fold_s: list[float], window_s: float, share: float = HEAD_SHARE
) -> int:
    """The most folds (of 8, 5 and 3, at most `max_folds`) at which the portfolio's first
    `HEAD_CONFIGS` configs, at their estimated seconds per fold, fit in `share` of the trial
    time; 3 when none does (the fewest that still leave a stacking layer honest out-of-fold inputs).

    On mid-size data at short budgets 8 folds leave room for three or four trials (a
    15,000-row regression at 60 s: LightGBM at 1.5 s a fold, no MLP, no CatBoost, no
    stack); fewer folds buy the diverse trials an ensemble is made of. With no limit, or
    room to spare, as many folds as the data size allows."""
    if max_folds <= min(FOLD_CHOICES) or not math.isfinite(window_s):
        return max_folds
    head_s = sum(head_fold_s[:HEAD_CONFIGS])
    for n_folds in FOLD_CHOICES:
        if n_folds <= max_folds and n_folds * head_s <= share * window_s:
            return n_folds
    return min(FOLD_CHOICES)


class CostModel:
    """Estimates the seconds a config needs for all folds from the model's own rough
    `cost()`, scaled by the observed/estimated ratio (per family, else over all)."""

    def __init__(self) -> None:
        self._log_ratios: dict[str, list[float]] = {}

    def _factor(self, family: str) -> float:
        own = self._log_ratios.get(family)
        every = [r for ratios in self._log_ratios.values() for r in ratios]
        ratios = own or every
        return math.exp(sum(ratios) / len(ratios)) if ratios else 1.0

    def estimate_s(
        self, model_cls: type[Model], n_rows: int, n_features: int, config: dict, n_folds: int
    ) -> float:
        per_fold = model_cls.cost(n_rows, n_features, config)
        return per_fold * n_folds * self._factor(model_cls.name)

    def observe(
        self,
        model_cls: type[Model],
        n_rows: int,
        n_features: int,
        config: dict,
        n_folds: int,
        actual_s: float,
    ) -> None:
        raw = model_cls.cost(n_rows, n_features, config) * n_folds
        if raw > 0 and actual_s > 0:
            self._log_ratios.setdefault(model_cls.name, []).append(math.log(actual_s / raw))

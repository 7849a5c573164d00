"""Time accounting: a deadline for the whole fit, a reserve for the ensemble and the
artifact, and cost estimates calibrated by what trials really took."""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:  # models import search (their spaces), so only for the annotations
    from assay.models._base import Model


class Budget:
    """Trials may run until `trial_deadline`; the rest of the limit is kept for the end:
    the ensemble and the artifact, and after `reserve_refit()` the refit of the ensemble's
    configs on all rows (about one fold's fit each)."""

    def __init__(self, time_limit_s: float, started: float | None = None):
        self.time_limit_s = float(time_limit_s)
        self.started = time.monotonic() if started is None else started
        self.reserve_s = min(max(1.0, 0.06 * self.time_limit_s), 20.0)
        self.refit = False

    def reserve_refit(self) -> None:
        """Keep 12% of the limit more for the end, for the refit on all rows (once)."""
        if not self.refit and math.isfinite(self.time_limit_s):
            self.reserve_s += 0.12 * self.time_limit_s
        self.refit = True

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
# Learned on tabular_design at 60 s (benchmarks/results/tabular_design_60s_defaults.md): a
# fit on fewer training rows than these takes these folds, else 3, with the row counts
# scaled by the trial time against a 60 s fit's
FOLDS_BY_ROWS = ((2_000, 8), (10_000, 5))
REFERENCE_LIMIT_S = 60.0
HEAD_CONFIGS = 6  # the portfolio's first configs ...
HEAD_SHARE = 2.0  # ... must fit, at the folds picked, in this many times the trial time


def folds_for_budget(
    max_folds: int,
    n_rows: int,
    head_fold_s: list[float],
    window_s: float,
    *,
    rows_rule: tuple[tuple[int, int], ...] = FOLDS_BY_ROWS,
    share: float = HEAD_SHARE,
) -> int:
    """The bagging folds of a timed fit: 8, 5 or 3 by the training rows per second of
    trial time (`rows_rule`), never more than the data allows (`max_folds`), and fewer
    when the portfolio's first `HEAD_CONFIGS` configs, at their estimated seconds per
    fold, would not fit in `share` times the trial time.

    On the 52 design datasets at 60 s this rule (8 folds under 2,000 rows, 5 under 10,000,
    else 3) scores 0.9946 normalized, where a fixed 3, 5 or 8 folds score 0.9916, 0.9863
    and 0.9860 and the head-cost rule alone at its best share 0.9916: small data gains
    from more folds (more rows per fold model, steadier out-of-fold scores); on large
    data 8 folds leave room for three or four trials (a 15,000-row regression: LightGBM
    at 1.5 s a fold, no MLP, no CatBoost), where 3 folds buy the diverse trials an
    ensemble is made of. The row counts scale with the budget (300 s: 8 folds under
    10,000 rows), which the design runs at 60 s do not test. With no limit, as many folds
    as the data size allows."""
    if max_folds <= min(FOLD_CHOICES) or not math.isfinite(window_s):
        return max_folds
    scale = window_s / _trial_window_s(REFERENCE_LIMIT_S)
    by_rows = next((k for rows, k in rows_rule if n_rows < rows * scale), min(FOLD_CHOICES))
    head_s = sum(head_fold_s[:HEAD_CONFIGS])
    by_time = next((k for k in FOLD_CHOICES if k * head_s <= share * window_s), min(FOLD_CHOICES))
    return min(max_folds, by_rows, by_time)


def _trial_window_s(time_limit_s: float) -> float:
    budget = Budget(time_limit_s, started=0.0)
    return budget.trial_deadline - budget.started


def fold_cost_s(
    model_cls: type[Model], n_rows: int, n_features: int, config: dict, n_classes: int
) -> float:
    """The model's own rough seconds for one fold: `cost()` times `classes_cost()`."""
    return model_cls.cost(n_rows, n_features, config) * model_cls.classes_cost(n_classes)


class FitShape(Protocol):
    """The sizes a cost depends on (a FitContext has them all)."""

    @property
    def n_rows(self) -> int: ...
    @property
    def n_features(self) -> int: ...
    @property
    def n_classes(self) -> int: ...
    def fits_per_trial(self, model_cls: type, config: dict) -> int: ...


class CostModel:
    """Estimates the seconds a trial of a config needs from `fold_cost_s` times the fits it
    makes (one per fold, or one for a forest scored out of bag), scaled by the
    observed/estimated ratio of the trials of its family and kind (`Model.cost_kind`),
    else of every trial: a kind not yet seen borrows the machine's pace, not its sibling's
    departure from the estimate."""

    def __init__(self) -> None:
        self._log_ratios: dict[tuple[str, str], list[float]] = {}

    @staticmethod
    def _unscaled_s(model_cls: type[Model], config: dict, shape: FitShape) -> float:
        per_fold = fold_cost_s(model_cls, shape.n_rows, shape.n_features, config, shape.n_classes)
        return per_fold * shape.fits_per_trial(model_cls, config)

    def _factor(self, key: tuple[str, str]) -> float:
        own = self._log_ratios.get(key)
        every = [r for ratios in self._log_ratios.values() for r in ratios]
        ratios = own or every
        return math.exp(sum(ratios) / len(ratios)) if ratios else 1.0

    def estimate_s(self, model_cls: type[Model], config: dict, shape: FitShape) -> float:
        key = (model_cls.name, model_cls.cost_kind(config))
        return self._unscaled_s(model_cls, config, shape) * self._factor(key)

    def cautious_estimate_s(self, model_cls: type[Model], config: dict, shape: FitShape) -> float:
        """`estimate_s`, but for a kind not yet seen never under its own `cost()`: the pace
        it would borrow is of other families' formulas, which can be far off for it (on
        MRPC the fine-tuned encoder's one fold took 360 s where the borrowed pace, a
        quarter of the other trials' estimates, said about 100 s)."""
        estimate = self.estimate_s(model_cls, config, shape)
        if (model_cls.name, model_cls.cost_kind(config)) in self._log_ratios:
            return estimate
        return max(estimate, self._unscaled_s(model_cls, config, shape))

    def observe(
        self, model_cls: type[Model], config: dict, shape: FitShape, actual_s: float
    ) -> None:
        raw = self._unscaled_s(model_cls, config, shape)
        if raw > 0 and actual_s > 0:
            key = (model_cls.name, model_cls.cost_kind(config))
            self._log_ratios.setdefault(key, []).append(math.log(actual_s / raw))

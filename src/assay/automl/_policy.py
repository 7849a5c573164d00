"""What the search loop decides between trials: which weak configs to stop after their
first folds, which finished trials to let go of, and which configs would not fit in memory."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from assay._types import TrialState
from assay.automl._context import is_one_fold
from assay.evaluate import Metric

if TYPE_CHECKING:
    from assay.models import Model

PRUNE_AFTER_N_COMPLETE = 10  # a tuned config must beat the 10th best so far to continue


def _complete(outcomes: list) -> list:
    return [o for o in outcomes if o.state is TrialState.COMPLETE]


class WeakConfigPruner:
    """`prune(fold_scores)`: True when a config's first folds score worse than the
    `rank`-th best finished trial did on the same folds. It holds the finished trials' fold
    scores only, so it travels to a worker process cheaply."""

    def __init__(self, fold_scores: list[list[float]], metric: Metric, rank: int):
        self.fold_scores, self.metric, self.rank = fold_scores, metric, rank

    def __call__(self, fold_scores: list[float]) -> bool:
        n, loss = len(fold_scores), self.metric.loss
        mine = np.nanmean([loss(s) for s in fold_scores])
        theirs = sorted(np.nanmean([loss(s) for s in scores[:n]]) for scores in self.fold_scores)
        return bool(mine > theirs[self.rank - 1])


def weak_config_pruner(
    outcomes: list, metric: Metric, rank: int = PRUNE_AFTER_N_COMPLETE
) -> Callable[[list[float]], bool] | None:
    """A WeakConfigPruner over the finished trials; None until `rank` trials finished.
    Comparing on the same folds keeps the hard and easy folds of the split out of it."""
    done = [o for o in _complete(outcomes) if o.fit is not None]
    if len(done) < rank:
        return None
    return WeakConfigPruner([list(o.fit.fold_scores) for o in done], metric, rank)


def release_outside_top(outcomes: list, metric: Metric, keep: int, protected: tuple = ()) -> None:
    """Let go of the finished trials that can no longer be among the `keep` best (the
    ensemble's candidates): their fold models (in memory or, through `saved_in`, in their
    checkpoint, which the caller deletes) and their OOF predictions. Trials whose id() is
    in `protected` (a stack's inputs) are kept whatever their rank, and so are one-fold
    trials (`is_one_fold`), which the ensemble blends in apart from the ranked ones."""
    ranked = (o for o in _complete(outcomes) if not is_one_fold(o))
    done = sorted(ranked, key=lambda o: metric.loss(o.score))
    for outcome in done[keep:]:
        if id(outcome) in protected:
            continue
        if outcome.has_models:
            outcome.fit.models, outcome.fit.encoders = [], []
            outcome.fit.oof = None
            outcome.saved_in = None


def available_memory_mb() -> float:
    import psutil

    return psutil.virtual_memory().available / 2**20


class MemoryGuard:
    """Refuses a config whose estimated memory (its fold models plus a working copy of the
    data) would not fit beside what the fit already holds: the fold models still in memory
    (a checkpointed trial's are not) and the kept trials' out-of-fold predictions.
    Estimates and array sizes, not measurements, so the same fit makes the same choices on
    any machine with enough memory."""

    def __init__(
        self,
        limit_mb: float,
        n_rows: int,
        n_features: int,
        n_folds: int,
        fits_per_trial: Callable[[type, dict], int] | None = None,
    ):
        """`fits_per_trial(cls, config)`: the models a trial fits (FitContext's; default
        one per fold), one meaning a single model on all rows."""
        self.limit_mb = float(limit_mb)
        self.n_rows = n_rows
        self.n_features = n_features
        self.n_folds = n_folds
        self.fits_per_trial = fits_per_trial
        self.held_mb = 0.0

    def _trial_models_mb(self, cls: type[Model], config: dict, n_classes: int) -> float:
        fits = self.n_folds if self.fits_per_trial is None else self.fits_per_trial(cls, config)
        n_train = self.n_rows if fits == 1 else self.n_rows * (fits - 1) // fits
        return fits * cls.memory_mb(n_train, self.n_features, n_classes, config)

    def estimate_mb(self, cls: type[Model], config: dict, n_classes: int) -> float:
        working_mb = 4 * self.n_rows * max(self.n_features, 1) * 8 / 2**20
        return self._trial_models_mb(cls, config, n_classes) + working_mb

    def refuse(self, cls: type[Model], config: dict, n_classes: int) -> str | None:
        """Why the config must be skipped, or None when it fits."""
        need = self.estimate_mb(cls, config, n_classes)
        free = self.limit_mb - self.held_mb
        if need > free:
            return f"needs ~{need:.0f} MB of memory, {free:.0f} MB left of {self.limit_mb:.0f} MB"
        return None

    def hold(self, outcomes: list, models: dict[str, type[Model]]) -> None:
        """Account for what the trials still hold: fold models kept in memory (estimated)
        and out-of-fold predictions (their size)."""
        held_models = sum(
            self._trial_models_mb(
                models[o.candidate.model], o.candidate.config, _n_classes(o.fit.oof)
            )
            for o in outcomes
            if o.models_in_memory
        )
        oofs = [o.fit.oof for o in outcomes if o.fit is not None and o.fit.oof is not None]
        self.held_mb = held_models + sum(oof.nbytes for oof in oofs) / 2**20


def _n_classes(oof: np.ndarray | None) -> int:
    return 0 if oof is None or oof.ndim == 1 else oof.shape[1]

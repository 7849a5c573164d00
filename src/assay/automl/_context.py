"""What every trial of a fit shares: the data, its folds, the task, the metric and the
deadline, as one frozen object (sent once to an executor's workers)."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from assay._types import FeatureType, Task
from assay.evaluate import CrossFit, Metric, cross_fit
from assay.evaluate._cv import safe_score
from assay.models import MODELS

if TYPE_CHECKING:
    from assay.models import Model


@dataclass(frozen=True)
class FitContext:
    X: pd.DataFrame
    y: np.ndarray
    types: dict[str, FeatureType]
    folds: list[tuple[np.ndarray, np.ndarray]]
    task: Task
    metric: Metric
    n_classes: int  # 0 for regression
    n_jobs: int  # threads for one trial's models
    random_state: int
    deadline: float = math.inf  # a time.monotonic() value of this process
    w: np.ndarray | None = None  # row weights (None: every row counts alike)
    # per fold, target-built columns without that fold's targets (see cross_fit)
    fold_columns: list[pd.DataFrame] | None = None
    # forests fit once on all rows and score out of bag (no groups, time split or cv given)
    out_of_bag: bool = False

    @property
    def n_rows(self) -> int:
        return len(self.X)

    @property
    def n_features(self) -> int:
        return self.X.shape[1]

    @property
    def n_folds(self) -> int:
        return len(self.folds)

    def fits_per_trial(self, model_cls: type[Model], config: dict) -> int:
        """The models a trial of `config` fits: one when it scores out of bag (see
        evaluate.cross_fit) or its family fits the first fold alone (`Model.one_fold`),
        else one per fold."""
        if getattr(model_cls, "one_fold", False):
            return 1
        if self.out_of_bag and self.fold_columns is None and model_cls.scores_out_of_bag(config):
            return 1
        return self.n_folds

    def replace(self, **changes: Any) -> FitContext:
        """A copy with some fields changed (the stacking check fits on a subset of rows)."""
        return dataclasses.replace(self, **changes)

    def cross_fit(self, model_cls: type, config: dict[str, Any], prune=None) -> CrossFit:
        """Bag `config` over the folds under the deadline (see evaluate.cross_fit); a
        one-fold family (`Model.one_fold`) fits the first fold alone, and its out-of-fold
        predictions are NaN outside that fold's rows."""
        one_fold = getattr(model_cls, "one_fold", False)
        folds = self.folds[:1] if one_fold else self.folds
        fit = cross_fit(
            model_cls,
            config,
            self.X,
            self.y,
            self.types,
            folds,
            task=self.task,
            metric=self.metric,
            n_classes=self.n_classes,
            n_jobs=self.n_jobs,
            random_state=self.random_state,
            deadline=self.deadline,
            prune=prune,
            w=self.w,
            fold_columns=self.fold_columns,
            out_of_bag=self.out_of_bag,
        )
        if one_fold:
            fit.oof[np.setdiff1d(np.arange(self.n_rows), folds[0][1])] = np.nan
        return fit

    def oof_score(self, oof: np.ndarray) -> float:
        """The metric of out-of-fold predictions on the rows the folds validate that have
        one (a one-fold family's: its fold's rows), weighted."""
        rows = covered_rows(oof, self.scored_rows)
        w = None if self.w is None else self.w[rows]
        return safe_score(self.metric, self.y[rows], oof[rows], w)

    @property
    def scored_rows(self) -> np.ndarray:
        """The rows some fold validates, in order (all rows, but under a time split)."""
        return scored_rows(self.folds, len(self.y))


def is_one_fold(outcome) -> bool:
    """Whether a trial's family fits the first fold alone (`Model.one_fold`): its trials are
    blended into the ensemble on that fold's rows, not ranked with the bagged ones."""
    return bool(getattr(MODELS.get(outcome.candidate.model), "one_fold", False))


def covered_rows(oof: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Those of `rows` where `oof` has a prediction (not NaN): all of them but for a
    one-fold family's trial, whose predictions cover its fold's rows only."""
    finite = np.isfinite(oof[rows]) if oof.ndim == 1 else np.isfinite(oof[rows]).all(axis=1)
    return rows[finite]


def scored_rows(folds: list[tuple[np.ndarray, np.ndarray]], n_rows: int) -> np.ndarray:
    """The rows some fold validates, in order: every row under the usual folds; under a
    time split the earliest rows, which only train, have no out-of-fold prediction."""
    seen = np.zeros(n_rows, dtype=bool)
    for _, valid in folds:
        seen[valid] = True
    return np.flatnonzero(seen)

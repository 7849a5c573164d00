"""Running one candidate config as a trial: cross-fit under the deadline, turn every outcome
(complete, pruned by time, failed) into a TrialRecord, and write it to the store at once."""

from __future__ import annotations

import time
import traceback
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from assay._types import SkipReason, TrialSource, TrialState
from assay.automl._context import FitContext
from assay.evaluate import CrossFit, TrialPruned, TrialTimeout
from assay.log import get_logger
from assay.search import Candidate

logger = get_logger(__name__)
LEVEL_KEY = "__level__"  # in a stored trial's config: 2 for a stacking layer's fit
OUT_OF_MEMORY = "out of memory"  # how a trial's error starts when an allocation failed
# what libraries other than numpy say when an allocation fails (torch, C++ std::bad_alloc)
_OOM_WORDS = ("can't allocate memory", "cannot allocate memory", "out of memory", "bad_alloc")


def is_out_of_memory(exc: BaseException) -> bool:
    """A MemoryError, or a library's own error for an allocation that failed."""
    text = str(exc).lower()
    return isinstance(exc, MemoryError) or any(words in text for words in _OOM_WORDS)


@dataclass
class TrialOutcome:
    trial_no: int
    candidate: Candidate
    state: TrialState
    score: float
    fit: CrossFit | None
    error: str | None = None
    elapsed_s: float = 0.0
    partial_score: float = float("nan")  # mean fold score of a pruned trial's folds
    fold_s: float = 0.0  # mean seconds per finished fold of a trial stopped for time
    skipped_for: SkipReason | None = None  # why a SKIPPED trial did not run
    saved_in: Path | None = None  # its checkpoint, once the fold models left memory for it

    @property
    def loss_score(self) -> float:
        """The score the searcher learns from: the full one, else the pruned folds' mean."""
        return self.score if np.isfinite(self.score) else self.partial_score

    @property
    def level(self) -> int:
        """2 for a stacking layer's fit (on the bases' out-of-fold predictions), else 1."""
        return 2 if self.candidate.source is TrialSource.STACK else 1

    @property
    def models_in_memory(self) -> bool:
        """Whether the trial's fold models are held in this process."""
        return self.fit is not None and bool(self.fit.models)

    @property
    def has_models(self) -> bool:
        """Whether the trial's fold models can still be had: in memory, or in its
        checkpoint (where they go as soon as the trial is recorded)."""
        return self.models_in_memory or self.saved_in is not None


def skipped_trial(
    trial_no: int, candidate: Candidate, reason: SkipReason, why: str
) -> TrialOutcome:
    return TrialOutcome(
        trial_no, candidate, TrialState.SKIPPED, np.nan, None, why, skipped_for=reason
    )


def run_trial(
    trial_no: int, candidate: Candidate, model_cls: type, ctx: FitContext, prune=None
) -> TrialOutcome:
    """Cross-fit the candidate in `ctx`; `prune` may stop a weak config after its first
    folds (see cross_fit). Every way a trial ends becomes an outcome, never an exception."""
    started = time.monotonic()
    try:
        fit = ctx.cross_fit(model_cls, candidate.config, prune=prune)
    except (TrialPruned, TrialTimeout) as exc:  # pruned as weak, or out of time
        logger.info("trial %d (%s) stopped: %s", trial_no, candidate.model, exc)
        scores = getattr(exc, "fold_scores", [])
        return TrialOutcome(
            trial_no,
            candidate,
            TrialState.PRUNED,
            np.nan,
            None,
            str(exc),
            time.monotonic() - started,
            partial_score=float(np.nanmean(scores)) if scores else float("nan"),
            fold_s=getattr(exc, "fold_s", 0.0),
        )
    except Exception as exc:  # one failing config must not end the run
        logger.warning("trial %d (%s) failed: %s", trial_no, candidate.model, exc)
        error = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        if is_out_of_memory(exc):
            error = f"{OUT_OF_MEMORY}: {error}"
        return TrialOutcome(
            trial_no, candidate, TrialState.FAILED, np.nan, None, error, time.monotonic() - started
        )
    score = ctx.oof_score(fit.oof)
    state = TrialState.COMPLETE if np.isfinite(score) else TrialState.FAILED
    why = None if np.isfinite(score) else "the out-of-fold score is not a finite number"
    return TrialOutcome(trial_no, candidate, state, score, fit, why, time.monotonic() - started)


def run_trial_task(
    trial_no: int,
    candidate: Candidate,
    model_cls: type,
    shared: FitContext,
    deadline_wall: float,
    prune=None,
) -> TrialOutcome:
    """run_trial as an executor task: `shared` is the fit's context sent once to every
    worker, and the deadline travels as wall-clock time (each process has its own
    monotonic clock)."""
    from assay.execute._executors import local_deadline

    ctx = shared.replace(deadline=local_deadline(deadline_wall))
    return run_trial(trial_no, candidate, model_cls, ctx, prune)


def lost_trial(trial_no: int, candidate: Candidate, error: BaseException) -> TrialOutcome:
    """The outcome of a trial whose worker died or whose task failed outside the trial."""
    reason = f"{type(error).__name__}: {error}"
    logger.warning("trial %d (%s) failed: %s", trial_no, candidate.model, reason)
    return TrialOutcome(trial_no, candidate, TrialState.FAILED, np.nan, None, reason)


def record_trial(store, run_id: str | None, outcome: TrialOutcome, oof_dir: Path | None) -> None:
    """Append the trial to the store (and its OOF predictions next to the run) right away,
    so a kill loses only the trial in flight."""
    if store is None or run_id is None:
        return
    from assay.store import TrialRecord

    oof_path = None
    if outcome.fit is not None and oof_dir is not None:
        oof_dir.mkdir(parents=True, exist_ok=True)
        oof_path = str(oof_dir / f"trial_{outcome.trial_no:04d}.npy")
        np.save(oof_path, outcome.fit.oof)
    fit = outcome.fit
    store.record_trial(
        TrialRecord(
            run_id=run_id,
            trial_no=outcome.trial_no,
            model=outcome.candidate.model,
            # level-2 fits are marked, so a resumed run knows to decide the stack anew
            config={**outcome.candidate.config, LEVEL_KEY: 2}
            if outcome.level == 2
            else outcome.candidate.config,
            state=outcome.state,
            score=None if not np.isfinite(outcome.score) else float(outcome.score),
            fold_scores=tuple(fit.fold_scores) if fit else (),
            fit_time_s=fit.fit_time_s if fit else outcome.elapsed_s,
            predict_time_s=fit.predict_time_s if fit else 0.0,
            peak_memory_mb=fit.peak_memory_mb if fit else None,
            error=outcome.error,
            oof_path=oof_path,
            created_at=time.time(),
        )
    )

"""The trial loop of a fit: ask the searcher, submit trials to the executor (N in flight
on N workers), take results in the order they were asked, checkpoint and record each one,
and let go of what can no longer join the ensemble. A resumed run starts from its
recorded trials.

The driver checkpoints: a worker (of a Dask cluster too) returns the trial's fold models
with its outcome, and `add` writes them to the run's folder and drops them from memory, so
the driver holds the trials' out-of-fold predictions only."""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assay._types import SkipReason, TrialSource, TrialState
from assay.automl._assemble import MAX_ENSEMBLE_CANDIDATES, n_level1_run
from assay.automl._checkpoint import drop_trial, resumed_outcomes, save_trial
from assay.automl._context import FitContext
from assay.automl._policy import MemoryGuard, release_outside_top, weak_config_pruner
from assay.automl._trials import (
    OUT_OF_MEMORY,
    TrialOutcome,
    lost_trial,
    record_trial,
    run_trial,
    run_trial_task,
    skipped_trial,
)
from assay.errors import BudgetError, FitError
from assay.evaluate._memory import release_freed_memory
from assay.execute._executors import wall_deadline
from assay.log import get_logger
from assay.search import Budget, Candidate, CostModel, Searcher

_MAX_CONSECUTIVE_SKIPS = 8
# of the trial time: the most one config may use under a time limit (a one-fold family's
# too: given 0.7 on MRPC at 600 s, the fine-tuned encoder's one model took 360 s of it, and
# three fits scored 0.794, 0.786 and 0.784 against 0.787 without it)
_TRIAL_SHARE = 0.35
_DEFER_SHARE = 0.25  # a portfolio config estimated above this share of the time left waits
logger = get_logger(__name__)


@dataclass(frozen=True)
class Progress:
    """What a progress display needs after each trial."""

    n_done: int
    n_failed: int
    best_score: float | None
    best_model: str | None
    time_left_s: float
    last: TrialOutcome


@dataclass(frozen=True)
class FeatureProgress:
    """Progress of a slow feature step before the search (embedding texts)."""

    what: str
    n_done: int
    n_total: int


@dataclass(frozen=True)
class Recorder:
    """Where finished trials go: the run's folder (checkpoints, OOF) and the store."""

    store: Any = None
    run_id: str | None = None
    run_dir: Path | None = None


class TrialLoop:
    """Runs the trials of one fit. `run(until)` may be called more than once (the search
    pauses for the stacking check); `add` records a trial run elsewhere (a level-2 fit)."""

    def __init__(
        self,
        ctx: FitContext,
        models: dict[str, type],
        searcher: Searcher,
        memory: MemoryGuard,
        budget: Budget,
        executor: Any,
        recorder: Recorder,
        *,
        n_trials: int | None = None,
        callback: Callable[[Progress], None] | None = None,
    ):
        self.ctx = ctx
        self.models = models
        self.searcher = searcher
        self.memory = memory
        self.budget = budget
        self.executor = executor
        self.recorder = recorder
        self.n_trials = n_trials
        self.callback = callback
        self.costs = CostModel()
        self.outcomes: list[TrialOutcome] = []
        self.protected: tuple[int, ...] = ()  # trials whose fold models the stack needs
        self._skips = 0
        self._n_numbered = 0  # trial numbers handed out (skips and trials in flight included)
        self._timed = math.isfinite(budget.time_limit_s)
        # the context as sent to the executor's workers: once, without a deadline
        self._shared = executor.share(ctx.replace(deadline=math.inf))

    # -- public --------------------------------------------------------------------
    def run(self, until: float) -> None:
        """Run trials until `until` (a time.monotonic() value), the trial count, or the
        end of the candidates. With an executor of N workers, N trials are in flight;
        results are taken in the order the trials were asked, so a fixed trial count gives
        the same trials whatever finishes first."""
        inflight: deque = deque()
        asking = True
        while True:
            while asking and len(inflight) < self.executor.n_workers:
                if (
                    not self._may_ask(until, len(inflight))
                    or (candidate := self.searcher.ask()) is None
                ):
                    asking = False
                else:
                    n_before = len(self.outcomes)
                    job = self._start(candidate)
                    if job is not None:
                        inflight.append(job)
                    elif len(self.outcomes) > n_before:  # skipped (a deferral records nothing)
                        self._report(self.outcomes[-1])
            if not inflight:
                return
            trial_no, candidate, future = inflight.popleft()
            try:
                outcome = future.result()
            except Exception as exc:  # the worker died twice, or the task never ran
                outcome = lost_trial(trial_no, candidate, exc)
            self._skips = 0
            self._learn(candidate, outcome)
            self.add(outcome)
            self._report(outcome)

    def run_here(self, candidate: Candidate, ctx: FitContext) -> TrialOutcome:
        """Run one trial in this process on another context (a level-2 config) and add it."""
        outcome = run_trial(self._next_trial_no(), candidate, self.models[candidate.model], ctx)
        self.add(outcome)
        return outcome

    def add(self, outcome: TrialOutcome) -> None:
        """Checkpoint and record the trial at once (its fold models leave memory for the
        checkpoint), and let go of the trials that can no longer matter."""
        rec = self.recorder
        self.outcomes.append(outcome)
        logger.info(
            "trial %d %s %s: %s%s in %.1fs",
            outcome.trial_no,
            outcome.candidate.model,
            outcome.candidate.config,
            outcome.state.value,
            "" if math.isnan(outcome.score) else f", {self.ctx.metric.name} {outcome.score:.5g}",
            outcome.elapsed_s,
        )
        if rec.run_dir is not None:
            save_trial(rec.run_dir, outcome)  # before the store: a recorded trial has its models
        record_trial(rec.store, rec.run_id, outcome, rec.run_dir / "oof" if rec.run_dir else None)
        held = {o.trial_no for o in self.outcomes if o.has_models}
        release_outside_top(
            self.outcomes, self.ctx.metric, keep=MAX_ENSEMBLE_CANDIDATES, protected=self.protected
        )
        if rec.run_dir is not None:
            for o in self.outcomes:
                if o.trial_no in held and not o.has_models:
                    drop_trial(rec.run_dir, o.trial_no)
        self.memory.hold(self.outcomes, self.models)
        release_freed_memory()

    def reload(self, trials: list) -> None:
        """A resumed run: its finished trials back as outcomes (their models stay in their
        checkpoints), told to the searcher."""
        metric, run_dir = self.ctx.metric, self.recorder.run_dir
        for outcome in resumed_outcomes(trials, run_dir):
            if outcome.candidate.model not in self.models:
                continue
            self.outcomes.append(outcome)
            if outcome.state is not TrialState.SKIPPED:
                self.searcher.tell(outcome.candidate, metric.loss(outcome.loss_score))
        self._n_numbered = 1 + max((t.trial_no for t in trials), default=-1)
        release_outside_top(self.outcomes, metric, keep=MAX_ENSEMBLE_CANDIDATES)
        self.memory.hold(self.outcomes, self.models)
        if run_dir is not None:  # a kill before the let-go of `add` left these
            for o in self.outcomes:
                if o.state is TrialState.COMPLETE and not o.has_models:
                    drop_trial(run_dir, o.trial_no)

    def check_any_complete(self, time_limit_s: float | None, memory_limit_mb: float | None):
        """An error whose advice fits why no trial finished: models that raised errors
        (named with their errors), ran out of memory, were skipped for memory, or ran out
        of time."""
        outcomes = self.outcomes
        if any(o.state is TrialState.COMPLETE for o in outcomes):
            return
        limits = f"time_limit_s={time_limit_s}, memory_limit_mb={memory_limit_mb}"
        failed = [o for o in outcomes if o.state is TrialState.FAILED]
        if failed:
            errors: dict[str, str] = {}
            for o in failed:
                error = (o.error or "no message").strip().splitlines()[-1]
                errors.setdefault(o.candidate.model, error[:300])
            named = "; ".join(f"{model}: {error}" for model, error in errors.items())
            if all((o.error or "").startswith(OUT_OF_MEMORY) for o in failed):
                raise BudgetError(
                    f"No model finished ({limits}): every model ran out of memory ({named}). "
                    "Give the fit more memory or fewer rows, or choose lighter models "
                    "(--models / models=...)."
                )
            n_timed = sum(o.state is TrialState.PRUNED for o in outcomes)
            timed = f" {n_timed} other trial(s) ran out of time (--time)." if n_timed else ""
            raise FitError(
                f"No model finished: {len(failed)} trial(s) raised errors ({named}).{timed} "
                "Fix what the errors name (the data, or the configs of --portfolio), or choose "
                "other models (--models / models=...); --verbose logs each trial's error."
            )
        stopped = [f"{o.candidate.model}: {o.error}" for o in outcomes if o.error]
        skipped = [o.skipped_for for o in outcomes if o.error]
        if skipped and all(reason is SkipReason.MEMORY for reason in skipped):
            advice = "Raise memory_limit_mb (--memory), or choose lighter models (models=...)."
        else:
            advice = "Raise the time limit (--time / time_limit_s)."
        raise BudgetError(f"No model finished ({limits}). {advice} Trials: {stopped[:3]}")

    # -- inside ----------------------------------------------------------------------
    def _next_trial_no(self) -> int:
        self._n_numbered += 1
        return self._n_numbered - 1

    def _may_ask(self, until: float, n_inflight: int) -> bool:
        """Time left before `until`, not too many skips in a row, trials left to run."""
        if min(until, self.budget.trial_deadline) <= time.monotonic():
            return False
        if self._skips >= _MAX_CONSECUTIVE_SKIPS:
            return False
        return self.n_trials is None or n_level1_run(self.outcomes) + n_inflight < self.n_trials

    def _estimate_s(self, candidate: Candidate) -> float:
        return self.costs.estimate_s(self.models[candidate.model], candidate.config, self.ctx)

    def _start(self, candidate: Candidate):
        """Submit the candidate as a trial: (number, candidate, future); or record why it
        is skipped (and return None). A deferred portfolio config also returns None, with
        nothing recorded."""
        budget, cls = self.budget, self.models[candidate.model]
        estimate = self._estimate_s(candidate)
        if (
            self._timed
            and estimate > _DEFER_SHARE * budget.trial_time_left_s()
            and self.searcher.defer(candidate)
        ):
            return None  # cheaper portfolio configs first; this one comes back at the end
        skip = None
        cap_s = _TRIAL_SHARE * (budget.trial_deadline - budget.started)
        refused = self.memory.refuse(cls, candidate.config, self.ctx.n_classes)
        if refused is not None:
            skip = (SkipReason.MEMORY, refused)
        elif self._timed and self._any_complete() and estimate > budget.trial_time_left_s():
            why = f"estimated {estimate:.1f}s, {budget.trial_time_left_s():.1f}s left"
            skip = (SkipReason.TIME, why)
        elif (
            self._timed
            and not getattr(cls, "useful_when_cut", True)
            and ((own_s := self.costs.cautious_estimate_s(cls, candidate.config, self.ctx)) > cap_s)
        ):  # cut short it is worthless: start it only when even its own cost fits
            why = f"estimated {own_s:.1f}s, over the {cap_s:.1f}s one config may take"
            skip = (SkipReason.TIME, why)
        trial_no = self._next_trial_no()
        if skip is not None:
            # the portfolio is finite and a skip costs nothing: read on for a config that
            # fits; only tuned proposals can repeat without end
            self._skips += candidate.source is not TrialSource.PORTFOLIO
            self.add(skipped_trial(trial_no, candidate, *skip))
            return None
        prune = None
        if candidate.source is TrialSource.TUNER:
            level1 = [o for o in self.outcomes if o.level == 1]
            prune = weak_config_pruner(level1, self.ctx.metric)
        deadline = budget.trial_deadline
        if self._timed:  # no config may take more than a share of the trial time
            deadline = min(budget.trial_deadline, time.monotonic() + cap_s)
        future = self.executor.submit(
            run_trial_task, trial_no, candidate, cls, self._shared, wall_deadline(deadline), prune
        )
        return trial_no, candidate, future

    def _learn(self, candidate: Candidate, outcome: TrialOutcome) -> None:
        """Calibrate the cost model and tell the searcher."""
        ctx, fit = self.ctx, outcome.fit
        took_s = fit.fit_time_s + fit.predict_time_s if fit else outcome.fold_s * ctx.n_folds
        if took_s > 0:  # a trial stopped for time still tells what a fold costs
            self.costs.observe(self.models[candidate.model], candidate.config, ctx, took_s)
        self.searcher.tell(candidate, ctx.metric.loss(outcome.loss_score))

    def _any_complete(self) -> bool:
        return any(o.state is TrialState.COMPLETE for o in self.outcomes)

    def _report(self, outcome: TrialOutcome) -> None:
        if self.callback is None:
            return
        metric = self.ctx.metric
        done = [o for o in self.outcomes if o.state is TrialState.COMPLETE]
        best = min(done, key=lambda o: metric.loss(o.score)) if done else None
        self.callback(
            Progress(
                n_done=len(done),
                n_failed=sum(o.state is TrialState.FAILED for o in self.outcomes),
                best_score=best.score if best else None,
                best_model=best.candidate.model if best else None,
                time_left_s=max(0.0, self.budget.deadline - time.monotonic()),
                last=outcome,
            )
        )

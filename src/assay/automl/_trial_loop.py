"""The trial loop of a fit: ask the searcher, submit trials to the executor (N in flight
on N workers), take results in the order they were asked, checkpoint and record each one,
and let go of what can no longer join the ensemble. A resumed run starts from its
recorded trials. A mixin of AutoML, kept apart so the orchestrator stays short."""

from __future__ import annotations

import math
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

import numpy as np

from assay._types import TrialState
from assay.automl._assemble import MAX_ENSEMBLE_CANDIDATES, n_level1_run
from assay.automl._assemble import is_level2 as _is_level2
from assay.automl._checkpoint import drop_trial, resumed_outcomes, save_trial
from assay.automl._policy import MemoryGuard, release_outside_top, weak_config_pruner
from assay.automl._trials import (
    OUT_OF_MEMORY,
    TrialOutcome,
    lost_trial,
    record_trial,
    run_trial_task,
)
from assay.errors import BudgetError, FitError
from assay.execute._executors import wall_deadline
from assay.search import CostModel, Searcher

_MAX_CONSECUTIVE_SKIPS = 8
_TRIAL_SHARE = 0.35  # of the trial time: the most one config may use under a time limit
_DEFER_SHARE = 0.25  # a portfolio config estimated above this share of the time left waits


@dataclass
class _SearchState:
    """The search loop's state, so the loop can pause for the stacking check and resume."""

    searcher: Searcher
    memory: MemoryGuard
    costs: CostModel
    outcomes: list
    skips: int = 0
    protected: tuple = ()  # trials whose fold models the stack needs
    n_numbered: int = 0  # trial numbers handed out (skips and trials in flight included)
    executor: Any = None  # where trials run (assay.execute._executors)
    shared: Any = None  # the fit's context as sent to the executor's workers

    def next_trial_no(self) -> int:
        self.n_numbered += 1
        return self.n_numbered - 1


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


class TrialLoopMixin:
    """`_search` and what it needs; AutoML provides n_trials and run_id_."""

    def _search(
        self, state, models, budget, callback, run_dir, store, ctx, *, until: float
    ) -> None:
        """Run trials until `until` (a time.monotonic() value), the trial count, or the
        end of the candidates; `state` carries over between calls. With an executor of N
        workers, N trials are in flight; results are taken in the order the trials were
        asked, so a fixed trial count gives the same trials whatever finishes first."""
        n_rows, n_features = ctx["X"].shape
        n_folds = len(ctx["folds"])
        outcomes, costs, searcher = state.outcomes, state.costs, state.searcher
        metric = ctx["metric"]
        timed = math.isfinite(budget.time_limit_s)
        inflight: deque = deque()
        asking = True
        while True:
            while asking and len(inflight) < state.executor.n_workers:
                if (
                    not self._may_ask(state, budget, until, len(inflight))
                    or (candidate := searcher.ask()) is None
                ):
                    asking = False
                else:
                    n_before = len(outcomes)
                    job = self._start_trial(
                        state, candidate, models, budget, ctx, timed, store, run_dir
                    )
                    if job is not None:
                        inflight.append(job)
                    elif len(outcomes) > n_before:  # skipped (a deferral records nothing)
                        self._report(state, outcomes[-1], callback, budget, metric)
            if not inflight:
                break
            trial_no, candidate, future = inflight.popleft()
            try:
                outcome = future.result()
            except Exception as exc:  # the worker died twice, or the task never ran
                outcome = lost_trial(trial_no, candidate, exc)
            state.skips = 0
            cls = models[candidate.model]
            fit = outcome.fit
            took_s = fit.fit_time_s + fit.predict_time_s if fit else outcome.fold_s * n_folds
            if took_s > 0:  # a trial stopped for time still tells what a fold costs
                costs.observe(cls, n_rows, n_features, candidate.config, n_folds, took_s)
            searcher.tell(candidate, metric.loss(outcome.loss_score))
            self._after_trial(state, outcome, models, store, run_dir, metric)
            self._report(state, outcome, callback, budget, metric)

    def _reload(self, state, trials, run_dir, models, metric) -> None:
        """A resumed run: its finished trials back as outcomes, told to the searcher."""
        for outcome in resumed_outcomes(trials, run_dir):
            if outcome.candidate.model not in models:
                continue
            state.outcomes.append(outcome)
            if outcome.state is not TrialState.SKIPPED:
                state.searcher.tell(outcome.candidate, metric.loss(outcome.loss_score))
        state.n_numbered = 1 + max((t.trial_no for t in trials), default=-1)
        release_outside_top(state.outcomes, metric, keep=MAX_ENSEMBLE_CANDIDATES)
        held = [o for o in state.outcomes if o.fit is not None and o.fit.models]
        state.memory.hold(held, models)
        if run_dir is not None:  # a kill before the let-go of _after_trial left these
            for o in state.outcomes:
                if o.state is TrialState.COMPLETE and not (o.fit and o.fit.models):
                    drop_trial(run_dir, o.trial_no)

    def _may_ask(self, state, budget, until: float, n_inflight: int) -> bool:
        """Time left before `until`, not too many skips in a row, trials left to run."""
        if min(until, budget.trial_deadline) <= time.monotonic():
            return False
        if state.skips >= _MAX_CONSECUTIVE_SKIPS:
            return False
        return self.n_trials is None or n_level1_run(state.outcomes) + n_inflight < self.n_trials

    def _start_trial(self, state, candidate, models, budget, ctx, timed, store, run_dir):
        """Submit the candidate as a trial: (number, candidate, future); or record why it
        is skipped (and return None). A deferred portfolio config also returns None, with
        nothing recorded."""
        n_rows, n_features = ctx["X"].shape
        n_folds = len(ctx["folds"])
        cls = models[candidate.model]
        done = [o for o in state.outcomes if o.state is TrialState.COMPLETE]
        estimate = state.costs.estimate_s(cls, n_rows, n_features, candidate.config, n_folds)
        if (
            timed
            and estimate > _DEFER_SHARE * budget.trial_time_left_s()
            and state.searcher.defer(candidate)
        ):
            return None  # cheaper portfolio configs first; this one comes back at the end
        reason = state.memory.refuse(cls, candidate.config, ctx["n_classes"])
        if reason is None and timed and done and estimate > budget.trial_time_left_s():
            reason = f"estimated {estimate:.1f}s, {budget.trial_time_left_s():.1f}s left"
        trial_no = state.next_trial_no()
        if reason is not None:
            outcome = TrialOutcome(trial_no, candidate, TrialState.SKIPPED, np.nan, None, reason)
            # the portfolio is finite and a skip costs nothing: read on for a config that
            # fits; only tuned proposals can repeat without end
            state.skips += candidate.source != "portfolio"
            self._after_trial(state, outcome, models, store, run_dir, ctx["metric"])
            return None
        level1 = [o for o in state.outcomes if not _is_level2(o)]
        prune = weak_config_pruner(level1, ctx["metric"]) if candidate.source == "tpe" else None
        deadline = budget.trial_deadline
        if timed:  # no config may take more than a share of the trial time
            cap = time.monotonic() + _TRIAL_SHARE * (budget.trial_deadline - budget.started)
            deadline = min(budget.trial_deadline, cap)
        future = state.executor.submit(
            run_trial_task, trial_no, candidate, cls, state.shared, wall_deadline(deadline), prune
        )
        return trial_no, candidate, future

    def _report(self, state, outcome, callback, budget, metric) -> None:
        if callback is None:
            return
        done = [o for o in state.outcomes if o.state is TrialState.COMPLETE]
        best = min(done, key=lambda o: metric.loss(o.score)) if done else None
        callback(
            Progress(
                n_done=len(done),
                n_failed=sum(o.state is TrialState.FAILED for o in state.outcomes),
                best_score=best.score if best else None,
                best_model=best.candidate.model if best else None,
                time_left_s=max(0.0, budget.deadline - time.monotonic()),
                last=outcome,
            )
        )

    def _after_trial(self, state, outcome, models, store, run_dir, metric) -> None:
        """Checkpoint and record the trial at once, and let go of models (and checkpoints)
        that can no longer matter."""
        outcomes = state.outcomes
        outcomes.append(outcome)
        if run_dir is not None and not _is_level2(outcome):
            save_trial(run_dir, outcome)  # before the store: a recorded trial has its models
        record_trial(store, self.run_id_, outcome, run_dir / "oof" if run_dir else None)
        held = {o.trial_no for o in outcomes if o.fit is not None and o.fit.models}
        release_outside_top(
            outcomes, metric, keep=MAX_ENSEMBLE_CANDIDATES, protected=state.protected
        )
        if run_dir is not None:
            for o in outcomes:
                if o.trial_no in held and not (o.fit and o.fit.models):
                    drop_trial(run_dir, o.trial_no)
        state.memory.hold([o for o in outcomes if o.fit is not None and o.fit.models], models)

    def _check_any_complete(self, outcomes) -> None:
        """An error whose advice fits why no trial finished: models that raised errors
        (named with their errors), ran out of memory, were skipped for memory, or ran out
        of time."""
        if any(o.state is TrialState.COMPLETE for o in outcomes):
            return
        limits = f"time_limit_s={self.time_limit_s}, memory_limit_mb={self.memory_limit_mb}"
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
        if stopped and all("MB of memory" in s for s in stopped):
            advice = "Raise memory_limit_mb (--memory), or choose lighter models (models=...)."
        else:
            advice = "Raise the time limit (--time / time_limit_s)."
        raise BudgetError(f"No model finished ({limits}). {advice} Trials: {stopped[:3]}")

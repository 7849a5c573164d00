"""The orchestrator: data in, trials under a time budget, a Caruana ensemble, a Predictor out.
Kept short: each step lives in its own module."""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from assay._types import RunState, Task, TrialState
from assay.automl._assemble import (
    MAX_ENSEMBLE_CANDIDATES,
    assemble_predictor,
    n_level1_run,
    save_oof,
)
from assay.automl._assemble import is_level2 as _is_level2
from assay.automl._policy import (
    MemoryGuard,
    available_memory_mb,
    release_outside_top,
    weak_config_pruner,
)
from assay.automl._predictor import Predictor
from assay.automl._refit import refit_members
from assay.automl._stack import (
    StackDecision,
    check_stack,
    choose_bases,
    estimate_check_s,
    level2_candidates,
    level2_context,
)
from assay.automl._trials import TrialOutcome, record_trial, run_trial
from assay.config import settings
from assay.errors import BudgetError, ConfigError
from assay.evaluate import choose_n_folds, get_metric, make_folds
from assay.log import get_logger
from assay.search import Budget, CostModel, Searcher

logger = get_logger(__name__)
_MAX_CONSECUTIVE_SKIPS = 8
_STACK_AT = 0.7  # the stacking check may start once 70% of the trial time is spent
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


@dataclass
class _Stack:
    decision: StackDecision
    bases: list
    level2: list
    ctx: dict | None = None  # the level-2 trial context (X plus the bases' OOF)

    @classmethod
    def not_used(cls, decision: StackDecision | str) -> _Stack:
        if isinstance(decision, str):
            decision = StackDecision(False, decision)
        return cls(decision, [], [])


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


class AutoML:
    """Fits a bagged, ensembled predictor within `time_limit_s` (the whole fit, ensemble
    included). `store=None` records the run in the default store (ASSAY_STORE or
    ASSAY_HOME/assay.db); `store=False` records nothing; a URL picks another store.

    `n_trials` instead of a time limit makes the fit reproducible: the same data, seed and
    trial count give the same predictor (a time limit makes what fits depend on the
    machine). `deploy="fast"` refits the ensemble's configs on all rows so prediction needs
    one model per config. `memory_limit_mb` (default: 70% of the memory available at the
    start) skips configs whose estimated size would not fit. `portfolio` names a packaged
    portfolio or the path of a portfolio JSON: the configs tried first, in order.
    `stack="auto"` adds one stacking layer when a held-out check says it helps;
    `stack="off"` never stacks. Text columns get TF-IDF features and, with `embed` (None:
    when the `text` extra is installed), sentence embeddings; `fit(text_pairs=...)` compares
    two text columns as a pair."""

    def __init__(
        self,
        task: str | Task | None = None,
        metric: str | None = None,
        time_limit_s: float | None = None,
        random_state: int = 0,
        n_folds: int | None = None,
        models: list[str] | None = None,
        n_jobs: int | None = None,
        store: str | bool | None = None,
        n_trials: int | None = None,
        deploy: str = "bagged",
        memory_limit_mb: float | None = None,
        portfolio: str = "default",
        stack: str = "auto",
        embed: bool | None = None,
    ):
        self.task = task
        self.metric = metric
        self.time_limit_s = time_limit_s
        self.random_state = random_state
        self.n_folds = n_folds
        self.models = models
        self.n_jobs = n_jobs
        self.store = store
        self.n_trials = n_trials
        self.deploy = deploy
        self.memory_limit_mb = memory_limit_mb
        self.portfolio = portfolio
        self.stack = stack
        self.embed = embed

    def effective_time_limit_s(self) -> float:
        """60 s by default; no limit when only a trial count is given."""
        if self.time_limit_s is None:
            return math.inf if self.n_trials is not None else 60.0
        return self.time_limit_s

    def _check_args(self) -> dict[str, type]:
        from assay.models import MODELS

        limit = self.effective_time_limit_s()
        if not isinstance(limit, int | float) or isinstance(limit, bool) or not limit > 0:
            raise ConfigError(
                f"time_limit_s={self.time_limit_s!r}: give a positive number of seconds."
            )
        n_trials = self.n_trials
        if n_trials is not None and (
            not isinstance(n_trials, int) or isinstance(n_trials, bool) or n_trials < 1
        ):
            raise ConfigError(f"n_trials={self.n_trials!r}: give a positive integer.")
        if self.deploy not in ("bagged", "fast"):
            raise ConfigError(
                f"deploy={self.deploy!r}: choose 'bagged' (one model per fold) or 'fast' "
                "(each config refitted once on all rows)."
            )
        if self.stack not in ("auto", "off"):
            raise ConfigError(
                f"stack={self.stack!r}: choose 'auto' (stack when a held-out check says it "
                "helps) or 'off'."
            )
        if self.embed not in (None, True, False):
            raise ConfigError(
                f"embed={self.embed!r}: choose None (embed text when assay[text] is installed), "
                "True or False."
            )
        if self.embed is True:
            from assay.features import embeddings_available

            if not embeddings_available():
                raise ConfigError(
                    "embed=True needs the `text` extra: pip install 'assay[text]' "
                    "(with torch==2.13.0 in the same call), or pass embed=False."
                )
        if self.memory_limit_mb is not None and not self.memory_limit_mb > 0:
            raise ConfigError(f"memory_limit_mb={self.memory_limit_mb!r}: give a positive number.")
        if self.n_folds is not None and (not isinstance(self.n_folds, int) or self.n_folds < 2):
            raise ConfigError(f"n_folds={self.n_folds!r}: give an integer of at least 2.")
        names = list(MODELS) if self.models is None else list(self.models)
        unknown = [n for n in names if n not in MODELS]
        if unknown or not names:
            raise ConfigError(
                f"models={self.models!r}: unknown {unknown}; choose from {', '.join(MODELS)}."
            )
        return {n: MODELS[n] for n in names}

    def _open_store(self):
        if self.store is False:
            return None
        from assay.store import SQLStore, open_store

        if isinstance(self.store, SQLStore):
            return self.store
        return open_store(self.store if isinstance(self.store, str) else None)

    def fit(
        self,
        data,
        target: str | int | None = None,
        *,
        feature_types: dict | None = None,
        text_pairs: list[tuple[str, str]] | None = None,
        callback: Callable[[Progress | FeatureProgress], None] | None = None,
    ) -> AutoML:
        from assay.data import prepare

        started = time.monotonic()
        models = self._check_args()
        budget = Budget(self.effective_time_limit_s(), started, refit=self.deploy == "fast")
        if target is None:
            raise ConfigError("target is required: name the column to predict (target=...).")
        dataset = prepare(
            data, target, task=self.task, feature_types=feature_types, text_pairs=text_pairs
        )
        task, metric = dataset.task, get_metric(self.metric, dataset.task)
        models = {n: cls for n, cls in models.items() if task in cls.tasks}
        if task.is_classification:
            classes, y = np.unique(dataset.y.to_numpy(), return_inverse=True)
            classes = classes.tolist()
            min_count = int(np.bincount(y).min())
        else:
            classes, y, min_count = None, dataset.y.to_numpy(dtype=float), None
        n_rows, n_features = dataset.X.shape
        n_folds = self.n_folds or choose_n_folds(n_rows, min_count)
        folds = make_folds(y, task, n_folds, self.random_state)
        store = self._open_store()
        run = None
        if store is not None:
            run = store.start_run(
                task=task.value,
                target=dataset.target,
                metric=metric.name,
                source=dataset.source,
                time_limit_s=None if math.isinf(budget.time_limit_s) else budget.time_limit_s,
                settings={
                    "n_folds": n_folds,
                    "models": list(models),
                    "random_state": self.random_state,
                    "n_trials": self.n_trials,
                    "deploy": self.deploy,
                    "portfolio": str(self.portfolio),
                    "stack": self.stack,
                    "n_rows": n_rows,
                    "n_features": n_features,
                },
            )
        self.run_id_ = run.run_id if run else None
        run_dir = settings().home / run.run_id if run else None
        derived, X, types = self._derive(dataset, y, folds, callback)
        ctx = {
            "X": X,
            "y": y,
            "types": types,
            "folds": folds,
            "task": task,
            "metric": metric,
            "n_classes": len(classes or []),
            "n_jobs": self.n_jobs or os.cpu_count() or 1,
            "random_state": self.random_state,
            "deadline": budget.trial_deadline,
        }
        loop = (models, budget, callback, run_dir, store, ctx)
        try:
            state = self._start_search(models, ctx)
            window = budget.trial_deadline - budget.started
            self._search(state, *loop, until=budget.started + _STACK_AT * window)
            stack = self._stack(state, models, ctx, budget, store, run_dir)
            self._search(state, *loop, until=budget.trial_deadline)
            self._check_any_complete(state.outcomes)
            self.predictor_, self.oof_ = assemble_predictor(
                state.outcomes,
                dataset,
                metric,
                classes,
                y,
                folds,
                budget.deadline,
                stack,
                self.random_state,
            )
            self.predictor_.derived = derived
            if run_dir is not None:
                save_oof(run_dir, self.oof_, y, folds)
            for outcome in state.outcomes:  # the members hold what prediction needs
                outcome.fit = None
            if self.deploy == "fast":
                members = self.predictor_.members
                n_refit = refit_members(
                    [m for m in members if m.level == 1], models, ctx, budget.deadline
                )
                if stack.ctx is not None:
                    level2 = [m for m in members if m.level == 2]
                    n_refit += refit_members(level2, models, stack.ctx, budget.deadline)
                self.predictor_.info.update(deploy="fast", n_refit=n_refit)
        except BaseException as exc:
            if store is not None:
                state = (
                    RunState.INTERRUPTED if isinstance(exc, KeyboardInterrupt) else RunState.FAILED
                )
                store.finish_run(self.run_id_, state, error=f"{type(exc).__name__}: {exc}")
            raise
        self.fit_time_s_ = budget.elapsed_s()
        self.predictor_.info.update(run_id=self.run_id_, fit_time_s=self.fit_time_s_)
        if store is not None:
            best = self.predictor_.info["ensemble_score"]
            store.finish_run(
                self.run_id_, RunState.FINISHED, best_score=best, best_model="ensemble"
            )
        return self

    def _derive(self, dataset, y, folds, callback):
        """The table the search sees: the dataset's columns plus derived ones (text,
        embeddings, pairs, date differences), with their types."""
        from assay.features import DerivedFeatures

        types = dataset.schema.types
        used = {c: t for c, t in types.items() if t.is_used}
        derived = DerivedFeatures(
            used,
            dataset.task,
            pairs=list(dataset.text_pairs),
            embed=self.embed,
            random_state=self.random_state,
        )
        if derived.is_empty:
            return None, dataset.X, types

        def progress(what: str, done: int, total: int) -> None:
            if callback is not None:
                callback(FeatureProgress(what, done, total))

        extra = derived.fit_transform(dataset.X, y, folds, progress=progress)
        X = pd.concat([dataset.X, extra], axis=1)
        return derived, X, {**types, **derived.feature_types()}

    def _start_search(self, models, ctx) -> _SearchState:
        n_rows, n_features = ctx["X"].shape
        searcher = Searcher(
            models, ctx["task"], n_rows, n_features, self.random_state, self.portfolio
        )
        memory = MemoryGuard(
            self.memory_limit_mb or 0.7 * available_memory_mb(),
            n_rows,
            n_features,
            len(ctx["folds"]),
        )
        return _SearchState(searcher, memory, CostModel(), [])

    def _search(
        self, state, models, budget, callback, run_dir, store, ctx, *, until: float
    ) -> None:
        """Run trials until `until` (a time.monotonic() value), the trial count, or the
        end of the candidates; `state` carries over between calls."""
        n_rows, n_features = ctx["X"].shape
        n_folds = len(ctx["folds"])
        outcomes, costs, memory, searcher = (
            state.outcomes,
            state.costs,
            state.memory,
            state.searcher,
        )
        metric = ctx["metric"]
        timed = math.isfinite(budget.time_limit_s)
        while (
            min(until, budget.trial_deadline) > time.monotonic()
            and state.skips < _MAX_CONSECUTIVE_SKIPS
        ):
            if self.n_trials is not None and n_level1_run(outcomes) >= self.n_trials:
                break
            candidate = searcher.ask()
            if candidate is None:
                break
            cls = models[candidate.model]
            done = [o for o in outcomes if o.state is TrialState.COMPLETE]
            estimate = costs.estimate_s(cls, n_rows, n_features, candidate.config, n_folds)
            if (
                timed
                and estimate > _DEFER_SHARE * budget.trial_time_left_s()
                and searcher.defer(candidate)
            ):
                continue  # cheaper portfolio configs first; this one comes back at the end
            reason = memory.refuse(cls, candidate.config, ctx["n_classes"])
            if reason is None and timed and done and estimate > budget.trial_time_left_s():
                reason = f"estimated {estimate:.1f}s, {budget.trial_time_left_s():.1f}s left"
            if reason is not None:
                outcome = TrialOutcome(
                    len(outcomes), candidate, TrialState.SKIPPED, np.nan, None, reason
                )
                # the portfolio is finite and a skip costs nothing: read on for a config
                # that fits; only tuned proposals can repeat without end
                state.skips += candidate.source != "portfolio"
            else:
                level1 = [o for o in outcomes if not _is_level2(o)]
                prune = weak_config_pruner(level1, metric) if candidate.source == "tpe" else None
                trial_ctx = ctx
                if timed:  # no config may take more than a share of the trial time
                    cap = time.monotonic() + _TRIAL_SHARE * (budget.trial_deadline - budget.started)
                    trial_ctx = dict(ctx, deadline=min(budget.trial_deadline, cap))
                outcome = run_trial(len(outcomes), candidate, cls, trial_ctx, prune)
                state.skips = 0
                fit = outcome.fit
                took_s = fit.fit_time_s + fit.predict_time_s if fit else outcome.fold_s * n_folds
                if took_s > 0:  # a trial stopped for time still tells what a fold costs
                    costs.observe(cls, n_rows, n_features, candidate.config, n_folds, took_s)
                searcher.tell(candidate, metric.loss(outcome.loss_score))
            self._after_trial(state, outcome, models, store, run_dir, metric)
            if callback is not None:
                done = [o for o in outcomes if o.state is TrialState.COMPLETE]
                best = min(done, key=lambda o: metric.loss(o.score)) if done else None
                callback(
                    Progress(
                        n_done=len(done),
                        n_failed=sum(o.state is TrialState.FAILED for o in outcomes),
                        best_score=best.score if best else None,
                        best_model=best.candidate.model if best else None,
                        time_left_s=max(0.0, budget.deadline - time.monotonic()),
                        last=outcome,
                    )
                )

    def _after_trial(self, state, outcome, models, store, run_dir, metric) -> None:
        """Record the trial at once and let go of models that can no longer matter."""
        outcomes = state.outcomes
        outcomes.append(outcome)
        record_trial(store, self.run_id_, outcome, run_dir / "oof" if run_dir else None)
        release_outside_top(
            outcomes, metric, keep=MAX_ENSEMBLE_CANDIDATES, protected=state.protected
        )
        state.memory.hold([o for o in outcomes if o.fit is not None and o.fit.models], models)

    def _check_any_complete(self, outcomes) -> None:
        if any(o.state is TrialState.COMPLETE for o in outcomes):
            return
        failures = [f"{o.candidate.model}: {o.error}" for o in outcomes if o.error]
        if failures and all("MB of memory" in f for f in failures):
            advice = "Raise memory_limit_mb, or choose lighter models (models=...)."
        else:
            advice = "Raise the time limit (--time)."
        raise BudgetError(
            f"No model finished (time_limit_s={self.time_limit_s}, "
            f"memory_limit_mb={self.memory_limit_mb}). {advice} Trials: {failures[:3]}"
        )

    def _stack(self, state, models, ctx, budget, store, run_dir) -> _Stack:
        """Decide on a stacking layer with the held-out check, and fit it when it helps."""
        if self.stack == "off":
            return _Stack.not_used("stack='off'")
        n_folds = len(ctx["folds"])
        if n_folds < 3:
            return _Stack.not_used(f"needs 3 or more folds, not {n_folds}")
        metric = ctx["metric"]
        bases = choose_bases(state.outcomes, metric)
        if not bases:
            return _Stack.not_used("no finished level-1 model")
        candidates = level2_candidates(bases)
        estimate, left = estimate_check_s(bases, candidates, n_folds), budget.trial_time_left_s()
        if estimate > left:
            reason = f"the check and the stack need ~{estimate:.0f}s, {max(left, 0):.0f}s left"
            return _Stack.not_used(reason)
        decision = check_stack(bases, candidates, models, ctx, budget.trial_deadline)
        logger.info("stacking: %s", decision.reason)
        if not decision.used:
            return _Stack.not_used(decision)
        state.protected = tuple(id(b) for b in bases)
        ctx2 = level2_context(bases, ctx)
        level2 = []
        for candidate in candidates:
            outcome = run_trial(len(state.outcomes), candidate, models[candidate.model], ctx2)
            self._after_trial(state, outcome, models, store, run_dir, metric)
            if outcome.state is TrialState.COMPLETE:
                level2.append(outcome)
        if not level2:
            decision.used, decision.reason = False, "no level-2 model finished on all rows"
            return _Stack.not_used(decision)
        return _Stack(decision, bases, level2, ctx2)

    # -- the fitted predictor's API --------------------------------------------
    def _fitted(self) -> Predictor:
        if not hasattr(self, "predictor_"):
            raise ConfigError("This AutoML is not fitted yet: call fit(data, target=...) first.")
        return self.predictor_

    def predict(self, data) -> np.ndarray:
        return self._fitted().predict(data)

    def predict_proba(self, data) -> pd.DataFrame:
        return self._fitted().predict_proba(data)

    def leaderboard(self) -> pd.DataFrame:
        return self._fitted().leaderboard()

    def save(self, path: str | Path) -> Path:
        return self._fitted().save(path)

"""The orchestrator: data in, trials under a time budget, a Caruana ensemble, a Predictor out.
Kept short: each step lives in its own module."""

from __future__ import annotations

import contextlib
import math
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from assay._types import RunState, Task, TrialState
from assay.automl._assemble import (
    assemble_predictor,
    save_oof,
)
from assay.automl._diskfull import disk_full
from assay.automl._policy import (
    MemoryGuard,
    available_memory_mb,
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
from assay.automl._trial_loop import (
    FeatureProgress,
    Progress,
    TrialLoopMixin,
    _SearchState,
)
from assay.automl._trials import (
    run_trial,
)
from assay.config import settings
from assay.errors import ConfigError, DataError, NotFittedError, StoreError
from assay.evaluate import choose_n_folds, get_metric, make_folds
from assay.log import get_logger
from assay.search import Budget, CostModel, Searcher
from assay.store._beat import Heartbeat

logger = get_logger(__name__)
MIN_FIT_ROWS = 10  # fewer rows cannot be cross-validated into a trustworthy score
_STACK_AT = 0.7  # the stacking check may start once 70% of the trial time is spent


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


class AutoML(TrialLoopMixin):
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
    two text columns as a pair. `cluster` runs the trials on Dask: "local:N" starts N
    workers on this machine, "tcp://HOST:8786" joins a running scheduler; the data is sent
    to each worker once and each trial's models get the cores of one worker."""

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
        cluster: str | None = None,
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
        self.cluster = cluster

    _resume_run = None  # the stored run `resume` continues (set by AutoML.resume only)

    @classmethod
    def resume(
        cls,
        run_id: str,
        data=None,
        *,
        time_limit_s: float | None = None,
        store: str | bool | None = None,
        cluster: str | None = None,
        callback: Callable | None = None,
    ) -> AutoML:
        """Continue a fit that was killed or interrupted: the same data (read again from
        the run's source file unless `data` is given), settings and seed; its finished
        trials are reused and the search goes on for the time the run had left (or
        `time_limit_s`), or up to its trial count. A run that finished without a saved
        predictor (killed while saving, or a full disk) is assembled again."""
        from assay.store import SQLStore, open_store

        if store is False:
            raise ConfigError("resume needs the store the run was recorded in, not store=False.")
        opened = store if isinstance(store, SQLStore) else open_store(store or None)
        run = opened.get_run(run_id)
        saved = run.artifact_dir is not None and Path(run.artifact_dir).is_dir()
        if run.state is RunState.FINISHED and saved:  # unsaved (killed while saving): resume
            raise ConfigError(
                f"run {run.run_id} already finished; its predictor is in {run.artifact_dir}."
            )
        source = data if data is not None else run.source
        if source in (None, "DataFrame"):
            raise ConfigError(
                f"run {run.run_id} was fitted on a DataFrame: pass it again, "
                "AutoML.resume(run_id, data=frame)."
            )
        s = run.settings
        limit = time_limit_s
        if limit is None and run.time_limit_s is not None:
            trials = opened.trials(run.run_id)
            last = max((t.created_at for t in trials), default=run.created_at)
            limit = max(run.time_limit_s - (last - run.created_at), 0.25 * run.time_limit_s)
        automl = cls(
            task=run.task,
            metric=run.metric,
            time_limit_s=limit,
            random_state=s.get("random_state", 0),
            n_folds=s.get("n_folds"),
            models=s.get("models"),
            store=opened,
            n_trials=s.get("n_trials"),
            deploy=s.get("deploy", "bagged"),
            portfolio=s.get("portfolio", "default"),
            stack=s.get("stack", "auto"),
            embed=s.get("embed"),
            cluster=cluster,
        )
        automl._resume_run = run
        pairs = [tuple(p) for p in s.get("text_pairs") or []] or None
        return automl.fit(
            source,
            target=run.target,
            feature_types=s.get("feature_types") or None,
            text_pairs=pairs,
            callback=callback,
        )

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
        from assay.execute._executors import executor_from

        started = time.monotonic()
        models = self._check_args()
        with executor_from(self.cluster) as executor:  # a bad address fails before any run
            return self._fit(
                executor, started, models, data, target, feature_types, text_pairs, callback
            )

    def _fit(
        self, executor, started, models, data, target, feature_types, text_pairs, callback
    ) -> AutoML:
        from assay.data import prepare

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
        if n_rows < MIN_FIT_ROWS:
            where = "the DataFrame" if dataset.source == "DataFrame" else f"'{dataset.source}'"
            raise DataError(
                f"{where} has {n_rows} rows with a target; fitting needs at least "
                f"{MIN_FIT_ROWS} to cross-validate models. Add rows."
            )
        n_folds = self.n_folds or choose_n_folds(n_rows, min_count)
        folds = make_folds(y, task, n_folds, self.random_state)
        store = self._open_store()
        run = self._resume_run
        if run is not None:
            store.update_run(
                run.run_id,
                state=RunState.RUNNING,
                finished_at=None,
                error=None,
                pid=os.getpid(),
                host=socket.gethostname(),
                heartbeat_at=time.time(),
            )
        elif store is not None:
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
                    "embed": self.embed,
                    "text_pairs": [list(p) for p in dataset.text_pairs],
                    "feature_types": {
                        str(k): getattr(v, "value", v) for k, v in (feature_types or {}).items()
                    },
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
            "n_jobs": self.n_jobs or executor.threads_per_task(),
            "random_state": self.random_state,
            "deadline": budget.trial_deadline,
        }
        loop = (models, budget, callback, run_dir, store, ctx)
        beat = Heartbeat(store, self.run_id_) if store is not None else contextlib.nullcontext()
        try:
            state = self._start_search(models, ctx)
            state.executor = executor
            state.shared = executor.share({k: v for k, v in ctx.items() if k != "deadline"})
            if run is not None and self._resume_run is not None:
                self._reload(state, store.trials(run.run_id), run_dir, models, metric)
            beat.__enter__()
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
            beat.__exit__(None, None, None)
            full = run_dir is not None and disk_full(
                exc,
                run_dir,
                f"The finished trials are kept: continue with `assay fit --resume {self.run_id_}`.",
            )
            if store is not None:
                state = (
                    RunState.INTERRUPTED if isinstance(exc, KeyboardInterrupt) else RunState.FAILED
                )
                try:  # on a full disk this write fails too; the error to show is the first
                    store.finish_run(self.run_id_, state, error=f"{type(exc).__name__}: {exc}")
                except StoreError as again:
                    logger.warning("run %s not marked %s: %s", self.run_id_, state.value, again)
            if full:
                raise full from exc
            raise
        beat.__exit__(None, None, None)
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
            trial_no = state.next_trial_no()
            outcome = run_trial(trial_no, candidate, models[candidate.model], ctx2)
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
            raise NotFittedError("This AutoML is not fitted yet: call fit(data, target=...) first.")
        return self.predictor_

    def predict(self, data) -> np.ndarray:
        return self._fitted().predict(data)

    def predict_proba(self, data) -> pd.DataFrame:
        return self._fitted().predict_proba(data)

    def leaderboard(self) -> pd.DataFrame:
        return self._fitted().leaderboard()

    def save(self, path: str | Path) -> Path:
        return self._fitted().save(path)

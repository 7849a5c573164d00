"""The orchestrator: data in, trials under a time budget, a Caruana ensemble, a Predictor out.
Kept short: each step lives in its own module."""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from assay._cpus import usable_cpus
from assay._fit_settings import SPLITTER_OBJECT, FitSettings, resumed_settings
from assay._types import RunState, TrialSource, TrialState
from assay.automl._assemble import assemble_predictor, save_oof
from assay.automl._checkpoint import load_member
from assay.automl._context import FitContext
from assay.automl._policy import MemoryGuard, available_memory_mb
from assay.automl._predictor import Predictor
from assay.automl._refit import deploy_for, refit_members
from assay.automl._run import RunBook, open_store_for, run_folder
from assay.automl._stack import fit_stack
from assay.automl._trial_loop import FeatureProgress, Progress, Recorder, TrialLoop
from assay.data._groups import describe_validation
from assay.data._media import default_target
from assay.errors import BudgetError, ConfigError, DataError, NotFittedError
from assay.evaluate import Metric, choose_n_folds, get_metric, make_folds
from assay.evaluate._splits import splitter_folds, time_column, time_folds
from assay.log import get_logger
from assay.models import fits_data
from assay.search import (
    Budget,
    Candidate,
    Searcher,
    fold_cost_s,
    folds_for_budget,
    load_portfolio,
)

if TYPE_CHECKING:
    from assay.models import Model

logger = get_logger(__name__)
MIN_FIT_ROWS = 10  # fewer rows cannot be cross-validated into a trustworthy score
_STACK_AT = 0.7  # the stacking check may start once 70% of the trial time is spent
_DERIVE_SHARE = 0.3  # derived features (embeddings) may use 30% of the time limit
_DISCOVER_SHARE = 0.2  # features="auto": discovery may use 20% of the time limit
_GROUP_VALUES = "<values>"  # a run's record of groups (or weights) given as values
FEATURES_FILE = "features.json"  # the run's discovered features, read back by a resume


@dataclass(frozen=True)
class _Prepared:
    """The data of one fit as the search needs it."""

    dataset: Any
    metric: Metric
    classes: list | None
    y: np.ndarray
    folds: list
    models: dict[str, type[Model]]


def _models_with_columns(models: dict[str, type[Model]], types, derived) -> dict:
    """The families that have something to learn from. The tabular ones need a column
    other than the media paths (which they see through their features); where the
    features of every media column were left out for time, only the networks that read
    the files remain, and without one of those the fit cannot start (a BudgetError that
    says what was left out and why)."""
    if any(t.is_used and not t.is_media for t in types.values()):
        return models
    networks = {name: cls for name, cls in models.items() if cls.kind is not None}
    skipped = derived.report_["skipped"] if derived is not None else {}
    why = "; ".join(f"{what}: {reason}" for what, reason in skipped.items())
    if not networks:
        raise BudgetError(
            "No model can learn from this data in the time given: the tabular models have "
            f"no columns ({why or 'no column besides the media paths'}), and no network "
            f"that reads the files is among the models ({', '.join(models)}). Give a "
            "longer time limit (--time), or allow image_cnn / sound_cnn (--models)."
        )
    left_out = sorted(set(models) - set(networks))
    if left_out:
        logger.warning(
            "%s not tried: they have no columns to learn from (%s); only %s read the files",
            ", ".join(left_out),
            why or "no column besides the media paths",
            ", ".join(networks),
        )
    return networks


class AutoML(FitSettings, BaseEstimator):
    """Fits a bagged, ensembled predictor within `time_limit_s` (the whole fit, ensemble
    included). Every option is a keyword argument declared in `FitSettings` (see
    `assay._fit_settings` for each one's meaning); `get_params`/`set_params` work as in
    scikit-learn.

    `store=None` records the run in the default store (ASSAY_STORE or ASSAY_HOME/assay.db)
    and saves the predictor in the run's folder, so `assay predict RUN_ID` finds it;
    `store=False` records nothing; a URL picks another store. `n_trials` instead of a time
    limit makes the fit reproducible: the same data, seed and trial count give the same
    predictor (a time limit makes what fits depend on the machine's speed)."""

    _resume_run = None  # the stored run `resume` continues (set by AutoML.resume only)

    @classmethod
    def resume(
        cls,
        run_id: str,
        data=None,
        *,
        callback: Callable | None = None,
        **overrides: Any,
    ) -> AutoML:
        """Continue a fit that was killed or interrupted, from its finished trials.

        Args:
            run_id: the run's id (or a unique prefix).
            data: the training data again; by default read from the run's source file.
            callback: called with a Progress after each trial.
            **overrides: options a resume may change: `time_limit_s` (default: the time
                the run had left), `n_jobs`, `memory_limit_mb`, `store` (the store the run
                is in), `cluster`. Every other option is the run's own.

        Returns the fitted AutoML. Raises ConfigError for a finished run (naming where its
        predictor is) or for an option a resume cannot change."""
        if overrides.get("store") is False:
            raise ConfigError("resume needs the store the run was recorded in, not store=False.")
        store = open_store_for(overrides.pop("store", None))
        run = store.get_run(run_id)
        if run.state is RunState.FINISHED:
            from assay.automl._checkpoint import drop_checkpoints

            drop_checkpoints(run_folder(run.run_id))  # left by a kill after the finish
            where = run.artifact_dir
            found = where is not None and Path(where).is_dir()
            raise ConfigError(
                f"run {run.run_id} already finished; its predictor is in {where}."
                if found
                else f"run {run.run_id} already finished; its predictor is no longer at "
                f"{where}. Fit again to build a new one."
            )
        source = data if data is not None else run.source
        if source in (None, "DataFrame"):
            raise ConfigError(
                f"run {run.run_id} was fitted on a DataFrame: pass it again, "
                "AutoML.resume(run_id, data=frame)."
            )
        if overrides.get("time_limit_s") is None and run.time_limit_s is not None:
            last = max((t.created_at for t in store.trials(run.run_id)), default=run.created_at)
            used_s = last - run.created_at
            overrides["time_limit_s"] = max(run.time_limit_s - used_s, 0.25 * run.time_limit_s)
        overrides = {k: v for k, v in overrides.items() if v is not None}
        values = resumed_settings(run.settings, run.task, run.metric, overrides)
        automl = cls(**values, store=store)
        automl._resume_run = run
        if run.settings.get("cv") == SPLITTER_OBJECT:
            raise ConfigError(
                f"run {run.run_id} was fitted with a splitter object as cv, which a resume "
                "cannot restore; fit again with the splitter."
            )
        for name in ("groups", "sample_weight"):
            if run.settings.get(name) == _GROUP_VALUES:
                raise ConfigError(
                    f"run {run.run_id} was fitted with {name} given as values, which a resume "
                    f"cannot restore (its trials depend on them); fit again, or give {name} as "
                    "a column."
                )
        pairs = [tuple(p) for p in run.settings.get("text_pairs") or []] or None
        return automl.fit(
            source,
            target=run.target,
            feature_types=run.settings.get("feature_types") or None,
            text_pairs=pairs,
            groups=run.settings.get("groups"),
            sample_weight=run.settings.get("sample_weight"),
            callback=callback,
        )

    def fit(
        self,
        data,
        target: str | int | None = None,
        *,
        feature_types: dict | None = None,
        text_pairs: list[tuple[str, str]] | None = None,
        groups: str | Any = None,
        sample_weight: str | Any = None,
        callback: Callable[[Progress | FeatureProgress], None] | None = None,
    ) -> AutoML:
        """Search models on `data` to predict `target`, then ensemble the best.

        Args:
            data: a DataFrame, the path of a CSV/TSV/Parquet/ARFF file, or a folder of
                images or sound with one subfolder per class (its target is `label`).
            target: the column to predict (default `label` for a folder of media files).
            feature_types: column name -> FeatureType (or its value) where inference
                should be overridden (e.g. {"photo": "image"} for paths without an
                image extension).
            text_pairs: pairs of text columns to compare with each other.
            groups: a column (not a feature then) or one value per row: the rows of a
                group (a person, a speaker, a customer) stay in one fold, so the scores
                are for groups the models never saw.
            sample_weight: a column (not a feature then) or one weight >= 0 per row: how
                much each row counts in the models' training, the metric, the ensemble
                selection and the leaderboard (a row of weight 2 counts as two rows).
            callback: called with a FeatureProgress while derived features are computed,
                then with a Progress after each trial.

        Returns self, fitted: `predictor_`, `run_id_`, `fit_time_s_`, `oof_`, `artifact_dir_`
        (where the run's predictor was saved; None when no run is recorded), `trials_`
        (the finished trials as {model, config, loss}, for `warm_start` of a later fit).
        Raises ConfigError for a bad option, DataError for unusable data, BudgetError or
        FitError when no model finished."""
        from assay.automl._progress import fit_output
        from assay.execute._executors import executor_from

        started = time.monotonic()
        self.check()
        models = self.chosen_models()
        if target is None:
            target = default_target(data)
        limit_s = self.effective_time_limit_s()
        with contextlib.ExitStack() as resources:
            output = fit_output(self.verbosity, callback, limit_s, self.n_trials)
            callback = resources.enter_context(output)
            executor = executor_from(self.cluster)  # a bad address fails before any run
            resources.enter_context(executor)
            budget = Budget(limit_s, started)
            how = {
                "feature_types": feature_types,
                "text_pairs": text_pairs,
                "groups": groups,
                "sample_weight": sample_weight,
            }
            prepared = self._prepare(data, target, how, models, budget)
            book = self._begin_run(prepared, budget, feature_types)
            resources.push(book.on_exit)  # marks the run failed when the fit stops early
            if book.store is not None:
                resources.enter_context(book.heartbeat())
            derived, X, types, fold_columns = self._derive(prepared, budget, book, callback)
            ctx = FitContext(
                X=X,
                y=prepared.y,
                types=types,
                folds=prepared.folds,
                task=prepared.dataset.task,
                metric=prepared.metric,
                n_classes=len(prepared.classes or []),
                n_jobs=self.n_jobs or executor.threads_per_task(),
                random_state=self.random_state,
                deadline=budget.trial_deadline,
                w=prepared.dataset.weights,
                fold_columns=fold_columns,
                out_of_bag=self._out_of_bag(prepared),
            )
            models = _models_with_columns(prepared.models, types, derived)
            loop = self._search(ctx, models, budget, executor, book, callback)
            stack = fit_stack(loop, self.stack, budget.trial_time_left_s())
            loop.run(until=budget.trial_deadline)
            loop.check_any_complete(self.time_limit_s, self.memory_limit_mb)
            self._assemble(loop, prepared, stack, derived, budget, book)
        from assay.automl._tracking import log_fit, wants_mlflow

        if wants_mlflow(self.mlflow):
            self.mlflow_run_id_ = log_fit(self, self.to_record())
        return self

    def _prepare(self, data, target, how: dict, models, budget) -> _Prepared:
        """The dataset (read with `how`: feature_types, text_pairs, groups), its metric,
        encoded target and folds, and the models for its task and columns."""
        from assay.data import prepare

        order_by = time_column(self.cv)
        if order_by is not None and how.get("groups") is not None:
            raise ConfigError(
                f"cv='time:{order_by}' and groups: give one (a time split keeps the past "
                "before the future; groups keep rows of a group together)."
            )
        dataset = prepare(data, target, task=self.task, order_by=order_by, **how)
        task = dataset.task
        if task.is_classification:
            classes, y = np.unique(dataset.y.to_numpy(), return_inverse=True)
            classes = classes.tolist()
        else:
            classes, y = None, dataset.y.to_numpy(dtype=float)
        n_rows = len(dataset.X)
        if n_rows < MIN_FIT_ROWS:
            where = "the DataFrame" if dataset.source == "DataFrame" else f"'{dataset.source}'"
            raise DataError(
                f"{where} has {n_rows} rows with a target; fitting needs at least "
                f"{MIN_FIT_ROWS} to cross-validate models. Add rows."
            )
        types = dataset.schema.types
        has_media = any(t.is_media for t in types.values())
        self.deploy_ = deploy_for(self.deploy, n_rows, has_media, dataset.groups is not None)
        if self.deploy_ == "fast":  # before the folds, which are picked by the trial time
            budget.reserve_refit()
        models = {n: c for n, c in models.items() if task in c.tasks and fits_data(c, types)}
        n_classes = len(classes or [])
        if classes is not None and dataset.weights is not None:
            per_class = np.bincount(y, dataset.weights, minlength=len(classes))
            weightless = [c for c, w in zip(classes, per_class, strict=True) if w <= 0]
            if weightless:
                raise DataError(
                    f"class(es) {weightless[:5]} of the target have weight zero on every row "
                    "(sample_weight): no model could learn them. Give their rows a positive "
                    "weight, or drop those rows."
                )
        metric = get_metric(self.metric, task).for_classes(classes, y, dataset.weights)
        if self.cv is not None and order_by is None:  # a scikit-learn splitter
            folds = splitter_folds(self.cv, n_rows, y, dataset.groups)
            return _Prepared(dataset, metric, classes, y, folds, models)
        n_folds = self.n_folds or self._auto_folds(dataset, n_classes, models, budget)
        if dataset.order is not None:
            folds = time_folds(dataset.order, n_folds)
        else:
            folds = make_folds(y, task, n_folds, self.random_state, dataset.groups)
        return _Prepared(dataset, metric, classes, y, folds, models)

    def _out_of_bag(self, prepared: _Prepared) -> bool:
        """Whether forests may score out of bag: asked for, and no row tied to others by a
        group or an order in time, and no splitter of the user's (which may encode either)."""
        dataset = prepared.dataset
        return (
            self.forests == "out_of_bag"
            and self.cv is None
            and dataset.groups is None
            and dataset.order is None
        )

    def _auto_folds(self, dataset, n_classes, models, budget) -> int:
        """As many folds as the data size allows (`choose_n_folds`), under a time limit
        those `folds_for_budget` picks by the rows per second of trial time and the
        portfolio head's cost. A resume passes the run's recorded folds as `n_folds`."""
        n_rows, n_features = dataset.X.shape
        max_folds = choose_n_folds(n_rows)
        window_s = budget.trial_deadline - budget.started
        types = dataset.schema.types
        media = [c for c in models.values() if c.kind and c.kind.is_media]
        networks = [c for c in media if fits_data(c, types)]
        if networks:  # they take most of a media fit: at most 5 folds, fewer if 5 won't fit
            fold_s = [
                fold_cost_s(cls, n_rows, n_features, cls.default_configs(dataset.task)[0], 0)
                for cls in networks
            ]
            return folds_for_budget(min(max_folds, 5), n_rows, fold_s, window_s, share=0.7)
        head = [
            (models[name], config)
            for name, config in load_portfolio(self.portfolio, dataset.task, n_rows)
            if name in models
        ]
        fold_s = [fold_cost_s(cls, n_rows, n_features, config, n_classes) for cls, config in head]
        return folds_for_budget(max_folds, n_rows, fold_s, window_s)

    def _begin_run(self, prepared: _Prepared, budget: Budget, feature_types) -> RunBook:
        """Record the run (or take over the resumed one) with the settings it resolved."""
        dataset = prepared.dataset
        record = {
            **self.to_record(),
            "metric": prepared.metric.name,  # a scorer or make_metric's metric by its name
            "n_folds": len(prepared.folds),
            "models": list(prepared.models),
            "portfolio": str(self.portfolio),
            "text_pairs": [list(p) for p in dataset.text_pairs],
            # a column is read again by a resume; values given in memory are not stored
            "groups": dataset.group_column or (None if dataset.groups is None else _GROUP_VALUES),
            "sample_weight": dataset.weight_column
            or (None if dataset.weights is None else _GROUP_VALUES),
            "feature_types": {
                str(k): getattr(v, "value", v) for k, v in (feature_types or {}).items()
            },
            "n_rows": dataset.X.shape[0],
            "n_features": dataset.X.shape[1],
        }
        book = RunBook.begin(
            open_store_for(self.store),
            self._resume_run,
            dataset,
            prepared.metric.name,
            budget.time_limit_s,
            record,
        )
        self.run_id_, self._book = book.run_id, book
        return book

    def _search(self, ctx, models, budget, executor, book, callback) -> TrialLoop:
        """Trials until the stacking check may start (70% of the trial time)."""
        memory_mb = self.memory_limit_mb or 0.7 * available_memory_mb()
        loop = TrialLoop(
            ctx,
            models,
            Searcher(
                models, ctx.task, ctx.n_rows, ctx.n_features, self.random_state, self.portfolio
            ),
            MemoryGuard(memory_mb, ctx.n_rows, ctx.n_features, ctx.n_folds, ctx.fits_per_trial),
            budget,
            executor,
            Recorder(book.store, book.run_id, book.run_dir),
            n_trials=self.n_trials,
            callback=callback,
        )
        if self._resume_run is not None:
            loop.reload(book.store.trials(book.run_id))
        elif self.warm_start:
            n_known = loop.searcher.warm_start(self.warm_start)
            logger.info("continuing a search of %d trials: its best configs first", n_known)
        elif self.n_trials is None and math.isfinite(budget.time_limit_s):
            self._fast_first(loop, ctx)
        window = budget.trial_deadline - budget.started
        loop.run(until=budget.started + _STACK_AT * window)
        return loop

    def _fast_first(self, loop: TrialLoop, ctx: FitContext) -> None:
        """Under a time limit, the linear family's first portfolio config runs before the
        rest, with all the trial time: seconds where a booster may take the rest of the
        budget, so a short or crowded budget still ends with a model. Not when even that
        is estimated to need more than a third of the trial time (very large data)."""
        cls: type[Model] | None = loop.models.get("linear")
        if cls is None:
            return
        portfolio = load_portfolio(self.portfolio, ctx.task, ctx.n_rows)
        linear = [c for m, c in portfolio if m == "linear"]
        config = (linear or cls.default_configs(ctx.task))[0]
        estimate_s = fold_cost_s(cls, ctx.n_rows, ctx.n_features, config, ctx.n_classes)
        estimate_s *= ctx.n_folds
        if estimate_s > loop.budget.trial_time_left_s() / 3:
            return
        candidate = Candidate("linear", config, TrialSource.PORTFOLIO)
        outcome = loop.run_here(candidate, ctx)
        loop.searcher.tell(candidate, ctx.metric.loss(outcome.loss_score))

    def _assemble(self, loop, prepared: _Prepared, stack, derived, budget, book) -> None:
        """The ensemble and the Predictor (refitted when deployed fast), saved with the run."""
        y, folds = prepared.y, prepared.folds
        self._refit_from = None
        self.predictor_, self.oof_ = assemble_predictor(
            loop.outcomes,
            prepared.dataset,
            prepared.metric,
            prepared.classes,
            y,
            folds,
            budget.deadline,
            stack,
            self.random_state,
        )
        self.predictor_.derived = derived
        self.predictor_.info["validation"] = self._validation_text(prepared)
        if derived is not None:  # what was derived in time, and what was left out
            self.predictor_.info["derived"] = derived.report_
            self.predictor_.info.setdefault("warnings", []).extend(derived.warnings_)
        if book.run_dir is not None:
            X, schema = prepared.dataset.X, prepared.dataset.schema
            media = {c: X[c].tolist() for c in X.columns if schema[c].type.is_media}
            save_oof(book.run_dir, self.oof_, y, folds, media)
        self.trials_ = [  # what a later search can continue from (warm_start)
            {"model": o.candidate.model, "config": dict(o.candidate.config), "loss": loss}
            for o in loop.outcomes
            if o.level == 1
            and o.state is TrialState.COMPLETE
            and math.isfinite(loss := prepared.metric.loss(o.score))
        ]
        for outcome in loop.outcomes:  # the members hold what prediction needs
            outcome.fit = None
        if self.deploy_ == "fast":
            members, models = self.predictor_.members, prepared.models
            level1 = [m for m in members if m.level == 1]
            n_refit = refit_members(level1, models, loop.ctx, budget.deadline)
            if stack.ctx is not None:
                level2 = [m for m in members if m.level == 2]
                n_refit += refit_members(level2, models, stack.ctx, budget.deadline)
            self.predictor_.info.update(deploy="fast", n_refit=n_refit)
        else:  # what refit_full needs later: the trials' table, the stack's, the models
            self._refit_from = (loop.ctx, stack.ctx, prepared.models)
            # A kNN member predicts each row once, not once a fold: on SST-2 the eight fold
            # models of a kNN member (weight 0.08) took about half of the 11.5 s per 1,000
            # rows (from the time its trial took to predict the out-of-fold rows once).
            kept_rows = [
                m
                for m in self.predictor_.members
                if m.level == 1 and prepared.models[m.model].fit_keeps_rows
            ]
            n_refit = refit_members(kept_rows, prepared.models, loop.ctx, budget.deadline)
            self.predictor_.info.update(deploy="bagged", n_refit=n_refit)
        for member in self.predictor_.members:  # the folds of those not refitted
            load_member(member)
        self.fit_time_s_ = budget.elapsed_s()
        self.predictor_.info.update(run_id=self.run_id_, fit_time_s=self.fit_time_s_)
        self.artifact_dir_ = book.finish(self.predictor_)  # None when no run is recorded

    def _validation_text(self, prepared: _Prepared) -> str:
        """How the out-of-fold scores were made, as the report and the CLI say it."""
        dataset, n_folds = prepared.dataset, len(prepared.folds)
        if dataset.order is not None:
            first = len(dataset.y) - sum(len(valid) for _, valid in prepared.folds)
            text = (
                f"{n_folds}-fold time split by '{time_column(self.cv)}': each fold trained on "
                f"earlier rows and validated on the block after them (the earliest {first} "
                "rows only trained)"
            )
        elif self.cv is not None:
            text = f"{n_folds} folds of {type(self.cv).__name__}"
        else:
            text = describe_validation(n_folds, dataset.groups, dataset.group_column)
        if dataset.weights is not None:
            named = f" '{dataset.weight_column}'" if dataset.weight_column else ""
            text += f"; rows weighted by sample_weight{named}"
        return text

    def _derive(self, prepared: _Prepared, budget: Budget, book: RunBook, callback):
        """The table the search sees: the dataset's columns plus derived ones (text,
        embeddings, pairs, date differences, generated features), with their types. Under
        a time limit they get a share of it, so the search keeps the rest: what would not
        fit is left out. Last, the columns built from targets as each fold must see them
        (DerivedFeatures.fold_columns), or None."""
        from assay.features import DerivedFeatures

        dataset = prepared.dataset
        types = dataset.schema.types
        used = {c: t for c, t in types.items() if t.is_used}
        derived = DerivedFeatures(
            used,
            dataset.task,
            pairs=list(dataset.text_pairs),
            embed=self.embed,
            random_state=self.random_state,
            generated=self._generated(prepared, used, budget, book, callback),
        )
        if derived.is_empty:
            return None, dataset.X, types, None

        def progress(what: str, done: int, total: int) -> None:
            if callback is not None:
                callback(FeatureProgress(what, done, total))

        deadline = budget.started + _DERIVE_SHARE * budget.time_limit_s  # inf: no limit
        extra = derived.fit_transform(
            dataset.X, prepared.y, prepared.folds, progress=progress, deadline=deadline
        )
        X = pd.concat([dataset.X, extra], axis=1)
        fold_columns = derived.fold_columns(dataset.X, prepared.y, prepared.folds)
        return derived, X, {**types, **derived.feature_types()}, fold_columns

    def _generated(self, prepared: _Prepared, used, budget: Budget, book: RunBook, callback):
        """The generated features: those given, or with features="auto" those discovery
        keeps on the fit's folds in its share of the time (a resumed run reads back the
        ones its first start discovered, so its trials see the same columns)."""
        if self.features != "auto":
            return list(self.features or [])
        import json

        from assay.features import discover

        saved = None if book.run_dir is None else Path(book.run_dir) / FEATURES_FILE
        if saved is not None and self._resume_run is not None and saved.is_file():
            return json.loads(saved.read_text())
        if callback is not None:
            callback(FeatureProgress("discovering features", 0, 1))
        found = discover(
            prepared.dataset.X,
            prepared.y,
            used,
            prepared.dataset.task,
            prepared.folds,
            random_state=self.random_state,
            n_jobs=self.n_jobs or usable_cpus(),
            deadline=budget.started + _DISCOVER_SHARE * budget.time_limit_s,
        )
        specs = [spec.to_list() for spec in found.specs]
        logger.info("features='auto': %d of %d candidates kept", len(specs), found.n_candidates)
        if saved is not None:
            from assay._atomic import atomic_write_text

            saved.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(saved, json.dumps(specs))
        return specs

    # -- the fitted predictor's API --------------------------------------------
    def refit_full(self, time_limit_s: float | None = None) -> Predictor:
        """Deploy fast after the fit: replace each member's fold models by one model trained
        on all rows (as `deploy="fast"` does during a fit), heaviest members first, while
        each refit is expected to end within `time_limit_s` (default: no limit). Prediction
        then runs one model per member instead of one per fold.

        Returns the refitted predictor (`predictor_`, saved again over the run's copy when
        the run is recorded). Raises NotFittedError before a fit; a predictor already
        deployed fast is returned as it is."""
        predictor = self._fitted()
        state = getattr(self, "_refit_from", None)
        if predictor.info.get("deploy") == "fast" or state is None:
            logger.info("refit_full: the predictor already has one model per member")
            return predictor
        ctx, stack_ctx, models = state
        limit = math.inf if time_limit_s is None else float(time_limit_s)
        deadline = time.monotonic() + limit
        members = predictor.members
        n_refit = refit_members([m for m in members if m.level == 1], models, ctx, deadline)
        if stack_ctx is not None:
            level2 = [m for m in members if m.level == 2]
            n_refit += refit_members(level2, models, stack_ctx, deadline)
        predictor.info.update(deploy="fast", n_refit=n_refit)
        self._refit_from = None
        if self.artifact_dir_ is not None:
            predictor.save(self.artifact_dir_)
        return predictor

    def _fitted(self) -> Predictor:
        if not hasattr(self, "predictor_"):
            raise NotFittedError("This AutoML is not fitted yet: call fit(data, target=...) first.")
        return self.predictor_

    def predict(self, data) -> np.ndarray:
        """Predicted labels (classification) or values (regression) for the rows of `data`
        (a DataFrame or a data file), in their order. See Predictor.predict."""
        return self._fitted().predict(data)

    def predict_proba(self, data) -> pd.DataFrame:
        """Class probabilities for the rows of `data`, one column per class in the order
        of `classes_`. See Predictor.predict_proba."""
        return self._fitted().predict_proba(data)

    def leaderboard(self) -> pd.DataFrame:
        """Every finished trial with its out-of-fold score and ensemble weight."""
        return self._fitted().leaderboard()

    def evaluate(self, data, metrics: list[str] | None = None) -> dict[str, float]:
        """Every metric of the task (or those named) on labelled rows. See
        Predictor.evaluate."""
        return self._fitted().evaluate(data, metrics)

    def feature_importance(self, data, **options: Any) -> pd.DataFrame:
        """Permutation importance with confidence intervals on labelled rows. See
        Predictor.feature_importance."""
        return self._fitted().feature_importance(data, **options)

    def save(self, path: str | Path) -> Path:
        """Save the predictor at `path`; the run's record points there from now on."""
        saved = self._fitted().save(path)
        book = getattr(self, "_book", None)
        if book is not None:
            book.saved_elsewhere(saved)
            self.artifact_dir_ = saved
        return saved

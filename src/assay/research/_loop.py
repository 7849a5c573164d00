"""The research loop: propose, validate, commit, run in the sandbox, score, keep or reset,
write the ledger line; repeat.

A change is kept when its validation gain over the best beats the noise floor (twice the
baseline's spread over seeds). The paired bootstrap error of that gain (how much the luck of
which validation rows were drawn can move it) is written next to every gain beyond the floor,
and the gain must also exceed `min_se` of those errors (MIN_SE, two, by default: a keep at
half an error or one error is what the luck of the rows gives, and the holdout did not
confirm such keeps), raised with the number of changes tried against the same best
(`keep_threshold`: the best of twenty tries beats two errors by luck far more often than one
try does; a change kept at 2.2 errors after 17 discards lost on the holdout). The hidden
holdout shows whether the kept gains hold up.

Crash safety rests on one order: the git state of an experiment is made final (the branch
on the new best, or reset to the old one) before its ledger line is written. So on start
(and after any stop) a commit after the last kept line belongs to an experiment that never
finished, and `_recovery.reconcile` resets to the last kept commit; experiment numbers
continue after the last line. With `parallel > 1` each proposal is committed in a git
worktree of its own and run in its own sandbox; results are decided in the order they
complete, against the best so far.
"""

from __future__ import annotations

import contextlib
import math
import shutil
import statistics
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from assay._cpus import usable_cpus
from assay._types import OutcomeStatus
from assay.errors import AssayError, ProposalError
from assay.log import get_logger
from assay.research._change import Change, ProposalContext, Proposer
from assay.research._discovery import discovered_features
from assay.research._ensemble import choose_ensemble, pooled_predictions
from assay.research._harness import Harness, RunResult, experiment_label
from assay.research._ledger import (
    MIN_SE,
    ExperimentStatus,
    Ledger,
    config_hash,
    keep_threshold,
    noise_floor,
    score_of,
)
from assay.research._recovery import reconcile, run_lock, stop_sandboxed_children
from assay.research._workspace import (
    PROGRAM,
    Repo,
    ResearchError,
    prepare_worktrees,
    remove_worktrees,
)
from assay.store._experiments import ExperimentRecord

if TYPE_CHECKING:
    from assay.execute._executors import DaskExecutor, LocalExecutor

logger = get_logger(__name__)


_STATUS_OF = {
    OutcomeStatus.TIMEOUT: ExperimentStatus.TIMEOUT,
    OutcomeStatus.INVALID_OUTPUT: ExperimentStatus.INVALID,
}
_POLL_S = 0.25


def run_in_harness(folder: str, text: str, seed, budget_s: float, label: str) -> RunResult:
    """One experiment on whichever process runs this (a Dask worker): the harness folder
    and the workspace must be on a file system that worker sees."""
    return Harness(folder).run(text, seed=seed, budget_s=budget_s, label=label)


def _on_cluster(executor, folder: Path, text: str, seed, budget_s: float, label: str):
    return executor.submit(run_in_harness, str(folder), text, seed, budget_s, label).result()


@dataclass
class _Job:
    exp_no: int
    change: Change
    parent: str
    started_at: float
    fixes_left: int
    slot: Repo
    commit: str = ""
    future: Future | None = None


@dataclass(frozen=True)
class LoopSummary:
    n_experiments: int  # ledger lines written by this run (the baseline not counted)
    n_kept: int
    best_commit: str
    best_score: float
    baseline_score: float
    noise_floor: float
    stopped_because: str
    interrupted: bool = False


def _validators() -> tuple[Callable, Callable]:
    from assay.research._validate import is_seed_only, validate_change

    return validate_change, is_seed_only


class ResearchLoop:
    """Runs experiments on the workspace `ws` until `max_exp` ledger lines are written
    (the baseline not counted), `time_limit_s` has passed since `run()` began (no new
    experiment starts; running ones finish) or the proposer returns None. `store`: None
    for the default store, False for none, or a SQLStore/URL. `on_record` sees every
    ledger line written. Before the first proposal, feature discovery ranks candidate
    features on the training rows for up to `discover_s` seconds (0: none), once per
    workspace."""

    def __init__(
        self,
        ws: str | Path,
        proposer: Proposer,
        budget_per_exp_s: float | None = None,
        max_exp: int = 100,
        max_fixes: int = 2,
        n_noise_seeds: int = 3,
        parallel: int = 1,
        *,
        min_se: float = MIN_SE,
        discover_s: float | None = None,
        time_limit_s: float | None = None,
        cluster: str | None = None,
        store: Any = None,
        on_record: Callable[[ExperimentRecord], None] | None = None,
    ):
        if parallel < 1 or n_noise_seeds < 1 or min(max_exp, max_fixes, min_se) < 0:
            raise ResearchError(
                "parallel and n_noise_seeds must be at least 1, max_exp, max_fixes and "
                f"min_se at least 0 (got {parallel}, {n_noise_seeds}, {max_exp}, "
                f"{max_fixes}, {min_se})"
            )
        if time_limit_s is not None and not time_limit_s > 0:
            raise ResearchError(f"time_limit_s={time_limit_s!r}: give a positive number of seconds")
        if discover_s is not None and not discover_s >= 0:
            raise ResearchError(f"discover_s={discover_s!r}: give seconds, 0 for no discovery")
        self.ws = Path(ws).resolve()
        self.harness = Harness.for_workspace(self.ws)
        self.proposer = proposer
        self.budget_s = budget_per_exp_s or self.harness.budget_per_exp_s
        self.max_exp, self.max_fixes = max_exp, max_fixes
        self.n_noise_seeds, self.parallel = n_noise_seeds, parallel
        self.min_se = float(min_se)
        # feature discovery before the first proposal: twice an experiment's time by default
        self.discover_s = 2 * self.budget_s if discover_s is None else float(discover_s)
        self.discovered: list[dict] = []
        self.time_limit_s = time_limit_s
        self._started = time.monotonic()
        self.cluster = cluster
        self._executor: LocalExecutor | DaskExecutor | None = None
        self.repo = Repo(self.ws)
        self.ledger = Ledger(self.ws, self.harness.id, store)
        self.on_record = on_record
        self.records: list[ExperimentRecord] = []
        self.best_commit = ""
        self.best_score = float("nan")
        self.noise = 0.0
        self._best_preds: Path | None = None
        self._next_no = 0
        self._n_written = 0
        self._n_kept = 0
        self._jobs: list[_Job] = []
        self._futures: list[Future] = []
        self._pool: ThreadPoolExecutor | None = None

    # -- the run ---------------------------------------------------------------------------
    def run(self) -> LoopSummary:
        self._started = time.monotonic()
        with (
            run_lock(self.harness.folder, self.ws),
            ThreadPoolExecutor(self.parallel) as pool,
            contextlib.ExitStack() as stack,
        ):
            self._pool = pool
            if self.cluster:
                from assay.execute._executors import executor_from

                self._executor = executor_from(self.cluster)
                stack.enter_context(self._executor)
            self._reconcile()
            stopped, interrupted = "max_exp reached", False
            try:
                if not any(r.status == ExperimentStatus.BASELINE for r in self.records):
                    self._baseline()
                    self._update_ensemble()  # of the baseline's seeds, before any experiment
                self._set_best()
                self.discovered = discovered_features(
                    self.harness, min(self.discover_s, self._time_left_s()), n_jobs=usable_cpus()
                )
                stopped = self._explore()
            except KeyboardInterrupt:
                stopped, interrupted = "interrupted", True
                logger.warning("interrupted: stopping the running experiments")
                stop_sandboxed_children()
            finally:
                self._settle()
        baseline = [r for r in self.records if r.status == ExperimentStatus.BASELINE]
        return LoopSummary(
            n_experiments=self._n_written,
            n_kept=self._n_kept,
            best_commit=self.best_commit,
            best_score=self.best_score,
            baseline_score=score_of(baseline[0]) if baseline else float("nan"),
            noise_floor=self.noise,
            stopped_because=stopped,
            interrupted=interrupted,
        )

    def _reconcile(self) -> None:
        """Bring git in line with the ledger after any interruption (see the module doc)."""
        self.harness.clear_experiment_runs()
        self.records, self.best_commit = reconcile(self.repo, self.ledger)
        self._next_no = max((r.exp_no for r in self.records), default=-1) + 1

    def _set_best(self) -> None:
        baseline = next(r for r in self.records if r.status == ExperimentStatus.BASELINE)
        self.noise = noise_floor(baseline.seed_scores or (score_of(baseline),))
        best = [r for r in self.records if ExperimentStatus(r.status).is_best][-1]
        self.best_score = score_of(best)
        label = experiment_label(best.exp_no)
        if best.status == ExperimentStatus.BASELINE:
            label += f"-seed{self.harness.seed}"
        self._best_preds = self.harness.predictions_of(label)

    def _baseline(self) -> None:
        text = self.repo.show(self.best_commit)
        exp_no, started = self._take_number(), time.time()
        seeds = [self.harness.seed + i for i in range(self.n_noise_seeds)]
        futures = [
            self._submit(text, f"{experiment_label(exp_no)}-seed{seed}", seed) for seed in seeds
        ]
        results = [self._wait(f) for f in futures]
        failed = [r for r in results if not r.ok]
        if failed:
            raise ResearchError(
                f"the baseline pipeline.py ended {failed[0].status.value} "
                f"({failed[0].reason}); fix it and run again. Log: {failed[0].log_path}\n"
                f"{failed[0].log_tail[-1500:]}"
            )
        scores = tuple(score_of(r) for r in results)
        self._write(
            ExperimentRecord(
                research_id=self.harness.id,
                exp_no=exp_no,
                commit=self.best_commit,
                parent=self.repo.parent(self.best_commit),
                status=ExperimentStatus.BASELINE,
                score=statistics.fmean(scores),
                description=f"baseline over {len(scores)} seed(s)",
                source="baseline",
                wall_s=max(r.wall_s for r in results),
                peak_memory_mb=max(r.peak_memory_mb for r in results),
                started_at=started,
                config_hash=config_hash(text),
                seed_scores=scores,
            )
        )

    def _explore(self) -> str:
        fixes: deque[tuple[_Job, str]] = deque()
        slots = self._slots()
        stopped = ""
        while True:
            while not stopped and slots and self._n_written + len(self._jobs) < self.max_exp:
                if self._time_left_s() <= 0:
                    stopped = "time limit reached"
                    break
                fix = fixes.popleft() if fixes else None
                try:
                    job = self._propose(slots[0], fix)
                except AssayError as exc:
                    logger.error("the proposer failed: %s", exc)
                    stopped = f"the proposer failed: {exc}"
                    break
                if job is None:
                    if fix is None:
                        stopped = "the proposer is out of ideas"
                    continue
                if job.future is not None:
                    slots.pop(0)
                    self._jobs.append(job)
            if not self._jobs:
                return stopped or "max_exp reached"
            running = {j.future: j for j in self._jobs if j.future is not None}
            done, _ = wait(running, _POLL_S, FIRST_COMPLETED)
            for future, job in running.items():
                if future not in done:
                    continue
                self._jobs.remove(job)
                slots.append(job.slot)
                failed = self._finish(job, future.result())
                if failed is not None and job.fixes_left > 0:
                    fixes.append((job, failed))

    def _time_left_s(self) -> float:
        """Seconds before no new experiment starts (running ones finish)."""
        if self.time_limit_s is None:
            return math.inf
        return self.time_limit_s - (time.monotonic() - self._started)

    def _slots(self) -> list[Repo]:
        if self.parallel == 1:
            return [self.repo]
        return prepare_worktrees(self.repo, self._worktrees, self.parallel, self.best_commit)

    @property
    def _worktrees(self) -> Path:
        return self.harness.folder.parent / f"{self.harness.id}.worktrees"

    # -- one experiment --------------------------------------------------------------------
    def _context(self, pipeline: str, last_error: str | None) -> ProposalContext:
        program = self.ws / PROGRAM
        return ProposalContext(
            program=program.read_text() if program.exists() else "",
            pipeline=pipeline,
            ledger=[{**r.to_dict(), "number": r.exp_no} for r in self.records],
            last_error=last_error,
            metric=self.harness.metric.name,
            greater_is_better=self.harness.metric.greater_is_better,
            discovered=self.discovered,
            columns=self.harness.feature_columns(),
        )

    def _propose(self, slot: Repo, fix: tuple[_Job, str] | None) -> _Job | None:
        """Ask for a change; a refused or seed-only one is logged here and not run
        (the returned job then has no future)."""
        base = fix[0].change.pipeline if fix else self.repo.show(self.best_commit)
        started = time.time()
        refusal: str | None
        try:
            change = self.proposer.propose(self._context(base, fix[1] if fix else None))
        except ProposalError as exc:  # an unusable proposal: logged as refused
            change, refusal = None, str(exc)
        else:
            refusal = None
        if change is None and refusal is None:
            return None
        fixes_left = fix[0].fixes_left - 1 if fix else self.max_fixes
        if fix is not None and change is not None:
            change = replace(change, source="fix")
        job = _Job(
            exp_no=self._take_number(),
            change=change or Change(base, "unusable proposal", "llm"),
            parent=self.best_commit,
            started_at=started,
            fixes_left=fixes_left,
            slot=slot,
        )
        validate_change, is_seed_only = _validators()
        reason = refusal or validate_change(base, job.change)
        if reason is None and is_seed_only(base, job.change.pipeline):
            self._write(self._record(job, ExperimentStatus.SEED_ONLY, None))
            return job
        if reason is not None:
            desc = f"{job.change.description} (refused: {reason})"
            self._write(self._record(replace(job, change=replace(job.change, description=desc))))
            return job
        if slot is not self.repo:
            slot.reset(self.best_commit)
        job.commit = slot.commit_experiment(job.exp_no, job.change.pipeline, job.change.description)
        why = f" (why: {job.change.why})" if job.change.why else ""
        logger.info("experiment %d: %s%s", job.exp_no, job.change.description, why)
        self._give_prior(experiment_label(job.exp_no))
        job.future = self._submit(job.change.pipeline, experiment_label(job.exp_no))
        return job

    def _give_prior(self, label: str) -> None:
        """The best experiment's finished trials become this run's inputs/trials.json, for
        a pipeline that continues its search (CONFIG["continue_search"])."""
        if self._best_preds is None:
            return
        trials = self.harness.trials_path(self._best_preds)
        if trials.is_file():
            shutil.copyfile(trials, self.harness.prior_path(self.harness.predictions_of(label)))

    def _submit(self, text: str, label: str, seed: int | None = None) -> Future:
        if self._pool is None:
            raise RuntimeError("experiments run only inside ResearchLoop.run()")
        if self._executor is not None:  # a thread waits on the worker's result
            future = self._pool.submit(
                _on_cluster, self._executor, self.harness.folder, text, seed, self.budget_s, label
            )
        else:
            future = self._pool.submit(
                self.harness.run, text, seed=seed, budget_s=self.budget_s, label=label
            )
        self._futures = [f for f in self._futures if not f.done()] + [future]
        return future

    def _finish(self, job: _Job, result: RunResult) -> str | None:
        """Decide, make git final, then write the line; the log tail when it failed."""
        status = _STATUS_OF.get(result.status, ExperimentStatus.CRASH)
        if result.ok:
            status, note = self._decide(job, result)
            if note:
                job.change = replace(job.change, description=f"{job.change.description} {note}")
        if status is ExperimentStatus.KEEP:
            if self.repo.head() != job.commit:
                self.repo.reset(job.commit)
            self.best_commit, self.best_score = job.commit, score_of(result)
            self._best_preds = self.harness.predictions_of(experiment_label(job.exp_no))
        elif self.repo.head() != self.best_commit:
            self.repo.reset(self.best_commit)
        self._write(self._record(job, status, result))
        if result.ok:
            self._update_ensemble()
            return None
        return f"{result.status.value}: {result.reason}\n{result.log_tail}"

    def _decide(self, job: _Job, result: RunResult) -> tuple[ExperimentStatus, str]:
        """Keep a gain beyond the noise floor (the baseline's spread over seeds) and, with
        `min_se`, beyond that many paired bootstrap errors on the validation rows, raised
        with the number of changes tried against the same best (`keep_threshold`); a gain
        past the floor is noted with its size in bootstrap errors either way."""
        loss = self.harness.metric.loss
        gain = loss(self.best_score) - loss(score_of(result))
        if gain <= self.noise:
            return ExperimentStatus.DISCARD, ""
        new = self.harness.predictions_of(experiment_label(job.exp_no))
        se = self.harness.paired_gain_se(new, self._best_preds)
        size = f"{gain / se:.1f} bootstrap SE" if se > 0 else "bootstrap SE 0"
        tried = self._tried_against_best()
        bar = keep_threshold(self.min_se, tried)
        of = f"{bar:.3g} for 1 of {tried} tried against the best"
        if gain <= bar * se:
            return ExperimentStatus.DISCARD, f"[gain {gain:+.4g} = {size}, under {of}]"
        return ExperimentStatus.KEEP, f"[gain {gain:+.4g} = {size}, over {of}]"

    def _tried_against_best(self) -> int:
        """The changes scored against the current best: this one and those discarded since
        the best's ledger line (in the order lines were written, as results are decided)."""
        last = max((i for i, r in enumerate(self.records) if ExperimentStatus(r.status).is_best))
        later = self.records[last + 1 :]
        return 1 + sum(r.status == ExperimentStatus.DISCARD for r in later)

    def _update_ensemble(self) -> None:
        """Choose the ensemble of experiments again (out-of-fold predictions only) and,
        when its members changed, score it on validation as a ledger line of its own."""
        predictions = pooled_predictions(self.harness, self.records)
        chosen = choose_ensemble(self.harness, predictions)
        if chosen is None:
            return
        earlier = [r for r in self.records if r.status == ExperimentStatus.ENSEMBLE]
        if earlier and earlier[-1].description.startswith(chosen.description + " ["):
            return
        values = chosen.predict(predictions)
        score = float(
            self.harness.metric(self.harness.encoded(self.harness.valid_labels()), values)
        )
        exp_no = self._take_number()
        np.save(self.harness.predictions_of(experiment_label(exp_no)), values)
        self._write(
            ExperimentRecord(
                research_id=self.harness.id,
                exp_no=exp_no,
                commit=None,
                parent=self.best_commit,
                status=ExperimentStatus.ENSEMBLE,
                score=score,
                description=f"{chosen.description} [out of fold {chosen.oof_score:.5g}]",
                source="ensemble",
                wall_s=None,
                peak_memory_mb=None,
                started_at=time.time(),
                config_hash=None,
            )
        )

    def _record(
        self,
        job: _Job,
        status: ExperimentStatus = ExperimentStatus.REFUSED,
        result: RunResult | None = None,
    ) -> ExperimentRecord:
        return ExperimentRecord(
            research_id=self.harness.id,
            exp_no=job.exp_no,
            commit=job.commit or None,
            parent=job.parent,
            status=status,
            score=None if result is None else result.score,
            description=job.change.description
            + (f" (why: {job.change.why})" if job.change.why else ""),
            source=job.change.source,
            wall_s=None if result is None else result.wall_s,
            peak_memory_mb=None if result is None else result.peak_memory_mb,
            started_at=job.started_at,
            config_hash=config_hash(job.change.pipeline),
        )

    def _write(self, record: ExperimentRecord) -> None:
        record = self.ledger.append(record)
        self.records.append(record)
        if record.status not in (ExperimentStatus.BASELINE, ExperimentStatus.ENSEMBLE):
            self._n_written += 1
            self._n_kept += record.status == ExperimentStatus.KEEP
        status = ExperimentStatus(record.status).value
        logger.info("experiment %d: %s %s", record.exp_no, status, record.score)
        if self.on_record is not None:
            self.on_record(record)

    def _take_number(self) -> int:
        self._next_no += 1
        return self._next_no - 1

    # -- waiting and stopping --------------------------------------------------------------
    @staticmethod
    def _wait(future: Future) -> RunResult:
        """Wait in short slices so Ctrl-C reaches this (main) thread at once."""
        while True:
            done, _ = wait([future], _POLL_S)
            if done:
                return future.result()

    def _settle(self) -> None:
        """Wait for what is still running, then leave git as the ledger says (the same
        reconciliation as on start, so an interruption anywhere leaves no loose end)."""
        for future in self._futures:
            with contextlib.suppress(Exception):
                future.result(timeout=60)
        self._jobs.clear()
        try:
            self._reconcile()
        except AssayError as exc:
            logger.error("could not tidy %s after the run: %s", self.ws, exc)
        if self.parallel > 1:
            remove_worktrees(self.repo, self._worktrees)

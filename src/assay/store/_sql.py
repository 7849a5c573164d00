"""SQLStore: runs and trials in SQLite (the default) or PostgreSQL, through SQLAlchemy Core.

Every write is one short transaction committed before the call returns, so a process killed
at any point loses at most the trial it was recording. Runs left RUNNING by a process that no
longer exists are marked INTERRUPTED whenever a store is opened: on this host by asking the
operating system about the process, on any other host (a shared PostgreSQL store) when the
run's heartbeat (`heartbeat`, also sent by `record_trial`) is older than `STALE_AFTER_S`.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psutil
from sqlalchemy import ColumnElement, Connection, Engine, Row, delete, insert, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from assay._types import RunState
from assay.config import settings as assay_settings
from assay.errors import StoreError
from assay.log import get_logger
from assay.store._codec import dumps_json, loads_json
from assay.store._engine import READ_ONLY, describe, make_engine, wrap_error
from assay.store._experiments import ExperimentsMixin
from assay.store._hypotheses import HypothesesMixin
from assay.store._llm_calls import LLMCallsMixin
from assay.store._records import UPDATABLE_RUN_FIELDS, RunRecord, TrialRecord
from assay.store._schema import ensure_schema, llm_calls, runs, trials

log = get_logger(__name__)

MIN_PREFIX = 4  # shortest run-id prefix get_run accepts
_PID_REUSE_SLACK_S = 60.0  # a process started this long after the owner was seen is not it
STALE_AFTER_S = 300.0  # a run on another host without a heartbeat for this long is dead


def _process_alive(pid: int, owner_seen_at: float) -> bool:
    """Whether the process that started or resumed a run (on this host) may still be
    running it; `owner_seen_at` is when that process last showed it owned the run."""
    if pid == os.getpid():
        return True
    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return False
        started = proc.create_time()
    except psutil.NoSuchProcess:
        return False
    except psutil.Error:  # exists but we may not look at it: assume it is the owner
        return True
    return started <= owner_seen_at + _PID_REUSE_SLACK_S


def _run_from_row(row: Row[Any]) -> RunRecord:
    values = dict(row._mapping)
    values["settings"] = loads_json(values["settings"]) or {}
    return RunRecord(**values)


def _trial_from_row(row: Row[Any]) -> TrialRecord:
    values = dict(row._mapping)
    values["config"] = loads_json(values["config"]) or {}
    values["fold_scores"] = tuple(float(s) for s in loads_json(values["fold_scores"]) or ())
    return TrialRecord(**values)


class SQLStore(LLMCallsMixin, ExperimentsMixin, HypothesesMixin):
    """A live handle on the store; it hands out frozen RunRecord / TrialRecord snapshots.

    LLM-call accounting (`record_llm_call`, `llm_calls`) comes from LLMCallsMixin; research
    experiments (`record_experiment`, `experiments`) from ExperimentsMixin; discovery
    hypotheses (`record_hypothesis`, `hypotheses`) from HypothesesMixin.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self._engine = make_engine(url)
        self._where = describe(self._engine.url)
        self._pid = os.getpid()
        with self._write("set up the tables") as conn:
            ensure_schema(conn, self._where)
        self.mark_stale_runs()

    def __repr__(self) -> str:
        return f"SQLStore({self._where!r})"

    def __enter__(self) -> SQLStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release pooled connections; the handle can still be used and reconnects lazily."""
        self._engine.dispose()

    # -- transactions ---------------------------------------------------------------------

    def _engine_here(self) -> Engine:
        if os.getpid() != self._pid:  # forked: never share the parent's sockets or files
            self._engine.dispose(close=False)
            self._pid = os.getpid()
        return self._engine

    @contextmanager
    def _write(self, action: str) -> Iterator[Connection]:
        try:
            with self._engine_here().begin() as conn:
                yield conn
        except SQLAlchemyError as exc:
            raise wrap_error(action, self._where, exc) from exc

    @contextmanager
    def _read(self, action: str) -> Iterator[Connection]:
        try:
            with self._engine_here().connect() as conn:
                yield conn.execution_options(**{READ_ONLY: True})
        except SQLAlchemyError as exc:
            raise wrap_error(action, self._where, exc) from exc

    def _unknown_run(self, run_id: str) -> StoreError:
        return StoreError(
            f"no run {run_id!r} in the store {self._where}. Run `assay runs` to list run ids "
            f"(a unique prefix of at least {MIN_PREFIX} characters is enough)."
        )

    def _find_run(self, conn: Connection, run_id: str) -> Row[Any]:
        row = conn.execute(select(runs).where(runs.c.run_id == run_id)).first()
        if row is not None:
            return row
        if len(run_id) >= MIN_PREFIX:
            query = select(runs).where(runs.c.run_id.startswith(run_id, autoescape=True))
            matches = conn.execute(query.limit(3)).all()
            if len(matches) == 1:
                return matches[0]
            if matches:
                ids = ", ".join(m.run_id for m in matches)
                raise StoreError(
                    f"run id prefix {run_id!r} matches several runs ({ids}, ...); "
                    "give more characters"
                )
        raise self._unknown_run(run_id)

    # -- runs -----------------------------------------------------------------------------

    def start_run(
        self,
        *,
        task: str | None = None,
        target: str | None = None,
        metric: str | None = None,
        source: str | None = None,
        time_limit_s: float | None = None,
        settings: dict[str, Any] | None = None,
    ) -> RunRecord:
        """Record a new RUNNING run owned by this process and return it."""
        record = RunRecord(
            run_id=uuid.uuid4().hex,
            state=RunState.RUNNING,
            created_at=time.time(),
            finished_at=None,
            task=task,
            target=target,
            metric=metric,
            source=source,
            time_limit_s=time_limit_s,
            settings=dict(settings or {}),
            best_score=None,
            best_model=None,
            artifact_dir=None,
            n_trials=0,
            pid=os.getpid(),
            host=socket.gethostname(),
            error=None,
        )
        values = {**record.__dict__, "state": record.state.value}
        values["settings"] = self._json(record.settings, "settings of the new run")
        with self._write("start a run") as conn:
            conn.execute(insert(runs).values(**values))
        log.debug("started run %s", record.run_id)
        return record

    def update_run(self, run_id: str, **fields: Any) -> None:
        """Change fields of run `run_id` (the exact id) in one transaction."""
        unknown = set(fields) - UPDATABLE_RUN_FIELDS
        if unknown:
            raise TypeError(f"update_run got fields it cannot change: {sorted(unknown)}")
        if not fields:
            return
        if "state" in fields:
            fields["state"] = RunState(fields["state"]).value
        if "settings" in fields:
            fields["settings"] = self._json(fields["settings"] or {}, f"settings of run {run_id}")
        with self._write(f"update run {run_id}") as conn:
            result = conn.execute(update(runs).where(runs.c.run_id == run_id).values(**fields))
            if result.rowcount == 0:
                raise self._unknown_run(run_id)

    def finish_run(
        self,
        run_id: str,
        state: RunState,
        *,
        best_score: float | None = None,
        best_model: str | None = None,
        artifact_dir: str | None = None,
        error: str | None = None,
    ) -> None:
        """Close a run with a final state; None arguments leave earlier values in place."""
        state = RunState(state)
        if state is RunState.RUNNING:
            raise ValueError("finish_run needs a final state, not RunState.RUNNING")
        given = {
            "best_score": best_score,
            "best_model": best_model,
            "artifact_dir": artifact_dir,
            "error": error,
        }
        extra = {k: v for k, v in given.items() if v is not None}
        self.update_run(run_id, state=state, finished_at=time.time(), **extra)

    def get_run(self, run_id: str) -> RunRecord:
        """The run with this id, or with this unique prefix (at least 4 characters)."""
        with self._read(f"read run {run_id}") as conn:
            return _run_from_row(self._find_run(conn, run_id))

    def runs(self, limit: int | None = 50) -> list[RunRecord]:
        """The most recent runs, newest first (all of them when `limit` is None)."""
        query = select(runs).order_by(runs.c.created_at.desc(), runs.c.run_id.desc())
        if limit is not None:
            query = query.limit(limit)
        with self._read("list runs") as conn:
            return [_run_from_row(row) for row in conn.execute(query)]

    def delete_run(self, run_id: str) -> bool:
        """Delete run `run_id` (the exact id) with its trials and LLM calls, in one
        transaction, unless it is running (then nothing changes). Whether it was deleted.

        The store is otherwise append-only: this is for pruning old runs on request."""
        running = RunState.RUNNING.value
        with self._write(f"delete run {run_id}") as conn:
            query = select(runs.c.state).where(runs.c.run_id == run_id).with_for_update()
            row = conn.execute(query).first()
            if row is None or row.state == running:
                return False
            conn.execute(delete(trials).where(trials.c.run_id == run_id))
            conn.execute(delete(llm_calls).where(llm_calls.c.run_id == run_id))
            conn.execute(delete(runs).where(runs.c.run_id == run_id))
        log.debug("deleted run %s", run_id)
        return True

    def heartbeat(self, run_id: str) -> None:
        """Record that the process owning run `run_id` (the exact id) is alive right now.

        A long run should call this well within `STALE_AFTER_S` (recording a trial counts
        too); otherwise a store opened on another host takes the run for dead."""
        with self._write(f"record a heartbeat of run {run_id}") as conn:
            result = conn.execute(
                update(runs).where(runs.c.run_id == run_id).values(heartbeat_at=time.time())
            )
            if result.rowcount == 0:
                raise self._unknown_run(run_id)

    def mark_stale_runs(self, stale_after_s: float = STALE_AFTER_S) -> list[str]:
        """Mark INTERRUPTED the RUNNING runs whose process is gone; their ids.

        On this host a run is gone when its process is; a run of this host whose process
        still lives is never marked, however old its heartbeat. A run of another host is gone
        when its last heartbeat (its start if it never sent one) is more than `stale_after_s`
        seconds old."""
        host = socket.gethostname()
        query = select(
            runs.c.run_id, runs.c.pid, runs.c.host, runs.c.created_at, runs.c.heartbeat_at
        ).where(runs.c.state == RunState.RUNNING.value)
        with self._read("look for interrupted runs") as conn:
            candidates = conn.execute(query).all()
        now = time.time()
        stale: list[tuple[str, ColumnElement[bool], str]] = []
        for row in candidates:
            if row.host == host:
                # the owner started before its last heartbeat (a resume sends one when it
                # takes the run), however old the run itself is
                taken_at = max(row.created_at, row.heartbeat_at or row.created_at)
                if not _process_alive(row.pid, taken_at):
                    why = f"process {row.pid} on {host} ended without finishing the run"
                    stale.append((row.run_id, runs.c.pid == row.pid, why))
                continue
            last = row.heartbeat_at if row.heartbeat_at is not None else row.created_at
            if now - last <= stale_after_s:
                continue
            when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(last))
            if row.heartbeat_at is None:
                seen = f"sent no heartbeat since the run started at {when}"
            else:
                seen = f"stopped sending heartbeats; the last was at {when}"
            why = (
                f"process {row.pid} on host {row.host} {seen}, more than "
                f"{stale_after_s:g} s before {host} checked"
            )
            # only if no heartbeat arrived since we read it
            unchanged = (
                runs.c.heartbeat_at.is_(None)
                if row.heartbeat_at is None
                else runs.c.heartbeat_at == row.heartbeat_at
            )
            stale.append((row.run_id, unchanged, why))
        marked: list[str] = []
        if not stale:
            return marked
        with self._write("mark interrupted runs") as conn:
            for run_id, still, why in stale:
                result = conn.execute(
                    update(runs)
                    .where(runs.c.run_id == run_id, runs.c.state == RunState.RUNNING.value, still)
                    .values(state=RunState.INTERRUPTED.value, finished_at=time.time(), error=why)
                )
                if result.rowcount:
                    marked.append(run_id)
        if marked:
            log.warning("marked %d run(s) interrupted: %s", len(marked), ", ".join(marked))
        return marked

    # -- trials ---------------------------------------------------------------------------

    def record_trial(self, trial: TrialRecord) -> None:
        """Append one trial and count it on its run, committed before returning."""
        what = f"trial {trial.trial_no} of run {trial.run_id}"
        values = {**trial.__dict__, "state": trial.state.value}
        values["config"] = self._json(trial.config, f"config of {what}")
        values["fold_scores"] = self._json(list(trial.fold_scores), f"fold scores of {what}")
        try:
            with self._write(f"record {what}") as conn:
                bumped = conn.execute(
                    update(runs)
                    .where(runs.c.run_id == trial.run_id)
                    .values(n_trials=runs.c.n_trials + 1, heartbeat_at=time.time())
                )
                if bumped.rowcount == 0:
                    raise self._unknown_run(trial.run_id)
                conn.execute(insert(trials).values(**values))
        except StoreError as exc:
            if isinstance(exc.__cause__, IntegrityError):
                raise StoreError(
                    f"{what} is already recorded; trial numbers must be unique within a run"
                ) from exc.__cause__
            raise

    def trials(self, run_id: str) -> list[TrialRecord]:
        """All trials of a run (id or unique prefix), by trial number."""
        with self._read(f"read trials of run {run_id}") as conn:
            full_id = self._find_run(conn, run_id).run_id
            query = select(trials).where(trials.c.run_id == full_id).order_by(trials.c.trial_no)
            return [_trial_from_row(row) for row in conn.execute(query)]

    @staticmethod
    def _json(value: Any, what: str) -> str:
        try:
            return dumps_json(value)
        except TypeError as exc:
            raise StoreError(f"the {what} cannot be stored: {exc}; use plain values") from exc


def open_store(url: str | None = None) -> SQLStore:
    """Open (creating if needed) the store at `url`; default: ASSAY_STORE or ASSAY_HOME/assay.db."""
    return SQLStore(url if url is not None else assay_settings().store_url)

"""LLM calls of a run: one row per request, for token and cost accounting after the fact.

Kept apart from `_sql.py` as a mixin of SQLStore, which it shares transactions and run
lookup with.
"""

from __future__ import annotations

import time
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Row, func, insert, select

from assay.store._schema import llm_calls, runs

if TYPE_CHECKING:
    from assay.errors import StoreError


@dataclass(frozen=True)
class LLMCallRecord:
    """One LLM request as stored; `error` is set (and tokens are 0) when it failed."""

    run_id: str
    call_no: int
    model: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float | None = None
    latency_s: float = 0.0
    cached: bool = False
    error: str | None = None
    created_at: float = field(default_factory=time.time)


def _call_from_row(row: Row[Any]) -> LLMCallRecord:
    values = dict(row._mapping)
    values["cached"] = bool(values["cached"])
    return LLMCallRecord(**values)


class LLMCallsMixin:
    """`record_llm_call` and `llm_calls` for SQLStore."""

    if TYPE_CHECKING:

        def _write(self, action: str) -> AbstractContextManager[Connection]: ...
        def _read(self, action: str) -> AbstractContextManager[Connection]: ...
        def _find_run(self, conn: Connection, run_id: str) -> Row[Any]: ...
        def _unknown_run(self, run_id: str) -> StoreError: ...

    def record_llm_call(
        self,
        run_id: str,
        *,
        model: str,
        prompt_tokens: int = 0,
        completion_tokens: int = 0,
        cost_usd: float | None = None,
        latency_s: float = 0.0,
        cached: bool = False,
        error: str | None = None,
        created_at: float | None = None,
    ) -> int:
        """Append one call to run `run_id` (the exact id); returns its number (1, 2, ...)."""
        with self._write(f"record an LLM call of run {run_id}") as conn:
            # the row lock (PostgreSQL; SQLite's BEGIN IMMEDIATE already serializes writers)
            # keeps two writers from taking the same call number
            owner = select(runs.c.run_id).where(runs.c.run_id == run_id).with_for_update()
            if conn.execute(owner).first() is None:
                raise self._unknown_run(run_id)
            last = select(func.max(llm_calls.c.call_no)).where(llm_calls.c.run_id == run_id)
            call_no = int(conn.scalar(last) or 0) + 1
            conn.execute(
                insert(llm_calls).values(
                    run_id=run_id,
                    call_no=call_no,
                    created_at=time.time() if created_at is None else created_at,
                    model=model,
                    prompt_tokens=int(prompt_tokens),
                    completion_tokens=int(completion_tokens),
                    cost_usd=cost_usd,
                    latency_s=float(latency_s),
                    cached=bool(cached),
                    error=error,
                )
            )
        return call_no

    def llm_calls(self, run_id: str) -> list[LLMCallRecord]:
        """All LLM calls of a run (id or unique prefix), in order."""
        with self._read(f"read LLM calls of run {run_id}") as conn:
            full_id = self._find_run(conn, run_id).run_id
            query = (
                select(llm_calls).where(llm_calls.c.run_id == full_id).order_by(llm_calls.c.call_no)
            )
            return [_call_from_row(row) for row in conn.execute(query)]

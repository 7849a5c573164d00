"""Hypotheses of discovery runs (`assay discover`): one row per component generated, with
its status (evaluated, invalid, duplicate, skipped), reward and details.

The run folder's hypotheses.jsonl is written first and is the source of truth for resuming;
these rows mirror it so components can be queried across runs. A mixin of SQLStore.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Row, insert, select
from sqlalchemy.exc import IntegrityError

from assay.errors import StoreError
from assay.store._codec import dumps_json, loads_json
from assay.store._schema import hypotheses


@dataclass(frozen=True)
class HypothesisRecord:
    run_id: str
    seq: int
    hypothesis_id: str
    kind: str
    origin: str
    status: str
    reward: float | None
    predicted: float | None
    description: str
    code: str
    created_at: float
    details: dict[str, Any] = field(default_factory=dict)


def _from_row(row: Row[Any]) -> HypothesisRecord:
    values = dict(row._mapping)
    values["details"] = loads_json(values["details"]) or {}
    return HypothesisRecord(**values)


class HypothesesMixin:
    """`record_hypothesis` and `hypotheses` for SQLStore."""

    if TYPE_CHECKING:

        def _write(self, action: str) -> AbstractContextManager[Connection]: ...
        def _read(self, action: str) -> AbstractContextManager[Connection]: ...

    def record_hypothesis(self, record: HypothesisRecord) -> None:
        """Append one hypothesis line; a sequence number already recorded for the run is
        refused (StoreError)."""
        what = f"hypothesis {record.seq} of discovery run {record.run_id}"
        values = dict(record.__dict__)
        values["details"] = dumps_json(values["details"])
        try:
            with self._write(f"record {what}") as conn:
                conn.execute(insert(hypotheses).values(**values))
        except StoreError as exc:
            if isinstance(exc.__cause__, IntegrityError):
                raise StoreError(f"{what} is already recorded") from exc.__cause__
            raise

    def hypotheses(self, run_id: str) -> list[HypothesisRecord]:
        """Every hypothesis line of one discovery run, in order."""
        query = select(hypotheses).where(hypotheses.c.run_id == run_id).order_by(hypotheses.c.seq)
        with self._read(f"read hypotheses of discovery run {run_id}") as conn:
            return [_from_row(row) for row in conn.execute(query)]

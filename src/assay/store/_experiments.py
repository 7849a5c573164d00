"""Experiments of research loops: one row per ledger line of `assay research run`.

A research loop is not an AutoML run, so its rows are keyed by the research id (the
harness folder's name) rather than a run id. The workspace's results.tsv is written first
and is the source of truth; these rows mirror it so experiments can be queried across
workspaces. Kept apart from `_sql.py` as a mixin of SQLStore.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Row, insert, select
from sqlalchemy.exc import IntegrityError

from assay.errors import StoreError
from assay.store._codec import dumps_json, loads_json
from assay.store._schema import experiments


@dataclass(frozen=True)
class ExperimentRecord:
    """One experiment as the ledger keeps it. `status` is a research.ExperimentStatus value;
    `commit` is None for proposals that were never run (refused, seed-only)."""

    research_id: str
    exp_no: int
    commit: str | None
    parent: str | None
    status: str
    score: float | None
    description: str
    source: str
    wall_s: float | None
    peak_memory_mb: float | None
    started_at: float
    config_hash: str | None = None
    seed_scores: tuple[float, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        out["status"] = str(getattr(self.status, "value", self.status))
        out["seed_scores"] = list(self.seed_scores)
        return out


def _from_row(row: Row[Any]) -> ExperimentRecord:
    values = dict(row._mapping)
    values["seed_scores"] = tuple(float(s) for s in loads_json(values["seed_scores"]) or ())
    return ExperimentRecord(**values)


class ExperimentsMixin:
    """`record_experiment` and `experiments` for SQLStore."""

    if TYPE_CHECKING:

        def _write(self, action: str) -> AbstractContextManager[Connection]: ...
        def _read(self, action: str) -> AbstractContextManager[Connection]: ...

    def record_experiment(self, record: ExperimentRecord) -> None:
        """Append one experiment, committed before returning; a number already recorded for
        this research id is refused (StoreError)."""
        what = f"experiment {record.exp_no} of research {record.research_id}"
        values = record.to_dict()
        values["seed_scores"] = dumps_json(values["seed_scores"])
        try:
            with self._write(f"record {what}") as conn:
                conn.execute(insert(experiments).values(**values))
        except StoreError as exc:
            if isinstance(exc.__cause__, IntegrityError):
                raise StoreError(
                    f"{what} is already recorded; experiment numbers are unique per research id"
                ) from exc.__cause__
            raise

    def experiments(self, research_id: str) -> list[ExperimentRecord]:
        """All experiments of one research loop, by number."""
        query = (
            select(experiments)
            .where(experiments.c.research_id == research_id)
            .order_by(experiments.c.exp_no)
        )
        with self._read(f"read experiments of research {research_id}") as conn:
            return [_from_row(row) for row in conn.execute(query)]

"""The ledger: one line per experiment in WS/results.tsv (autoresearch style) and one row
in the store's `experiments` table.

results.tsv is the source of truth. A line is appended in one write and fsynced only after
the git state of its experiment is final, so a process killed at any moment leaves either
the whole line or a partial last line, which `read(repair=True)` drops. The store mirrors
the file; rows it lacks (a kill between the two writes) are added by `sync_store`.
"""

from __future__ import annotations

import hashlib
import json
import os
import statistics
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assay.errors import AssayError, ConfigError, ResearchError
from assay.log import get_logger
from assay.research._config import read_config
from assay.store._experiments import ExperimentRecord

if TYPE_CHECKING:
    from assay.research._harness import RunResult

logger = get_logger(__name__)

RESULTS = "results.tsv"
COLUMNS = (
    "exp",
    "commit",
    "parent",
    "score",
    "status",
    "source",
    "wall_s",
    "peak_memory_mb",
    "started_at",
    "config_hash",
    "seed_scores",
    "description",
)
NOISE_SIGMAS = 2.0  # a gain must exceed this many baseline standard deviations
MIN_SE = 2.0  # a kept gain exceeds this many paired bootstrap errors of the validation rows
# The chance that luck alone keeps one of the changes tried against the same best
FALSE_KEEP_RATE = 0.05


def keep_threshold(min_se: float, n_tried: int) -> float:
    """The paired bootstrap errors a gain must exceed to be kept when it is one of
    `n_tried` changes tried against the same best (itself and those discarded before it).

    The best of many tries beats its error bar by luck more often than one try does: the
    bar is raised so that, were no change any better, luck alone would keep one of the
    `n_tried` with probability FALSE_KEEP_RATE (Šidák's bound, the tries taken as
    independent; they share the validation rows, which makes the bound cautious): 1.6
    errors for one try, 2.3 for 5, 2.8 for 20, 3.3 for 100. Never below `min_se`; with
    `min_se` 0 the check is off."""
    if min_se <= 0:
        return 0.0
    z = statistics.NormalDist().inv_cdf((1.0 - FALSE_KEEP_RATE) ** (1.0 / max(1, n_tried)))
    return max(min_se, z)


class ExperimentStatus(str, Enum):
    BASELINE = "baseline"  # the starting pipeline, run over several seeds
    KEEP = "keep"  # better than the best by more than the noise floor: the branch moved
    DISCARD = "discard"  # ran fine, not better enough: reset to the best commit
    CRASH = "crash"  # exited with an error, or went over memory or disk
    TIMEOUT = "timeout"  # went over its time limit
    INVALID = "invalid"  # ran, but its predictions file could not be scored
    REFUSED = "refused"  # the change failed validation and was never run
    SEED_ONLY = "seed-only"  # the change only altered random seeds: never run, never kept
    ENSEMBLE = "ensemble"  # the ensemble of experiments, chosen on out-of-fold predictions

    @property
    def was_run(self) -> bool:
        return self not in (ExperimentStatus.REFUSED, ExperimentStatus.SEED_ONLY)

    @property
    def is_best(self) -> bool:
        """Lines whose commit the branch stays on."""
        return self in (ExperimentStatus.BASELINE, ExperimentStatus.KEEP)


def hash_config(config: dict[str, Any]) -> str:
    return hashlib.sha1(json.dumps(config, sort_keys=True, default=str).encode()).hexdigest()[:12]


def config_hash(pipeline: str) -> str | None:
    """A short hash of the CONFIG literal, so no config is proposed twice."""
    try:
        return hash_config(read_config(pipeline))
    except ConfigError:
        return None


def score_of(item: ExperimentRecord | RunResult) -> float:
    """The score of a run that ended ok, or of a baseline or kept line: they all have one."""
    if item.score is None:
        raise ResearchError(f"a score was expected here and there is none ({item.status})")
    return float(item.score)


def noise_floor(seed_scores: tuple[float, ...] | list[float]) -> float:
    """Twice the spread of the baseline over seeds, but never below a small epsilon."""
    scores = [float(s) for s in seed_scores]
    mean = statistics.fmean(scores) if scores else 0.0
    epsilon = 1e-4 * max(1.0, abs(mean))
    spread = statistics.stdev(scores) if len(scores) >= 2 else 0.0
    return max(NOISE_SIGMAS * spread, epsilon)


def _round(value: float | None) -> float | None:
    """Ten significant digits: what the TSV holds, so file and store agree exactly."""
    return None if value is None else float(f"{float(value):.10g}")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, float):
        return f"{value:.10g}"
    if isinstance(value, tuple | list):
        return ",".join(_cell(v) for v in value)
    return " ".join(str(value).split())  # no tabs or newlines inside a cell


def normalized(record: ExperimentRecord) -> ExperimentRecord:
    """The record as the TSV will give it back."""
    values = dict(record.__dict__)
    for key in ("score", "wall_s", "peak_memory_mb", "started_at"):
        values[key] = _round(values[key])
    values["seed_scores"] = tuple(_round(s) for s in record.seed_scores)
    values["description"] = _cell(record.description)
    values["status"] = ExperimentStatus(record.status)
    return ExperimentRecord(**values)


class Ledger:
    """results.tsv of a workspace plus its mirror in the store (`store=None`: the default
    store; False: none)."""

    def __init__(self, ws: str | Path, research_id: str, store: Any = None):
        self.path = Path(ws) / RESULTS
        self.research_id = research_id
        self._store_arg = store
        self._store = None

    @property
    def store(self):
        if self._store is None and self._store_arg is not False:
            from assay.store import SQLStore, open_store

            arg = self._store_arg
            self._store = arg if isinstance(arg, SQLStore) else open_store(arg)
        return self._store

    def read(self, *, repair: bool = False) -> list[ExperimentRecord]:
        """Every complete line, oldest first. `repair` cuts a partial last line off the file
        (left by a kill during the write)."""
        if not self.path.exists():
            return []
        data = self.path.read_bytes()
        complete = data.split(b"\n")[:-1]  # what follows the last newline is incomplete
        records, good_bytes = [], 0
        for i, raw in enumerate(complete):
            line = raw.decode("utf-8", errors="replace")
            if i == 0 and line.startswith("exp\t"):
                good_bytes += len(raw) + 1
                continue
            record = self._parse(line)
            if record is None:
                break
            records.append(record)
            good_bytes += len(raw) + 1
        if good_bytes < len(data):
            logger.warning("%s ends with an incomplete line (an interrupted write)", self.path)
            if repair:
                with self.path.open("r+b") as handle:
                    handle.truncate(good_bytes)
                    os.fsync(handle.fileno())
        return records

    def _parse(self, line: str) -> ExperimentRecord | None:
        cells = line.split("\t")
        if len(cells) != len(COLUMNS):
            return None
        row = dict(zip(COLUMNS, cells, strict=True))
        try:

            def number(key: str) -> float | None:
                return float(row[key]) if row[key] else None

            return ExperimentRecord(
                research_id=self.research_id,
                exp_no=int(row["exp"]),
                commit=row["commit"] or None,
                parent=row["parent"] or None,
                status=ExperimentStatus(row["status"]),
                score=number("score"),
                description=row["description"],
                source=row["source"],
                wall_s=number("wall_s"),
                peak_memory_mb=number("peak_memory_mb"),
                started_at=float(row["started_at"]),
                config_hash=row["config_hash"] or None,
                seed_scores=tuple(float(s) for s in row["seed_scores"].split(",") if s),
            )
        except ValueError:
            return None

    def append(self, record: ExperimentRecord) -> ExperimentRecord:
        """Write one line (durably), then mirror it in the store."""
        record = normalized(record)
        values = record.to_dict()
        values["exp"] = record.exp_no
        line = "\t".join(_cell(values[c]) for c in COLUMNS) + "\n"
        header = (
            "" if self.path.exists() and self.path.stat().st_size else "\t".join(COLUMNS) + "\n"
        )
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, (header + line).encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        self._mirror([record])
        return record

    def sync_store(self, records: list[ExperimentRecord]) -> int:
        """Add to the store the lines it lacks; how many were added."""
        if self.store is None:
            return 0
        try:
            known = {r.exp_no for r in self.store.experiments(self.research_id)}
        except AssayError as exc:
            logger.warning("cannot read experiments from the store: %s", exc)
            return 0
        missing = [r for r in records if r.exp_no not in known]
        self._mirror(missing)
        return len(missing)

    def _mirror(self, records: list[ExperimentRecord]) -> None:
        if self.store is None:
            return
        for record in records:
            try:
                self.store.record_experiment(record)
            except AssayError as exc:  # the TSV holds it; the next start syncs the store
                logger.warning("experiment %d not mirrored in the store: %s", record.exp_no, exc)

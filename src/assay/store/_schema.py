"""Tables of the store and the migrations that bring an older database up to date.

A fresh database gets the tables as defined here and the latest version at once (the usual
"create, then stamp" of migration tools). A database at an older version runs every later
migration in `MIGRATIONS`, in order, in one transaction. To change the schema: edit the tables
below, then append a `Migration` whose `apply` upgrades a database of the previous version.
The same tables and migrations serve SQLite and PostgreSQL; a migration must be safe to run on
a database whose tables were already created from these definitions (an older migration that
creates a table makes it with today's columns), so one that adds a column checks first.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    Double,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    inspect,
    select,
    text,
)

from assay.errors import StoreError
from assay.log import get_logger
from assay.store._codec import NaNSafeFloat

log = get_logger(__name__)

metadata = MetaData()

runs = Table(
    "runs",
    metadata,
    Column("run_id", String(32), primary_key=True),
    Column("state", String(16), nullable=False, index=True),
    Column("created_at", Double, nullable=False, index=True),
    Column("finished_at", Double),
    Column("task", String(32)),
    Column("target", Text),
    Column("metric", String(64)),
    Column("source", Text),
    Column("time_limit_s", Double),
    Column("settings", Text, nullable=False),  # JSON
    Column("best_score", NaNSafeFloat),
    Column("best_model", Text),
    Column("artifact_dir", Text),
    Column("n_trials", Integer, nullable=False, default=0),
    Column("pid", Integer, nullable=False),
    Column("host", String(255), nullable=False),
    Column("error", Text),
    Column("heartbeat_at", Double),  # last sign of life of the owning process; None: never
)

trials = Table(
    "trials",
    metadata,
    Column("run_id", String(32), ForeignKey("runs.run_id"), primary_key=True),
    Column("trial_no", Integer, primary_key=True, autoincrement=False),
    Column("model", String(100), nullable=False),
    Column("config", Text, nullable=False),  # JSON
    Column("state", String(16), nullable=False),
    Column("score", NaNSafeFloat),
    Column("fold_scores", Text, nullable=False),  # JSON list
    Column("fit_time_s", Double, nullable=False),
    Column("predict_time_s", Double, nullable=False),
    Column("peak_memory_mb", Double),
    Column("error", Text),
    Column("oof_path", Text),
    Column("created_at", Double, nullable=False),
)

llm_calls = Table(
    "llm_calls",
    metadata,
    Column("run_id", String(32), ForeignKey("runs.run_id"), primary_key=True),
    Column("call_no", Integer, primary_key=True, autoincrement=False),
    Column("created_at", Double, nullable=False),
    Column("model", String(200), nullable=False),
    Column("prompt_tokens", Integer, nullable=False),
    Column("completion_tokens", Integer, nullable=False),
    Column("cost_usd", NaNSafeFloat),  # None when the price is unknown
    Column("latency_s", Double, nullable=False),
    Column("cached", Boolean, nullable=False),
    Column("error", Text),
)

experiments = Table(
    "experiments",
    metadata,
    Column("research_id", String(32), primary_key=True),
    Column("exp_no", Integer, primary_key=True, autoincrement=False),
    Column("commit", String(64)),
    Column("parent", String(64)),
    Column("status", String(16), nullable=False),
    Column("score", NaNSafeFloat),
    Column("description", Text, nullable=False),
    Column("source", String(16), nullable=False),
    Column("wall_s", Double),
    Column("peak_memory_mb", Double),
    Column("started_at", Double, nullable=False),
    Column("config_hash", String(64)),
    Column("seed_scores", Text, nullable=False),  # JSON list (the baseline's seeds)
)

hypotheses = Table(
    "hypotheses",
    metadata,
    Column("run_id", String(32), primary_key=True),
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("hypothesis_id", String(32), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("origin", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("reward", NaNSafeFloat),
    Column("predicted", NaNSafeFloat),
    Column("description", Text, nullable=False),
    Column("code", Text, nullable=False),
    Column("details", Text, nullable=False),  # JSON: win rates, p-values, reason, parents
    Column("created_at", Double, nullable=False),
)

schema_version = Table(
    "schema_version",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),  # always 1: a single row
    Column("version", Integer, nullable=False),
    Column("updated_at", Double, nullable=False),
)


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    apply: Callable[[Connection], None]


def _create_tables(conn: Connection) -> None:
    metadata.create_all(conn)


def _add_column(conn: Connection, table: Table, name: str) -> None:
    """ALTER TABLE ... ADD COLUMN for `table.c[name]` as defined above, unless it is there.

    For nullable columns without a server default, which every database can add in place."""
    if name in {col["name"] for col in inspect(conn).get_columns(table.name)}:
        return
    column = table.c[name]
    preparer = conn.dialect.identifier_preparer
    kind = column.type.compile(dialect=conn.dialect)
    conn.execute(
        text(
            f"ALTER TABLE {preparer.format_table(table)} "
            f"ADD COLUMN {preparer.format_column(column)} {kind}"
        )
    )


MIGRATIONS: list[Migration] = [
    Migration(
        1,
        "initial schema: runs, trials, schema_version",
        lambda conn: metadata.create_all(conn, tables=[runs, trials, schema_version]),
    ),
    Migration(
        2,
        "llm_calls: one row per LLM request of a run",
        lambda conn: metadata.create_all(conn, tables=[llm_calls]),
    ),
    Migration(
        3,
        "experiments: one row per research-loop experiment",
        lambda conn: metadata.create_all(conn, tables=[experiments]),
    ),
    Migration(
        4,
        "hypotheses: one row per component hypothesis of a discovery run",
        lambda conn: metadata.create_all(conn, tables=[hypotheses]),
    ),
    Migration(
        5,
        "runs.heartbeat_at: when the run's process last showed it was alive",
        lambda conn: _add_column(conn, runs, "heartbeat_at"),
    ),
]
SCHEMA_VERSION = MIGRATIONS[-1].version


def _stamp(conn: Connection, version: int, *, fresh: bool) -> None:
    values = {"version": version, "updated_at": time.time()}
    if fresh:
        conn.execute(schema_version.insert().values(id=1, **values))
    else:
        conn.execute(schema_version.update().where(schema_version.c.id == 1).values(**values))


def ensure_schema(conn: Connection, where: str) -> None:
    """Create or upgrade the tables; call inside a write transaction so openers take turns."""
    if conn.dialect.name == "postgresql":
        # SQLite serializes this through BEGIN IMMEDIATE; PostgreSQL needs an explicit lock.
        conn.execute(text("SELECT pg_advisory_xact_lock(7256611)"))
    if not inspect(conn).has_table("schema_version"):
        _create_tables(conn)
        _stamp(conn, SCHEMA_VERSION, fresh=True)
        log.debug("created store schema version %d at %s", SCHEMA_VERSION, where)
        return
    current = conn.scalar(select(schema_version.c.version).where(schema_version.c.id == 1))
    if current is None:
        _create_tables(conn)
        _stamp(conn, SCHEMA_VERSION, fresh=True)
        return
    if current > SCHEMA_VERSION:
        raise StoreError(
            f"the store at {where} has schema version {current}, newer than this assay "
            f"understands ({SCHEMA_VERSION}); upgrade assay or point ASSAY_STORE elsewhere"
        )
    for migration in MIGRATIONS:
        if migration.version > current:
            log.info("upgrading store %s to v%d", where, migration.version)
            migration.apply(conn)
    if current < SCHEMA_VERSION:
        _stamp(conn, SCHEMA_VERSION, fresh=False)

"""Engines for the store: SQLite tuned for many writer processes, anything else as given.

SQLite allows one writer at a time. Each write takes the write lock up front with
`BEGIN IMMEDIATE`, so two writers never both start a transaction and then deadlock upgrading
their locks; WAL lets readers go on while one writes; `busy_timeout` makes a writer wait for
its turn instead of failing. pysqlite's own transaction handling is switched off so these
BEGINs are the only ones sent (the recipe in SQLAlchemy's SQLite docs).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import URL, Connection, Engine, create_engine, event, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

from assay.errors import StoreError

BUSY_TIMEOUT_MS = 30_000
READ_ONLY = "assay_read_only"  # execution option: a read needs no write lock


def _sqlite_path(url: URL) -> Path | None:
    db = url.database
    if not db or db == ":memory:" or db.startswith("file:"):
        return None
    return Path(db).expanduser()


def describe(url: URL) -> str:
    """Where the store lives, fit for a message: the file for SQLite, else the URL sans password."""
    path = _sqlite_path(url) if url.get_backend_name() == "sqlite" else None
    return str(path) if path is not None else url.render_as_string(hide_password=True)


def _sqlite_engine(url: URL) -> Engine:
    path = _sqlite_path(url)
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(
                f"cannot create the folder for the store {path}: {exc.strerror or exc}. "
                "Set ASSAY_HOME (or ASSAY_STORE) to a writable location."
            ) from exc
    engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we send BEGIN ourselves, see _on_begin
        cursor = dbapi_conn.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.execute("PRAGMA foreign_keys = ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = "DEFERRED" if conn.get_execution_options().get(READ_ONLY) else "IMMEDIATE"
        conn.exec_driver_sql(f"BEGIN {mode}")

    return engine


def make_engine(url: str) -> Engine:
    """An engine for `url`; StoreError if the URL is malformed or its driver is missing."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise StoreError(
            f"store URL {url!r} is not a database URL; use e.g. sqlite:///path/to/assay.db "
            "or postgresql://user@host/db in ASSAY_STORE"
        ) from exc
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed)
    try:
        return create_engine(parsed, pool_pre_ping=True)
    except (NoSuchModuleError, ImportError) as exc:
        is_pg = parsed.get_backend_name() == "postgresql"
        hint = " (pip install 'assay[postgres]')" if is_pg else ""
        raise StoreError(
            f"no database driver for the store URL {describe(parsed)}: {exc}. "
            f"Install the driver{hint} or use a sqlite:/// URL."
        ) from exc


def _advice(reason: str) -> str:
    lowered = reason.lower()
    if "not a database" in lowered or "malformed" in lowered:
        return (
            "The file is not an assay store or is damaged: move it aside, or set ASSAY_HOME "
            "or ASSAY_STORE to another location."
        )
    if "unable to open" in lowered or "readonly" in lowered or "read-only" in lowered:
        return "Check that the file and its folder exist and are writable."
    if "locked" in lowered or "busy" in lowered:
        return "Another process held the store locked too long; retry when it is done."
    return "Check ASSAY_STORE / ASSAY_HOME and that the database is reachable."


def wrap_error(action: str, where: str, exc: SQLAlchemyError) -> StoreError:
    """A StoreError saying what failed, where, why, and what to do about it."""
    orig = getattr(exc, "orig", None)
    reason = str(orig if orig is not None else exc).splitlines()[0]
    return StoreError(f"could not {action} in the store {where}: {reason}. {_advice(reason)}")

"""Engines for the store: SQLite tuned for many writer processes, anything else as given.

SQLite allows one writer at a time. Each write takes the write lock up front with
`BEGIN IMMEDIATE`, so two writers never both start a transaction and then deadlock upgrading
their locks; WAL lets readers go on while one writes; `busy_timeout` makes a writer wait for
its turn instead of failing; switching a fresh file to WAL is the one step it does not cover
(see `enable_wal`), so that step is retried. pysqlite's own transaction handling is switched off
so these BEGINs are the only ones sent (the recipe in SQLAlchemy's SQLite docs). None of this is
applied to PostgreSQL, which has row locks and its own transactions.

SQLite's locks rely on the file system; on NFS, SMB and other network file systems they are
unreliable and several hosts writing one file can corrupt it, so such a store is refused with
a pointer to PostgreSQL. A plain `postgresql://` URL uses the psycopg (v3) driver.
"""

from __future__ import annotations

import os
import random
import re
import sqlite3
import time
from pathlib import Path
from typing import Any

from sqlalchemy import URL, Connection, Engine, create_engine, event, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

from assay.errors import DiskFullError, StoreError

BUSY_TIMEOUT_MS = 30_000
WAL_RETRY_FIRST_S = 0.002  # first pause before asking again for WAL; doubles up to the cap
WAL_RETRY_MAX_S = 0.1
READ_ONLY = "assay_read_only"  # execution option: a read needs no write lock
PROC_MOUNTS = Path("/proc/mounts")
# File systems where SQLite's locking cannot be trusted (see "How To Corrupt An SQLite File").
NETWORK_FILE_SYSTEMS = frozenset(
    {
        "nfs",
        "nfs4",
        "cifs",
        "smb",
        "smb3",
        "smbfs",
        "sshfs",
        "fuse.sshfs",
        "9p",
        "lustre",
        "gpfs",
        "ceph",
        "fuse.ceph",
        "glusterfs",
        "fuse.glusterfs",
        "beegfs",
        "afs",
    }
)
_POSTGRES_ALIASES = ("postgresql", "postgres")  # plain names; both mean postgresql+psycopg
_MOUNT_ESCAPE = re.compile(r"\\([0-7]{3})")


def _sqlite_path(url: URL) -> Path | None:
    db = url.database
    if not db or db == ":memory:" or db.startswith("file:"):
        return None
    return Path(db).expanduser()


def describe(url: URL) -> str:
    """Where the store lives, fit for a message: the file for SQLite, else the URL sans password."""
    path = _sqlite_path(url) if url.get_backend_name() == "sqlite" else None
    return str(path) if path is not None else url.render_as_string(hide_password=True)


def mount_fstype(path: str | os.PathLike[str], mounts: str) -> str | None:
    """The file system type of the mount holding `path`, given the text of /proc/mounts.

    The longest mount point that is `path` or one of its parents wins; among equal mount
    points the last line wins, as a later mount hides an earlier one. None if none matches.
    """
    target = os.path.normpath(os.fspath(path))
    best: tuple[int, str] | None = None
    for line in mounts.splitlines():
        fields = line.split()
        if len(fields) < 3:
            continue
        # /proc/mounts writes a space, tab, newline or backslash in a path as \ooo (octal)
        point = os.path.normpath(_MOUNT_ESCAPE.sub(lambda m: chr(int(m[1], 8)), fields[1]))
        inside = point == "/" or target == point or target.startswith(point + os.sep)
        if inside and (best is None or len(point) >= best[0]):
            best = (len(point), fields[2])
    return None if best is None else best[1]


def refuse_network_fs(path: Path, mounts: str | None = None) -> None:
    """StoreError if the SQLite file `path` is on a network file system.

    `mounts` is the text of /proc/mounts (read when None; without it, e.g. off Linux, the
    check is skipped)."""
    if mounts is None:
        try:
            mounts = PROC_MOUNTS.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return
    folder = path.parent.resolve()
    fstype = mount_fstype(folder, mounts)
    if fstype is not None and fstype.lower() in NETWORK_FILE_SYSTEMS:
        raise StoreError(
            f"the store {path} is on a network file system ({fstype}); SQLite cannot lock "
            "safely there. Put ASSAY_HOME on a local disk, or use PostgreSQL: "
            "ASSAY_STORE=postgresql://... (see docs/cluster.md)"
        )


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    name = getattr(exc, "sqlite_errorname", None)  # Python 3.11+
    if name is not None:
        return name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED"))
    return "locked" in str(exc).lower() or "busy" in str(exc).lower()


def enable_wal(dbapi_conn: sqlite3.Connection, timeout_s: float = BUSY_TIMEOUT_MS / 1000) -> None:
    """Put the database in WAL mode, waiting up to `timeout_s` for other openers.

    The switch needs the file to itself. A connection asking for it already holds a read lock,
    and SQLite answers "database is locked" at once, without the busy handler, when another
    connection holds the write lock (waiting could deadlock): exactly what happens when several
    processes open a fresh store together, one switching or creating the tables while the
    next asks. The asking connection drops its read lock with the failed statement, so asking
    again, after a jittered pause that doubles each time, lets the holder finish. After
    `timeout_s` the last "database is locked" error is raised.
    """
    deadline = time.monotonic() + timeout_s
    pause_s = WAL_RETRY_FIRST_S
    while True:
        try:
            dbapi_conn.execute("PRAGMA journal_mode = WAL").fetchall()
            return
        except sqlite3.OperationalError as exc:
            if not _is_busy(exc) or time.monotonic() + pause_s > deadline:
                raise
        time.sleep(pause_s * random.uniform(0.5, 1.5))
        pause_s = min(2 * pause_s, WAL_RETRY_MAX_S)


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
        refuse_network_fs(path)
    engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we send BEGIN ourselves, see _on_begin
        cursor = dbapi_conn.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            enable_wal(dbapi_conn)
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
    if parsed.drivername in _POSTGRES_ALIASES:
        parsed = parsed.set(drivername="postgresql+psycopg")
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
    if "connection refused" in lowered or "could not connect" in lowered:
        return "Check that the database server in ASSAY_STORE is running and reachable."
    if "password authentication failed" in lowered or "no pg_hba.conf entry" in lowered:
        return "Check the user and password in ASSAY_STORE and the server's access rules."
    if "database" in lowered and "does not exist" in lowered:
        return "Create the database first (e.g. createdb NAME) or fix its name in ASSAY_STORE."
    if "value too long" in lowered:
        return "A value is longer than its column allows; shorten it."
    if "not a database" in lowered or "malformed" in lowered:
        return (
            "The file is not an assay store or is damaged: move it aside, or set ASSAY_HOME "
            "or ASSAY_STORE to another location."
        )
    if "unable to open" in lowered or "readonly" in lowered or "read-only" in lowered:
        return "Check that the file and its folder exist and are writable."
    if "locked" in lowered or "busy" in lowered:
        return "Another process held the store locked too long; retry when it is done."
    if "disk i/o error" in lowered:
        return (
            "Writing the file failed: check that its disk has free space (df) and that no "
            "file-size limit (ulimit -f) stops it, then retry."
        )
    return "Check ASSAY_STORE / ASSAY_HOME and that the database is reachable."


def wrap_error(action: str, where: str, exc: SQLAlchemyError) -> StoreError:
    """A StoreError saying what failed, where, why, and what to do about it."""
    orig = getattr(exc, "orig", None)
    reason = str(orig if orig is not None else exc).splitlines()[0]
    full = ("disk is full", "no space left on device")  # SQLite's words, then PostgreSQL's
    if getattr(orig, "sqlite_errorname", "") == "SQLITE_FULL" or any(
        words in reason.lower() for words in full
    ):
        return DiskFullError(
            f"could not {action} in the store {where}: {reason}. The disk holding it is full: "
            "free space there (or set ASSAY_HOME / ASSAY_STORE to a disk with room), then retry."
        )
    return StoreError(f"could not {action} in the store {where}: {reason}. {_advice(reason)}")

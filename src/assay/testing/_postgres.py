"""PostgresServer: a throwaway PostgreSQL server from Debian's packages, for tests and demos.

    from assay.testing import PostgresServer

    with PostgresServer() as server:
        store = open_store(server.url)   # postgresql+psycopg://postgres@127.0.0.1:PORT/assay
        other = server.create_database()  # a fresh, empty database; its URL

It runs `initdb` into a new temporary folder, starts `postgres` listening on 127.0.0.1 only
(on a free port, its unix socket inside that folder, trust authentication, no fsync: nothing
here is meant to outlive it), waits until it accepts connections and creates a database.
`close()` stops it with a fast shutdown and deletes the folder. PostgreSQL refuses to run as
root, so when we are root the server runs as an unprivileged user (`nobody` unless `os_user`
says otherwise) and owns the folder; otherwise it runs as the current user.
`scripts/postgres_server.py` starts one from the command line.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
import weakref
from pathlib import Path
from typing import Any

from assay.errors import PostgresUnavailable, StoreError
from assay.log import get_logger

log = get_logger(__name__)

HOST = "127.0.0.1"
_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_DEBIAN_BINDIRS = "/usr/lib/postgresql/*/bin"
_SETTINGS = {  # a disposable server: speed over durability, small memory
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "shared_buffers": "32MB",
    "max_connections": "100",
}


def _version_key(path: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", Path(path).parent.name))


def _has_server(folder: Path) -> bool:
    return all(os.access(folder / name, os.X_OK) for name in ("initdb", "postgres"))


def find_bindir() -> Path:
    """The folder with PostgreSQL's `initdb` and `postgres`: `pg_config --bindir`, else the
    newest /usr/lib/postgresql/*/bin (Debian keeps them off PATH), else PATH."""
    candidates: list[Path] = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            out = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, timeout=30, check=True
            )
            candidates.append(Path(out.stdout.strip()))
    candidates += [Path(p) for p in sorted(glob.glob(_DEBIAN_BINDIRS), key=_version_key)[::-1]]
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(Path(initdb).resolve().parent)
    for folder in candidates:
        if _has_server(folder):
            return folder
    raise PostgresUnavailable(
        "PostgreSQL's server programs (initdb, postgres) were not found via pg_config, in "
        f"{_DEBIAN_BINDIRS} or on PATH; install postgresql: apt-get install postgresql"
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _stop(proc: subprocess.Popen[bytes] | None, folder: str | None, owner: int) -> None:
    """Fast shutdown (SIGINT), then immediate (SIGQUIT), then SIGKILL; then delete `folder`.

    Only in the process that started the server: a forked child exiting leaves it alone."""
    if os.getpid() != owner:
        return
    if proc is not None and proc.poll() is None:
        for sig, wait_s in ((signal.SIGINT, 30.0), (signal.SIGQUIT, 10.0), (signal.SIGKILL, 10.0)):
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(sig)
            try:
                proc.wait(timeout=wait_s)
                break
            except subprocess.TimeoutExpired:
                continue
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)


class PostgresServer:
    """A PostgreSQL server on 127.0.0.1 in a temporary folder; see the module docstring.

    `database` is created at start and is the one `url` names; `superuser` is the database
    role (trusted, no password); `os_user` the account the server runs as when we are root;
    `port` None picks a free one; `bindir` None looks for the binaries (`find_bindir`)."""

    def __init__(
        self,
        *,
        database: str = "assay",
        superuser: str = "postgres",
        os_user: str = "nobody",
        port: int | None = None,
        bindir: str | os.PathLike[str] | None = None,
        startup_timeout_s: float = 60.0,
    ) -> None:
        for name in (database, superuser):
            if not _NAME.match(name):
                raise ValueError(f"{name!r} is not a plain lower-case SQL name")
        self.database = database
        self.superuser = superuser
        self.os_user = os_user
        self.port = port
        self._requested_port = port
        self.bindir = Path(bindir) if bindir is not None else None
        self.startup_timeout_s = startup_timeout_s
        self.folder: Path | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._finalizer: weakref.finalize[Any, PostgresServer] | None = None

    def __repr__(self) -> str:
        where = f"{HOST}:{self.port}" if self.running else "not running"
        return f"PostgresServer({where})"

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def data_dir(self) -> Path | None:
        return None if self.folder is None else self.folder / "data"

    @property
    def log_path(self) -> Path | None:
        return None if self.folder is None else self.folder / "postgres.log"

    @property
    def url(self) -> str:
        """postgresql+psycopg://SUPERUSER@127.0.0.1:PORT/DATABASE, for open_store."""
        return self.url_for(self.database)

    def url_for(self, database: str) -> str:
        if self.port is None:
            raise StoreError("the PostgreSQL server is not started: call start() first")
        return f"postgresql+psycopg://{self.superuser}@{HOST}:{self.port}/{database}"

    # -- start and stop -------------------------------------------------------------------

    def start(self) -> PostgresServer:
        """initdb, start the server, wait until it answers, create `database`; returns self."""
        if self.running:
            return self
        self._psycopg()  # fail before any work when the driver is missing
        bindir = self.bindir or find_bindir()
        if not _has_server(bindir):
            raise PostgresUnavailable(
                f"no initdb and postgres in {bindir}; install postgresql: "
                "apt-get install postgresql"
            )
        self.bindir = bindir
        ids = self._ids()
        self.folder = Path(tempfile.mkdtemp(prefix="assay-postgres-"))
        self._finalizer = weakref.finalize(self, _stop, None, str(self.folder), os.getpid())
        try:
            if ids is not None:
                os.chown(self.folder, *ids)
            self._initdb(bindir, ids)
            self._launch(bindir, ids)
            self.create_database(self.database)
        except BaseException:
            self.close()
            raise
        log.info("PostgreSQL %s running on %s:%d", bindir, HOST, self.port)
        return self

    def close(self) -> None:
        """Stop the server (fast shutdown) and delete its folder; safe to call twice."""
        if self._finalizer is not None:
            self._finalizer()  # runs _stop once, also at interpreter exit if never closed
            self._finalizer = None
        self._proc = None
        self.folder = None

    def _ids(self) -> tuple[int, int] | None:
        """(uid, gid) to run the server as when we are root, None to stay who we are."""
        if os.geteuid() != 0:
            return None
        try:
            entry = pwd.getpwnam(self.os_user)
        except KeyError:
            raise StoreError(
                f"PostgreSQL refuses to run as root and there is no user {self.os_user!r} to "
                "run it as; pass os_user= an unprivileged account (or run as one)"
            ) from None
        if entry.pw_uid == 0:
            raise StoreError(f"os_user {self.os_user!r} is root; PostgreSQL refuses that")
        return entry.pw_uid, entry.pw_gid

    def _run_as(self, ids: tuple[int, int] | None) -> dict[str, Any]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env.update(LC_ALL="C", LANG="C")
        kwargs: dict[str, Any] = {"cwd": str(self.folder), "env": env}
        if ids is not None:
            kwargs.update(user=ids[0], group=ids[1], extra_groups=[])
        return kwargs

    def _initdb(self, bindir: Path, ids: tuple[int, int] | None) -> None:
        cmd = [
            str(bindir / "initdb"),
            "--pgdata",
            str(self.data_dir),
            "--username",
            self.superuser,
            "--auth",
            "trust",
            "--encoding",
            "UTF8",
            "--no-locale",
            "--no-sync",
        ]
        done = subprocess.run(
            cmd, capture_output=True, text=True, timeout=300, **self._run_as(ids), check=False
        )
        if done.returncode != 0:
            tail = (done.stderr or done.stdout).strip().splitlines()[-5:]
            raise StoreError(f"initdb failed ({done.returncode}): {' | '.join(tail)}")

    def _launch(self, bindir: Path, ids: tuple[int, int] | None) -> None:
        assert self.folder is not None and self.log_path is not None
        fixed = self._requested_port
        for _attempt in range(1 if fixed is not None else 5):
            port = fixed if fixed is not None else _free_port()
            cmd = [str(bindir / "postgres"), "-D", str(self.data_dir)]
            settings = {
                **_SETTINGS,
                "listen_addresses": HOST,
                "port": str(port),
                "unix_socket_directories": str(self.folder),
            }
            for key, value in settings.items():
                cmd += ["-c", f"{key}={value}"]
            with open(self.log_path, "ab") as log_file:
                proc = subprocess.Popen(
                    cmd,
                    stdin=subprocess.DEVNULL,
                    stdout=log_file,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # Ctrl-C in a terminal reaches us, not it
                    **self._run_as(ids),
                )
            self._proc, self.port = proc, port
            if self._finalizer is not None:
                self._finalizer.detach()
            self._finalizer = weakref.finalize(self, _stop, proc, str(self.folder), os.getpid())
            if self._wait_ready():
                return
            if "could not bind" not in self.log_tail():
                break
            log.debug("port %d was taken; trying another", port)
        raise StoreError(
            f"PostgreSQL did not start on {HOST}:{self.port}: {self.log_tail() or 'no output'}"
        )

    def _wait_ready(self) -> bool:
        """Whether the server accepts connections before the timeout; False if it exited."""
        psycopg = self._psycopg()
        deadline = time.monotonic() + self.startup_timeout_s
        while time.monotonic() < deadline:
            if self._proc is None or self._proc.poll() is not None:
                return False
            try:
                with psycopg.connect(self._conninfo("postgres"), connect_timeout=2):
                    return True
            except psycopg.OperationalError:
                time.sleep(0.1)
        return False

    def log_tail(self, n_lines: int = 5) -> str:
        """The last lines of the server's log, joined with " | " (empty once closed)."""
        try:
            text = self.log_path.read_text(errors="replace") if self.log_path else ""
        except OSError:
            return ""
        return " | ".join(text.strip().splitlines()[-n_lines:])

    # -- databases ------------------------------------------------------------------------

    @staticmethod
    def _psycopg() -> Any:
        try:
            import psycopg
        except ImportError:
            raise PostgresUnavailable(
                "the psycopg driver is not installed: pip install 'assay[postgres]'"
            ) from None
        return psycopg

    def _conninfo(self, database: str) -> str:
        return f"host={HOST} port={self.port} user={self.superuser} dbname={database}"

    def _admin(self, statement: str, name: str) -> None:
        if not _NAME.match(name):
            raise ValueError(f"{name!r} is not a plain lower-case SQL name")
        if not self.running:
            raise StoreError("the PostgreSQL server is not running: call start() first")
        psycopg = self._psycopg()
        with psycopg.connect(self._conninfo("postgres"), autocommit=True) as conn:
            conn.execute(statement.format(name=name))

    def create_database(self, name: str | None = None) -> str:
        """Create an empty database (a unique name when None) and return its URL."""
        name = name or f"assay_{uuid.uuid4().hex[:16]}"
        self._admin('CREATE DATABASE "{name}"', name)
        return self.url_for(name)

    def drop_database(self, name: str) -> None:
        """Drop a database, disconnecting whoever is still connected to it."""
        self._admin('DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', name)

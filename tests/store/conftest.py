"""The store contract runs over both backends: `store_url` is a fresh SQLite file or a fresh
PostgreSQL database.

One real PostgreSQL server (Debian's binaries, on 127.0.0.1, in a temporary folder) serves
the whole session, with a new database per test. Without PostgreSQL the postgres cases skip
with a hint, except under CI, where they must run and so fail."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine

from assay.store import SQLStore, open_store
from assay.testing import PostgresServer, PostgresUnavailable

BACKENDS = ["sqlite", "postgres"]


def _unavailable(reason: str) -> None:
    message = f"{reason}; run `make setup` (it installs psycopg and Debian's postgresql)"
    if os.environ.get("CI"):
        pytest.fail(f"{message}; CI is set, so the PostgreSQL store tests must run", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    server = PostgresServer()
    try:
        server.start()
    except PostgresUnavailable as exc:
        _unavailable(f"PostgreSQL is not available: {exc}")
    try:
        yield server
    finally:
        server.close()


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL for an empty store: a SQLite file in a folder not yet made, or a new database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'nested' / 'assay.db'}"
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    url = server.create_database()
    yield url
    server.drop_database(url.rsplit("/", 1)[1])


@pytest.fixture
def backend(store_url: str) -> str:
    return "sqlite" if store_url.startswith("sqlite") else "postgres"


@pytest.fixture
def store(store_url: str) -> Iterator[SQLStore]:
    with open_store(store_url) as opened:
        yield opened


@pytest.fixture
def raw_engine(store_url: str) -> Iterator[Engine]:
    """A plain SQLAlchemy engine on the same database, to set up what the API cannot."""
    if store_url.startswith("sqlite"):
        Path(store_url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(store_url)
    yield engine
    engine.dispose()

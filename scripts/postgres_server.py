"""Start a throwaway PostgreSQL server for assay's store, print its URL, stop it on Ctrl-C.

    python scripts/postgres_server.py                 # prints postgresql+psycopg://...
    ASSAY_STORE=<that URL> assay fit ...              # in another terminal

The server comes from Debian's packages (`apt-get install postgresql`, or `make setup`),
listens on 127.0.0.1 only, keeps its data in a temporary folder and deletes it when stopped:
it is for trying the PostgreSQL store and for tests, not for keeping runs. See
assay.testing.PostgresServer.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time

from assay.errors import AssayError
from assay.testing import PostgresServer


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=None, help="default: a free port")
    parser.add_argument("--database", default="assay", help="database to create (assay)")
    parser.add_argument(
        "--os-user", default="nobody", help="account to run the server as when root (nobody)"
    )
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupt)  # stops the server as Ctrl-C does
    server = PostgresServer(database=args.database, os_user=args.os_user, port=args.port)
    try:
        server.start()
    except AssayError as exc:
        print(f"postgres_server: {exc}", file=sys.stderr)
        return 1
    try:
        print(server.url, flush=True)
        print(f"data in {server.folder}; Ctrl-C stops the server and deletes it", file=sys.stderr)
        while server.running:
            time.sleep(0.5)
        print(f"postgres_server: the server exited: {server.log_tail()}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        server.close()


if __name__ == "__main__":
    sys.exit(main())

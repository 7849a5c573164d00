"""Which engine a store URL gets: plain postgresql:// URLs use psycopg, passwords never reach a
message, SQLite on a network file system is refused; and the PostgreSQL test server itself."""

from __future__ import annotations

import os
import re
import socket
import sys
from pathlib import Path

import pytest

from assay.errors import StoreError
from assay.store import open_store
from assay.store._engine import describe, make_engine, mount_fstype, refuse_network_fs
from assay.testing import PostgresServer, PostgresUnavailable

MOUNTS = """\
sysfs /sys sysfs rw,nosuid,nodev,noexec,relatime 0 0
/dev/vda1 / ext4 rw,relatime 0 0
tmpfs /tmp tmpfs rw,nosuid,nodev 0 0
fileserver:/export/home /home nfs4 rw,relatime,vers=4.2,addr=10.0.0.2 0 0
/dev/vdb1 /home/alice/scratch xfs rw,relatime 0 0
//nas/share /mnt/team\\040drive cifs rw,relatime,vers=3.0 0 0
alice@login:/data /mnt/remote fuse.sshfs rw,nosuid,nodev 0 0
/dev/vdc1 /mnt/nfs ext4 rw 0 0
tmpfs /mnt/over tmpfs rw 0 0
server:/over /mnt/over nfs rw 0 0
"""


@pytest.mark.parametrize(
    ("path", "fstype"),
    [
        ("/home/alice/projects/assay-runs", "nfs4"),
        ("/home", "nfs4"),
        ("/home/alice/scratch/assay-runs", "xfs"),  # a local disk mounted inside the share
        ("/homework", "ext4"),  # a prefix of the name is not a parent folder
        ("/mnt/team drive/runs", "cifs"),  # \040 in /proc/mounts is a space
        ("/mnt/remote/x", "fuse.sshfs"),
        ("/mnt/nfsdata", "ext4"),
        ("/mnt/over/runs", "nfs"),  # the later mount hides the earlier one
        ("/tmp/x/../y", "tmpfs"),
    ],
)
def test_mount_fstype_picks_the_longest_mount_point(path: str, fstype: str) -> None:
    assert mount_fstype(path, MOUNTS) == fstype


def test_mount_fstype_without_a_matching_line_is_none() -> None:
    assert mount_fstype("/home/x", "") is None
    assert mount_fstype("/home/x", "garbage\n/dev/sda1 /data ext4 rw 0 0\n") is None


def test_sqlite_on_a_network_file_system_is_refused_with_a_pointer_to_postgres() -> None:
    store = Path("/home/alice/assay-runs/assay.db")
    with pytest.raises(StoreError) as info:
        refuse_network_fs(store, MOUNTS)
    assert str(info.value) == (
        f"the store {store} is on a network file system (nfs4); SQLite cannot lock safely "
        "there. Put ASSAY_HOME on a local disk, or use PostgreSQL: "
        "ASSAY_STORE=postgresql://... (see docs/cluster.md)"
    )
    refuse_network_fs(Path("/home/alice/scratch/assay.db"), MOUNTS)  # local: accepted
    refuse_network_fs(Path("/srv/assay.db"), MOUNTS)


def test_this_machines_temporary_folder_is_accepted(tmp_path: Path) -> None:
    refuse_network_fs(tmp_path / "assay.db")  # reads the real /proc/mounts
    open_store(f"sqlite:///{tmp_path / 'assay.db'}").close()


@pytest.mark.parametrize("scheme", ["postgresql", "postgres", "postgresql+psycopg"])
def test_postgres_urls_use_psycopg_and_messages_hide_the_password(scheme: str) -> None:
    engine = make_engine(f"{scheme}://alice:s3cret@127.0.0.1:5432/runs")
    try:
        assert engine.url.drivername == "postgresql+psycopg"
        assert describe(engine.url) == "postgresql+psycopg://alice:***@127.0.0.1:5432/runs"
    finally:
        engine.dispose()


def test_unreachable_postgres_says_so_without_the_password() -> None:
    with socket.socket() as probe:  # a port on 127.0.0.1 nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(StoreError) as info:
        open_store(f"postgresql://alice:s3cret@127.0.0.1:{port}/runs")
    message = str(info.value)
    assert "s3cret" not in message and f"alice:***@127.0.0.1:{port}/runs" in message
    assert "running and reachable" in message


def test_missing_psycopg_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)  # as if it were not installed
    with pytest.raises(StoreError, match=r"pip install 'assay\[postgres\]'"):
        open_store("postgresql://alice@127.0.0.1:5432/runs")
    with pytest.raises(PostgresUnavailable, match=r"pip install 'assay\[postgres\]'"):
        PostgresServer().start()


def test_server_without_binaries_says_what_to_install(tmp_path: Path) -> None:
    with pytest.raises(PostgresUnavailable, match="apt-get install postgresql"):
        PostgresServer(bindir=tmp_path).start()


def test_server_listens_on_localhost_only_and_leaves_nothing_behind(
    postgres_server: PostgresServer,
) -> None:
    import psycopg

    url = postgres_server.url
    assert re.fullmatch(r"postgresql\+psycopg://postgres@127\.0\.0\.1:\d+/assay", url)
    conninfo = f"host=127.0.0.1 port={postgres_server.port} user=postgres dbname=assay"
    with psycopg.connect(conninfo) as conn:
        assert conn.execute("SHOW listen_addresses").fetchone() == ("127.0.0.1",)
        assert conn.execute("SHOW unix_socket_directories").fetchone() == (
            str(postgres_server.folder),
        )
        assert conn.execute("SELECT current_user").fetchone() == ("postgres",)
    if os.geteuid() == 0:  # PostgreSQL refuses root: the server runs as an unprivileged user
        assert postgres_server.data_dir.stat().st_uid != 0

    with PostgresServer(database="other") as second:
        folder = second.folder
        assert second.port != postgres_server.port and second.url.endswith("/other")
        with open_store(second.url) as store:
            assert store.start_run().run_id
    assert not second.running and not folder.exists()

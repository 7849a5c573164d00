"""Writing a file so that a reader sees the old content or the new, never a part of it.

Every layer writes through here: a temporary file with a unique name beside the target
(a fixed name such as `<target>.tmp` lets two writers truncate each other's file and rename
it away from under each other), flushed and fsynced, renamed over the target, then the
folder fsynced so the rename survives a power cut. The temporary file is removed on any
error, so a crash or an exception leaves the target as it was and no litter beside it."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any


def _umask() -> int:
    """The process umask, read without changing it where Linux allows (os.umask can only
    be read by setting it, which races with other threads creating files)."""
    with (
        contextlib.suppress(OSError, ValueError),
        open("/proc/self/status", encoding="ascii") as handle,
    ):
        for line in handle:
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    current = os.umask(0o022)
    os.umask(current)
    return current


def _fsync_folder(folder: Path) -> None:
    """Make a rename in `folder` durable; skipped where folders cannot be opened (Windows)
    or synced (some network file systems)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_open(
    path: str | os.PathLike[str],
    mode: str = "wb",
    *,
    encoding: str | None = None,
    permissions: int | None = None,
) -> Iterator[IO[Any]]:
    """A file handle for streaming writers (np.save, json.dump): what is written replaces
    `path` when the block ends without an exception, and is thrown away otherwise.

    The handle's `name` is the temporary file's path, for checks that must read the staged
    file before it replaces the target. `permissions` defaults to what a plain open() would
    give a new file (0o666 less the umask); mkstemp alone would make every file private."""
    if mode not in ("w", "wb", "wt"):
        raise ValueError(f"atomic_open writes a whole file: mode 'w' or 'wb', not {mode!r}")
    target = Path(path)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(fd)  # reopened by name, so that the handle's `name` is the path
    try:
        with open(tmp, mode, encoding=encoding) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o666 & ~_umask() if permissions is None else permissions)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_folder(target.parent)


def atomic_write_bytes(
    path: str | os.PathLike[str], data: bytes, *, permissions: int | None = None
) -> Path:
    """Replace `path` with `data` atomically (see the module docstring)."""
    with atomic_open(path, "wb", permissions=permissions) as handle:
        handle.write(data)
    return Path(path)


def atomic_write_text(
    path: str | os.PathLike[str],
    text: str,
    encoding: str = "utf-8",
    *,
    permissions: int | None = None,
) -> Path:
    """Replace `path` with `text` atomically (see the module docstring)."""
    with atomic_open(path, "w", encoding=encoding, permissions=permissions) as handle:
        handle.write(text)
    return Path(path)

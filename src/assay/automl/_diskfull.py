"""A full disk while a fit writes its store rows, trial checkpoints, OOF files or the
predictor. The write fails somewhere deep (numpy, skops, SQLite); here it becomes one
DiskFullError that names the place and says how to go on: the finished trials are on
disk, so after freeing space the run resumes instead of starting over."""

from __future__ import annotations

import errno
from pathlib import Path

from assay.errors import DiskFullError, StoreError

OUT_OF_SPACE = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})


def out_of_space(exc: BaseException | None) -> BaseException | None:
    """The error behind `exc` (itself, or what caused it) that says a disk or a file-size
    limit was hit; None when it is about something else."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, DiskFullError):
            return exc
        if isinstance(exc, OSError) and exc.errno in OUT_OF_SPACE:
            return exc
        if isinstance(exc, StoreError) and "disk I/O error" in str(exc):
            return exc  # SQLite's word for a write refused by a file-size limit
        exc = exc.__cause__ or exc.__context__
    return None


def disk_full(exc: BaseException, folder: Path | str, todo: str) -> DiskFullError | None:
    """A DiskFullError for `exc` if it comes from a full disk (None otherwise): the file
    (or, when the error does not name one, `folder`), the reason, and `todo`."""
    found = out_of_space(exc)
    if found is None:
        return None
    if not isinstance(found, OSError):  # a DiskFullError, or the store's own words
        return DiskFullError(f"{found} {todo}")
    where = found.filename or f"a file in {folder}"
    reason = found.strerror or str(found)
    if found.errno == errno.EFBIG:
        limit = "a file-size limit (ulimit -f) stopped the write: lift it or free space there"
    else:
        limit = "the disk is full: free space on it"
    return DiskFullError(f"could not write {where}: {reason}; {limit}. {todo}")

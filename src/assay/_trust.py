"""What loading a saved artifact may execute.

By default only files that describe data load: JSON, CSV, the boosters' own model files,
linear, kNN and forest models as their fitted arrays (.npy records, read without pickle),
skops files of scikit-learn, numpy and scipy types (text features; linear and kNN models
saved before), and torch files of plain tensors. A
pickle, a skops file asking for other types, a torch file that needs full unpickling and
component source code embedded in a model (a discovered activation) can each run code
chosen by whoever wrote the file, so they load only with `trust=True` (`--trust`).

The SHA-256 manifest does not make an artifact safe to trust: it detects a damaged or
carelessly edited artifact, but whoever forges one recomputes the hashes as well. Only the
source of the files can be trusted, and only the user knows it.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import pickletools
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from io import StringIO
from pathlib import Path
from typing import Any

from assay.errors import ArtifactError
from assay.log import get_logger

logger = get_logger(__name__)

PICKLE_SUFFIXES = (".pkl", ".pickle", ".joblib", ".pck", ".dill", ".sav")
_PARSE_LIMIT = 64 << 20  # bytes: larger files are only checked for a protocol 2+ header
# opener(path, "rb") -> a binary file (gzip.open, bz2.open and lzma.open overload differently)
_COMPRESSED: dict[bytes, Callable[..., Any]] = {
    b"\x1f\x8b": gzip.open,
    b"BZh": bz2.open,
    b"\xfd7zXZ\x00": lzma.open,
    b"\x5d\x00\x00": lzma.open,  # the legacy .lzma format
}
_ZLIB = (b"\x78\x01", b"\x78\x5e", b"\x78\x9c", b"\x78\xda")  # joblib's default compressor
ADVICE = "pass trust=True / --trust only if you trust its source"


class Trust:
    """Whether a load may run what the files ask for, and what it ran (for one warning)."""

    def __init__(self, allowed: bool = False):
        self.allowed = bool(allowed)
        self.trusted: list[tuple[Path, str]] = []

    def require(self, path: Path, what: str) -> None:
        """Refuse `path` (which `what`) unless trusted; with trust, note it for the warning."""
        if not self.allowed:
            raise ArtifactError(
                f"{path} {what}: loading it can run code chosen by whoever wrote it. Refusing "
                f"to load it: {ADVICE}."
            )
        self.trusted.append((Path(path), what))

    def warn(self, subject: Path) -> None:
        """One WARNING naming everything that loaded only because of trust=True."""
        if not self.trusted:
            return
        items = "; ".join(f"{_relative(p, subject)} {what}" for p, what in self.trusted)
        logger.warning("loaded %s with trust=True, trusting: %s", subject, items)

    @classmethod
    @contextmanager
    def scope(cls, value: bool | Trust, subject: Path) -> Iterator[Trust]:
        """A Trust for one load; a caller that passes its own Trust does the warning."""
        if isinstance(value, Trust):
            yield value
            return
        trust = cls(bool(value))
        yield trust
        trust.warn(Path(subject))


def _relative(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def _is_pickle_stream(data: bytes) -> bool:
    """A whole pickle: opcodes up to a STOP at the last byte, with a consistent stack
    (text, JSON, zip and booster files fail within a few bytes)."""
    try:
        stop = None
        for opcode, _, pos in pickletools.genops(data):
            stop = pos if opcode.name == "STOP" else None
        if stop != len(data) - 1:
            return False
        pickletools.dis(data, out=StringIO())
    except Exception:  # any malformed opcode stream: not a pickle
        return False
    return True


def pickle_reason(path: Path) -> str | None:
    """Why `path` is (or is named as) a pickle, or None. Judged by name and by content,
    also under the compressions joblib writes (zlib, gzip, bz2, xz, lzma)."""
    if path.suffix.lower() in PICKLE_SUFFIXES:
        return f"is named as a pickle ({path.suffix})"
    with path.open("rb") as handle:
        head = handle.read(8)
        if head.startswith(_ZLIB):
            try:
                inner = zlib.decompressobj().decompress(head + handle.read(1024), 8)
            except zlib.error:
                inner = b""
            return "is a compressed pickle" if _has_protocol_header(inner) else None
    for magic, opener in _COMPRESSED.items():
        if head.startswith(magic):
            try:
                with opener(path, "rb") as handle:
                    inner = handle.read(8)
            except (OSError, EOFError, lzma.LZMAError):
                return None
            return "is a compressed pickle" if _has_protocol_header(inner) else None
    if _has_protocol_header(head):
        return f"is a pickle (protocol {head[1]})"
    if path.stat().st_size <= _PARSE_LIMIT and _is_pickle_stream(path.read_bytes()):
        return "is a pickle (protocol 0 or 1)"
    return None


def _has_protocol_header(head: bytes) -> bool:
    return len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5

"""One entry point, `read_table`, for every source a user may hand us."""

from __future__ import annotations

import difflib
import os
from collections import Counter
from enum import Enum
from pathlib import Path
from typing import Any

import pandas as pd
from pandas.api import types as ptypes

from assay.data._arff import looks_like_arff, read_arff
from assay.data._builtin import PREFIX, load_builtin
from assay.data._media import is_media_folder, read_media_folder, resolve_media_paths
from assay.data._text import decode_sample, head_bytes, read_delimited
from assay.errors import DataError
from assay.log import get_logger

logger = get_logger(__name__)

_TEXT_SUFFIXES = {".csv", ".tsv", ".txt", ".tab", ".dat", ".data", ".psv"}
_PARQUET_SUFFIXES = {".parquet", ".pq", ".parq"}
_PARQUET_MAGIC = b"PAR1"
_NOT_BYTES = {"string", "empty", "integer", "floating", "boolean", "datetime", "date"}
_KNOWN_BINARY = {b"PK\x03\x04": "a zip archive (xlsx?)", b"\xd0\xcf\x11\xe0": "an Excel (xls) file"}


class FileFormat(str, Enum):
    """File formats `read_table` understands (TSV and TXT are delimited text: CSV)."""

    CSV = "csv"
    PARQUET = "parquet"
    ARFF = "arff"


def _suggest(path: Path) -> str:
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        return f" The folder '{folder}' does not exist either."
    names = sorted(p.name for p in folder.iterdir())
    close = difflib.get_close_matches(path.name, names, n=3, cutoff=0.5)
    return f" Did you mean: {', '.join(close)}?" if close else ""


def detect_format(path: Path) -> FileFormat:
    """By extension (ignoring .gz), else by content."""
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    ext = suffixes[-1] if suffixes else ""
    if ext in _PARQUET_SUFFIXES:
        return FileFormat.PARQUET
    if ext == ".arff":
        return FileFormat.ARFF
    head = head_bytes(path, 4096)
    if head.startswith(_PARQUET_MAGIC):
        return FileFormat.PARQUET
    for magic, what in _KNOWN_BINARY.items():
        if head.startswith(magic):
            raise DataError(
                f"'{path}' looks like {what}, which assay does not read. Save it as CSV or Parquet."
            )
    if ext in _TEXT_SUFFIXES:
        return FileFormat.CSV
    if b"\x00" in head and not head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise DataError(
            f"'{path}' is a binary file of unknown format. Give CSV, TSV, Parquet or ARFF, "
            "or pass format= to read_table."
        )
    return FileFormat.ARFF if looks_like_arff(decode_sample(head)[1]) else FileFormat.CSV


def _read_path(path: Path, fmt: FileFormat | None, options: dict[str, Any]) -> pd.DataFrame:
    if not path.exists():
        hint = _suggest(path) or " Check the path (relative paths start from the current folder)."
        raise DataError(f"File not found: '{path}'.{hint}")
    if path.is_dir():
        if is_media_folder(path):
            return read_media_folder(path)
        raise DataError(
            f"'{path}' is a folder without image or audio files. Give the path of a data "
            "file inside it, or a folder with one subfolder of images or sound per class."
        )
    if path.stat().st_size == 0:
        raise DataError(f"'{path}' is empty (0 bytes). Give a file with a header and data rows.")
    fmt = fmt or detect_format(path)
    if fmt is FileFormat.ARFF:
        return _with_media_paths(read_arff(path), path)
    if fmt is FileFormat.PARQUET:
        try:
            frame = pd.read_parquet(path)
        except Exception as exc:  # pyarrow raises many types for corrupt files
            raise DataError(
                f"Could not read '{path}' as Parquet: {str(exc).rstrip('.')}. Check that the "
                "file is complete (re-download or re-export it)."
            ) from exc
        if len(frame) == 0:
            raise DataError(f"'{path}' has columns but no rows. Give a file with data.")
        return _with_media_paths(frame, path)
    return _with_media_paths(read_delimited(path, **options), path)


def _with_media_paths(frame: pd.DataFrame, path: Path) -> pd.DataFrame:
    """The table with its columns of image or sound file paths made absolute (they are
    relative to the table's own folder)."""
    for name in resolve_media_paths(frame, path.parent):
        logger.info("Column '%s' of '%s' holds media file paths.", name, path)
    return frame


def _from_polars(source: Any) -> pd.DataFrame:
    if hasattr(source, "collect"):  # LazyFrame
        source = source.collect()
    if not hasattr(source, "to_pandas"):
        raise DataError(f"Cannot read a polars {type(source).__name__}: give a polars DataFrame.")
    return source.to_pandas()


def check_unique_columns(frame: pd.DataFrame, where: str) -> None:
    """Raise DataError naming duplicate column names (they make columns ambiguous)."""
    duplicates = sorted(n for n, c in Counter(map(str, frame.columns)).items() if c > 1)
    if duplicates:
        raise DataError(
            f"{where} has duplicate column names: {', '.join(map(repr, duplicates))}. "
            "Rename them so every column has a unique name."
        )


def bytes_as_text(column: pd.Series) -> pd.Series:
    """The column with its bytes cells (database BLOBs, Parquet binary columns) read as
    UTF-8 text, undecodable bytes escaped; the same object when it holds no bytes. Every
    later step handles strings, and pandas raises on bytes that are not UTF-8."""
    if column.dtype != object or ptypes.infer_dtype(column, skipna=True) in _NOT_BYTES:
        return column
    values = column.to_numpy(copy=True)
    rows = [i for i, v in enumerate(values) if isinstance(v, (bytes, bytearray))]
    if not rows:
        return column
    for i in rows:
        values[i] = bytes(values[i]).decode("utf-8", errors="backslashreplace")
    return pd.Series(values, index=column.index, name=column.name, dtype=object)


def decode_bytes(frame: pd.DataFrame, where: str) -> None:
    """`bytes_as_text` on every column, in place, with a log line for each one changed."""
    for name in frame.columns:
        column = frame[name]
        text = bytes_as_text(column)
        if text is not column:
            frame[name] = text
            logger.info("Column '%s' of %s holds bytes; read them as UTF-8 text.", name, where)


def parse_format(value: FileFormat | str | None) -> FileFormat | None:
    if value is None or isinstance(value, FileFormat):
        return value
    try:
        return FileFormat(str(value).lower().lstrip("."))
    except ValueError:
        if str(value).lower().lstrip(".") in ("tsv", "txt"):
            return FileFormat.CSV
        valid = ", ".join(f.value for f in FileFormat)
        raise DataError(f"format={value!r} is not known. Use one of: {valid}.") from None


def read_table(
    source: str | os.PathLike[str] | pd.DataFrame | Any,
    *,
    sep: str | None = None,
    header: int | str | None = "infer",
    na_values: list[str] | None = None,
    quotechar: str | None = None,
    format: FileFormat | str | None = None,
) -> pd.DataFrame:
    """Read a file path, 'builtin:NAME', or a pandas/polars DataFrame into a new DataFrame.

    A folder of images or sound reads as a table of their paths (`path`), with a `label`
    column when the files sit in one subfolder per class; in a file's table, columns of
    media file paths are made absolute (relative paths start from the table's folder).

    Delimiter, quoting, encoding and a missing header row are sniffed when not given; a
    `sep` longer than one character is a regular expression, as in pandas.
    `na_values` replaces the extra missing markers ('?' and ''); pandas' defaults always apply.
    """
    if isinstance(source, pd.DataFrame):
        frame, where = source.copy(), "The DataFrame"
    elif type(source).__module__.split(".")[0] == "polars":
        frame, where = _from_polars(source), "The polars DataFrame"
    elif isinstance(source, str) and source.startswith(PREFIX):
        frame, where = load_builtin(source[len(PREFIX) :]), source
    elif isinstance(source, (str, os.PathLike)):
        path = Path(source).expanduser()
        options = {"sep": sep, "header": header, "na_values": na_values, "quotechar": quotechar}
        frame, where = _read_path(path, parse_format(format), options), f"'{path}'"
    else:
        raise DataError(
            f"Cannot read a {type(source).__name__}. Give a file path, a pandas or polars "
            "DataFrame, or 'builtin:NAME'."
        )
    check_unique_columns(frame, where)
    frame.columns = [str(c) for c in frame.columns]
    decode_bytes(frame, where)
    logger.debug("Read %s: %d rows, %d columns.", where, frame.shape[0], frame.shape[1])
    return frame

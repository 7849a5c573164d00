"""Delimited text files (CSV, TSV, TXT, gzipped or not).

Real exports are messy: OpenML quotes categoricals with single quotes, UCI copies lack a
header row, spreadsheets add a byte order mark or write latin-1. We sniff all of that from
the first few KB so users rarely need read options.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import itertools
import math
import re
from collections import Counter
from dataclasses import dataclass
from numbers import Integral
from pathlib import Path

import pandas as pd

from assay.errors import ConfigError, DataError
from assay.log import get_logger

logger = get_logger(__name__)
_RAGGED = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")

SAMPLE_BYTES = 64 * 1024
SNIFF_RECORDS = 200
DELIMITERS = (",", "\t", ";", "|")
EXTRA_NA = ("?", "")
_GZIP_MAGIC = b"\x1f\x8b"
# A quoted field: starts the line or follows a delimiter, ends the line or precedes one.
_QUOTED = {q: re.compile(rf"(?:^|[,\t;|]){q}[^{q}\r\n]*{q}(?=[,\t;|]|\r?$)", re.M) for q in "'\""}


@dataclass(frozen=True)
class Dialect:
    """What the sniffer decided; kept so error messages can say it."""

    sep: str
    quotechar: str
    encoding: str
    header: int | None
    names: tuple[str, ...]  # raw header fields (empty when there is no header row)


def is_gzip(path: Path) -> bool:
    with path.open("rb") as fh:
        return fh.read(2) == _GZIP_MAGIC


def head_bytes(path: Path, n_bytes: int = SAMPLE_BYTES) -> bytes:
    """The first bytes of the file, decompressed if it is gzipped."""
    try:
        if is_gzip(path):
            with gzip.open(path, "rb") as fh:
                return fh.read(n_bytes)
        with path.open("rb") as fh:
            return fh.read(n_bytes)
    except (OSError, EOFError) as exc:
        raise DataError(f"Could not read '{path}': {exc}. Check the file is complete.") from exc


def decode_sample(raw: bytes) -> tuple[str, str]:
    """(encoding, text): UTF-16 by BOM, else UTF-8 (BOM or not), else latin-1."""
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16", raw.decode("utf-16", errors="ignore")
    try:
        # final=False tolerates a multi-byte character cut at the end of the sample
        return "utf-8-sig", codecs.getincrementaldecoder("utf-8-sig")().decode(raw, final=False)
    except UnicodeDecodeError:
        return "latin-1", raw.decode("latin-1")


def detect_quotechar(text: str) -> str:
    """Single quotes only when quoted fields use them more often than double quotes."""
    n_single = len(_QUOTED["'"].findall(text))
    n_double = len(_QUOTED['"'].findall(text))
    return "'" if n_single > n_double else '"'


def _records(text: str, sep: str, quotechar: str) -> list[list[str]]:
    reader = csv.reader(
        io.StringIO(text), delimiter=sep, quotechar=quotechar, skipinitialspace=True
    )
    try:
        rows = list(itertools.islice(reader, SNIFF_RECORDS))
    except csv.Error:
        rows = []
    return [row for row in rows if any(cell.strip() for cell in row)]


def sniff_sep(text: str, quotechar: str) -> str:
    """The candidate splitting every sampled line into the same number (>1) of fields."""
    best, best_key = ",", (0.0, 0)
    for sep in DELIMITERS:
        counts = [len(row) for row in _records(text, sep, quotechar)]
        if not counts:
            continue
        n_fields, n_lines = Counter(counts).most_common(1)[0]
        if n_fields < 2:
            continue
        key = (round(n_lines / len(counts), 3), n_fields)
        if key > best_key:
            best, best_key = sep, key
    return best


def _is_number(name: str) -> bool:
    try:
        return math.isfinite(float(name))
    except ValueError:
        return False


def sniff(
    path: Path, *, sep: str | None, header: int | str | None, quotechar: str | None
) -> Dialect:
    if sep is not None and (not isinstance(sep, str) or not sep):
        raise ConfigError(f"sep={sep!r} cannot split '{path}': give a delimiter such as ','.")
    if quotechar is not None and (not isinstance(quotechar, str) or len(quotechar) != 1):
        raise ConfigError(
            f"quotechar={quotechar!r} cannot be used for '{path}': give one character "
            "such as '\"' or \"'\", or leave it out to sniff it."
        )
    is_row = isinstance(header, Integral) and not isinstance(header, bool) and int(header) >= 0
    if header != "infer" and header is not None and not is_row:
        raise ConfigError(
            f"header={header!r} is not valid for '{path}': use 'infer', None (no header row) "
            "or the row number of the header (0 for the first line)."
        )
    raw = head_bytes(path)
    if not raw.strip():
        raise DataError(f"'{path}' is empty. Give a file with a header row and data rows.")
    encoding, text = decode_sample(raw)
    if len(raw) == SAMPLE_BYTES and "\n" in text:
        text = text.rsplit("\n", 1)[0]  # drop the partial last line
    quotechar = quotechar or detect_quotechar(text)
    sep = sep or sniff_sep(text, quotechar)
    records = _records(text, sep, quotechar) if len(sep) == 1 else []
    first = [cell.strip() for cell in records[0]] if records else []
    row: int | None  # of the header
    if header == "infer":
        row = None if first and all(_is_number(name) for name in first) else 0
    else:
        row = None if header is None else int(header)
    names: tuple[str, ...] = ()
    if row is not None and row < len(records):
        names = tuple(cell.strip() for cell in records[row])
    if names:
        names = (names[0].lstrip("\ufeff"), *names[1:])
    return Dialect(sep, quotechar, encoding, row, names)


def _read(
    path: Path, dialect: Dialect, na_values: list[str], encoding: str, quoting: int = 0
) -> pd.DataFrame:
    # a longer separator is a regular expression, which only the python engine reads
    engine = {"low_memory": False} if len(dialect.sep) == 1 else {"engine": "python"}
    return pd.read_csv(
        path,
        sep=dialect.sep,
        quotechar=dialect.quotechar,
        quoting=quoting,
        header=dialect.header,
        na_values=na_values,
        keep_default_na=True,
        skipinitialspace=True,
        encoding=encoding,
        compression="gzip" if is_gzip(path) else None,
        **engine,
    )


def _lone_quotes(path: Path, dialect: Dialect) -> bool:
    """A tab-separated sample with a line holding an odd number of quotes: text such as
    MRPC's sentences, where a quote is a character (tabs never need quoting), and reading
    it as a quote would swallow the rows up to the next one."""
    if dialect.sep != "\t":
        return False
    _, text = decode_sample(head_bytes(path))
    lines = text.splitlines()[:-1] or text.splitlines()  # the last line may be cut
    if any(line.count(dialect.quotechar) % 2 for line in lines):
        logger.info("'%s': quotes inside tab-separated text are read as characters.", path)
        return True
    return False


def read_delimited(
    path: Path,
    *,
    sep: str | None = None,
    header: int | str | None = "infer",
    na_values: list[str] | None = None,
    quotechar: str | None = None,
) -> pd.DataFrame:
    """Read a delimited file; '?' and empty cells are missing, plus pandas' defaults."""
    dialect = sniff(path, sep=sep, header=header, quotechar=quotechar)
    duplicates = sorted(n for n, c in Counter(dialect.names).items() if c > 1)
    if duplicates:
        raise DataError(
            f"'{path}' has duplicate column names: {', '.join(map(repr, duplicates))}. "
            "Rename them so every column has a unique name."
        )
    na = list(EXTRA_NA if na_values is None else na_values)
    encoding = dialect.encoding
    if encoding == "latin-1":
        logger.warning("'%s' is not valid UTF-8; reading it as latin-1.", path)
    quoting = csv.QUOTE_NONE if quotechar is None and _lone_quotes(path, dialect) else 0
    try:
        try:
            frame = _read(path, dialect, na, encoding, quoting)
        except UnicodeDecodeError:
            logger.warning("'%s' is not valid UTF-8 past its start; reading it as latin-1.", path)
            frame = _read(path, dialect, na, "latin-1", quoting)
    except pd.errors.EmptyDataError as exc:
        raise DataError(f"'{path}' is empty. Give a file with a header row and data rows.") from exc
    except (pd.errors.ParserError, csv.Error, ValueError) as exc:
        reason = " ".join(str(exc).split()).rstrip(".")
        ragged = _RAGGED.search(reason)
        if ragged:
            want, line, got = ragged.groups()
            reason = (
                f"line {line} has {got} fields where earlier lines have {want}; fix that line, "
                "or quote the fields that contain the separator"
            )
        raise DataError(
            f"Could not parse '{path}' as delimited text (sep={dialect.sep!r}, "
            f"quotechar={dialect.quotechar!r}): {reason}. If the separator was guessed "
            "wrong, pass sep= (and quotechar=) to read_table."
        ) from exc
    if dialect.header is None:
        frame.columns = [str(i) for i in range(frame.shape[1])]
    else:
        frame.columns = [str(c).strip() for c in frame.columns]
        if frame.shape[1]:
            frame = frame.rename(columns={frame.columns[0]: frame.columns[0].lstrip("\ufeff")})
    if len(frame) == 0:
        raise DataError(f"'{path}' has a header row but no data rows. Give a file with data.")
    logger.info(
        "Read '%s': %d rows x %d columns (sep=%r, encoding %s, %s).",
        path,
        len(frame),
        frame.shape[1],
        dialect.sep,
        encoding,
        "no header row" if dialect.header is None else "header row",
    )
    return frame

"""ARFF files (Weka, OpenML) through liac-arff: nominal attributes become strings."""

from __future__ import annotations

import codecs
import gzip
import re
from collections import Counter
from pathlib import Path

import pandas as pd

from assay.data._text import is_gzip
from assay.errors import DataError
from assay.log import get_logger

logger = get_logger(__name__)

# liac-arff does not know DATE attributes; reading them as strings lets the schema find them.
_DATE_ATTRIBUTE = re.compile(
    r"^(\s*@attribute\s+(?:'[^']*'|\"[^\"]*\"|\S+)\s+)date\b.*$", re.I | re.M
)


def looks_like_arff(head: str) -> bool:
    """Whether the first non-comment line is an ARFF @relation."""
    for line in head.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("%"):
            return stripped.lower().startswith("@relation")
    return False


def _read_text(path: Path) -> str:
    try:
        if is_gzip(path):
            with gzip.open(path, "rb") as fh:
                raw = fh.read()
        else:
            raw = path.read_bytes()
    except (OSError, EOFError) as exc:  # a corrupt or truncated gzip stream
        raise DataError(f"Could not read '{path}': {exc}. Check the file is complete.") from exc
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return raw.decode("utf-16", errors="replace")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        logger.warning("'%s' is not valid UTF-8; reading it as latin-1.", path)
        return raw.decode("latin-1")


def read_arff(path: Path) -> pd.DataFrame:
    import arff

    text = _read_text(path)
    if not text.strip():
        raise DataError(f"'{path}' is empty. Give an ARFF file with @attribute lines and @data.")
    text = _DATE_ATTRIBUTE.sub(r"\1string", text)
    try:
        decoded = arff.loads(text)
    except (arff.ArffException, ValueError, IndexError) as exc:
        raise DataError(
            f"Could not parse '{path}' as ARFF: {exc}. Check the @attribute and @data sections, "
            "or convert the file to CSV."
        ) from exc
    names = [str(name) for name, _ in decoded["attributes"]]
    duplicates = sorted(n for n, count in Counter(names).items() if count > 1)
    if duplicates:
        raise DataError(
            f"'{path}' has duplicate attribute names: {', '.join(map(repr, duplicates))}. "
            "Rename them so every column has a unique name."
        )
    rows = decoded["data"]
    if not rows:
        raise DataError(f"'{path}' has attributes but no data rows. Give a file with data.")
    frame = pd.DataFrame(rows, columns=names)
    for name, kind in decoded["attributes"]:
        column = frame[str(name)]
        if isinstance(kind, list) or str(kind).upper() == "STRING":
            frame[str(name)] = column.astype("str")
        else:
            frame[str(name)] = pd.to_numeric(column, errors="coerce").astype("float64")
    return frame

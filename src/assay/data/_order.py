"""The column that orders rows in time for a time split (`cv="time:COL"`): it stays a
feature, and a copy of its values rides along with the rows as a number per row, so the
folds can train on the past and validate on what follows."""

from __future__ import annotations

import difflib

import numpy as np
import pandas as pd

from assay.errors import ConfigError, DataError

ORDER = "__assay_order__"  # where the times ride along while rows are dropped


def attach_order(frame: pd.DataFrame, column: str | None, target: str, where: str) -> pd.DataFrame:
    """`frame` with a copy of `column` in ORDER (unchanged without a column)."""
    if column is None:
        return frame
    names = [str(c) for c in frame.columns]
    if column not in names:
        close = difflib.get_close_matches(column, names, n=3, cutoff=0.4)
        hint = f" Closest names: {', '.join(close)}." if close else ""
        raise ConfigError(
            f"cv='time:{column}' (--split): '{column}' is not a column of {where}.{hint}"
        )
    if column == target:
        raise ConfigError(
            f"cv='time:{column}' (--split): '{column}' is the target; name the column that "
            "says when each row happened."
        )
    frame = frame.copy()
    frame[ORDER] = frame[column]
    return frame


def sort_key(values: pd.Series, column: str) -> np.ndarray:
    """The order of a time column's values as numbers: numbers as they are, dates and
    date-like text as nanoseconds. Raises DataError naming the column otherwise."""
    if values.isna().any():
        raise DataError(
            f"time column '{column}' has {int(values.isna().sum())} missing value(s): give "
            "every row a time, or drop those rows."
        )
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return values.to_numpy(dtype=float)
    try:
        stamps = pd.to_datetime(values, format="mixed")
    except (ValueError, TypeError) as exc:
        raise DataError(
            f"time column '{column}' is neither numbers nor dates ({exc}): give a column "
            "that orders the rows in time."
        ) from exc
    if getattr(stamps.dt, "tz", None) is not None:
        stamps = stamps.dt.tz_convert("UTC").dt.tz_localize(None)
    return stamps.to_numpy(dtype="datetime64[ns]").astype(np.int64).astype(float)

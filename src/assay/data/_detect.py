"""Rules giving one column its FeatureType. The first rule that matches wins.

Types follow the dtype where the dtype is informative (bool, datetime, numbers) and look
at values only for strings, since a CSV reader already turned numeric text into numbers.
"""

from __future__ import annotations

import re
import warnings
from numbers import Real

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from assay._types import FeatureType

TRUE_TOKENS = frozenset({"1", "true", "yes", "t", "y"})
FALSE_TOKENS = frozenset({"0", "false", "no", "f", "n"})
SAMPLE_SIZE = 500  # values inspected by the slow checks (datetime parsing, token counts)
MIN_ROWS_STRING_ID = 10  # all-unique strings in tinier frames are more likely categories
TEXT_MIN_TOKENS = 4.0
TEXT_MIN_UNIQUE_RATIO = 0.5
DATETIME_MIN_PARSED = 0.9
_ID_NAME = re.compile(
    r"^(id|uuid|guid|key|index|idx|row_?id|unnamed: ?\d+)$|[_\-\s.](id|uuid|guid|key)$", re.I
)
_CAMEL_ID = re.compile(r"[a-z0-9](Id|ID|Uuid|UUID|Key)$")


def looks_like_id_name(name: str) -> bool:
    """`id`, `user_id`, `customerId`, `CustomerID`, `uuid`, `key`, `Unnamed: 0` ..."""
    name = name.strip()
    return bool(_ID_NAME.search(name) or _CAMEL_ID.search(name))


def count_unique(values: pd.Series) -> int:
    try:
        return int(values.nunique(dropna=True))
    except TypeError:  # unhashable cells such as lists
        return int(values.astype(str).nunique(dropna=True))


def _is_real_number(value: object) -> bool:
    return isinstance(value, (Real, np.number)) and not isinstance(value, (bool, np.bool_))


def is_numeric(column: pd.Series) -> bool:
    """Real-number dtype, or an object column holding only real numbers."""
    dtype = column.dtype
    if ptypes.is_bool_dtype(dtype) or ptypes.is_complex_dtype(dtype):
        return False
    if ptypes.is_numeric_dtype(dtype) and not isinstance(dtype, pd.CategoricalDtype):
        return True
    if ptypes.is_object_dtype(dtype):
        values = column.dropna()
        return len(values) > 0 and all(_is_real_number(v) for v in values)
    return False


def _as_float(values: pd.Series) -> np.ndarray:
    return pd.to_numeric(values, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)


def _integer_valued(values: pd.Series) -> bool:
    numbers = _as_float(values)
    return bool(np.isfinite(numbers).all() and (numbers == np.round(numbers)).all())


def _boolean_pair(values: pd.Series, numeric: bool) -> bool:
    """Exactly one true-like and one false-like token (0/1, yes/no, t/f, ...)."""
    if numeric:
        tokens = {("1" if x == 1 else "0" if x == 0 else "?") for x in _as_float(values)}
    else:
        tokens = {str(v).strip().lower() for v in values.unique()}
    if len(tokens) != 2:
        return False
    return len(tokens & TRUE_TOKENS) == 1 and len(tokens & FALSE_TOKENS) == 1


def _is_datetime(strings: pd.Series) -> bool:
    sample = strings.drop_duplicates().head(SAMPLE_SIZE)
    plausible = (sample.str.len() >= 6) & sample.str.contains(r"\d", regex=True)
    if plausible.mean() < DATETIME_MIN_PARSED:
        return False
    if pd.to_numeric(sample, errors="coerce").notna().mean() >= DATETIME_MIN_PARSED:
        return False  # plain numbers stored as text
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            parsed = pd.to_datetime(sample, errors="coerce")
        except (ValueError, TypeError, OverflowError):
            return False
    return bool(parsed.notna().mean() >= DATETIME_MIN_PARSED)


def _is_text(strings: pd.Series, n_unique: int) -> bool:
    if n_unique / len(strings) <= TEXT_MIN_UNIQUE_RATIO:
        return False
    sample = strings.head(SAMPLE_SIZE * 2)
    return bool(sample.str.split().str.len().mean() >= TEXT_MIN_TOKENS)


def column_type(name: str, column: pd.Series) -> FeatureType:
    """The FeatureType of one column; never raises on odd dtypes or mixed values."""
    values = column.dropna()
    if values.empty:
        return FeatureType.EMPTY
    n_unique = count_unique(values)
    if n_unique == 1:
        return FeatureType.CONSTANT
    dtype = column.dtype
    if ptypes.is_bool_dtype(dtype):
        return FeatureType.BOOLEAN
    if ptypes.is_datetime64_any_dtype(dtype):
        return FeatureType.DATETIME
    if ptypes.is_timedelta64_dtype(dtype):
        return FeatureType.NUMERIC
    numeric = is_numeric(column)
    strings = values if numeric else values.astype(str)
    if n_unique == 2 and _boolean_pair(strings, numeric):
        return FeatureType.BOOLEAN
    all_unique = n_unique == len(values)
    if numeric:
        if all_unique and looks_like_id_name(name) and _integer_valued(values):
            return FeatureType.ID
        return FeatureType.NUMERIC
    if isinstance(dtype, pd.CategoricalDtype):
        return FeatureType.CATEGORICAL
    if all_unique and looks_like_id_name(name):
        return FeatureType.ID
    if _is_datetime(strings):
        return FeatureType.DATETIME
    if _is_text(strings, n_unique):
        return FeatureType.TEXT
    if all_unique and len(values) >= MIN_ROWS_STRING_ID:
        return FeatureType.ID
    return FeatureType.CATEGORICAL

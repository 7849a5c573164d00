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
from assay.data._media import path_column_kind
from assay.log import get_logger

logger = get_logger(__name__)

TRUE_TOKENS = frozenset({"1", "true", "yes", "t", "y"})
FALSE_TOKENS = frozenset({"0", "false", "no", "f", "n"})
SAMPLE_SIZE = 500  # values inspected by the slow checks (datetime parsing, token counts)
MIN_ROWS_STRING_ID = 10  # all-unique strings in tinier frames are more likely categories
TEXT_MIN_TOKENS = 4.0
TEXT_MIN_UNIQUE_RATIO = 0.5
DATETIME_MIN_PARSED = 0.9
NUMERIC_TEXT_MIN = 0.95  # text columns whose values are this share numbers are numeric
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


_GROUPED = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$")  # 1,234 or -12,345.6


def parse_numbers(values: pd.Series) -> pd.Series:
    """float64 numbers from numbers or numeric text (' 12 ', '3.5e3', '1,234.5'); NaN
    where a value is not a number."""
    numbers = pd.Series(
        pd.to_numeric(values, errors="coerce"), index=values.index, name=values.name
    )
    numbers = pd.Series(
        numbers.to_numpy(dtype="float64", na_value=np.nan), index=values.index, name=values.name
    )
    if ptypes.is_numeric_dtype(values.dtype) or ptypes.is_bool_dtype(values.dtype):
        return numbers
    text = values[numbers.isna() & values.notna()].astype(str).str.strip()
    grouped = text[text.str.match(_GROUPED)]
    if len(grouped):
        numbers[grouped.index] = pd.to_numeric(grouped.str.replace(",", "", regex=False))
    return numbers


def _as_float(values: pd.Series) -> np.ndarray:
    return parse_numbers(values).to_numpy()


def numeric_share(values: pd.Series) -> float:
    """The share of non-missing values that read as numbers (text included)."""
    return float(parse_numbers(values).notna().mean()) if len(values) else 0.0


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


def _parsed_share(sample: pd.Series, **options) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return float(pd.to_datetime(sample, errors="coerce", **options).notna().mean())
        except (ValueError, TypeError, OverflowError):
            return 0.0


def _is_datetime(name: str, strings: pd.Series) -> bool:
    """Dates in one format, or (logged) in several: '2024-01-05', '05/01/2024', 'March 5,
    2024' in one column are each parsed on their own."""
    sample = strings.drop_duplicates().head(SAMPLE_SIZE)
    plausible = (sample.str.len() >= 6) & sample.str.contains(r"\d", regex=True)
    if plausible.mean() < DATETIME_MIN_PARSED:
        return False
    if pd.to_numeric(sample, errors="coerce").notna().mean() >= DATETIME_MIN_PARSED:
        return False  # plain numbers stored as text
    if _parsed_share(sample) >= DATETIME_MIN_PARSED:
        return True
    if _parsed_share(sample, format="mixed") >= DATETIME_MIN_PARSED:
        logger.info(
            "Column '%s' holds dates in several formats; each value is parsed on its own "
            "(month first when ambiguous).",
            name,
        )
        return True
    return False


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
    if not numeric and not isinstance(dtype, pd.CategoricalDtype):
        numeric = _numeric_text(name, values)
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
    kind = path_column_kind(strings)
    if kind is not None:
        return kind
    if _is_datetime(name, strings):
        return FeatureType.DATETIME
    if _is_text(strings, n_unique):
        return FeatureType.TEXT
    if all_unique and len(values) >= MIN_ROWS_STRING_ID:
        return FeatureType.ID
    return FeatureType.CATEGORICAL


def _numeric_text(name: str, values: pd.Series) -> bool:
    """Text that a CSV reader could not turn into numbers ('1,234', or numbers with a few
    junk values) is numeric: the junk becomes missing, with a warning when the data is
    prepared. Text that is all plain numbers was made text on purpose (zip codes) and stays
    categorical; a column mixing numbers with much text is categorical, and says so."""
    sample = values.iloc[:: max(1, len(values) // (SAMPLE_SIZE * 4))]
    share = numeric_share(sample)
    plain = bool(pd.to_numeric(sample, errors="coerce").notna().all())
    if share >= NUMERIC_TEXT_MIN and not plain:
        return True
    if 0.5 <= share < NUMERIC_TEXT_MIN:
        logger.info(
            "Column '%s' mixes numbers (%.0f%%) with text; it is treated as categorical. "
            "Clean the text values or force a type with feature_types= if it is numeric.",
            name,
            100 * share,
        )
    return False

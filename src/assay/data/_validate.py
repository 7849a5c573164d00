"""Checks on user data. Each problem either raises an error that names the column and says
what to do, or becomes a warning that is logged and kept on the Dataset."""

from __future__ import annotations

import difflib
from collections import defaultdict
from collections.abc import Iterable

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from assay._types import FeatureType, Task
from assay.data._detect import count_unique, is_numeric, parse_numbers
from assay.data._load import check_unique_columns, decode_bytes, read_table
from assay.data._schema import Schema
from assay.errors import SchemaMismatchError, TargetError
from assay.log import get_logger

logger = get_logger(__name__)
MAX_LISTED = 30


def _quote(values: Iterable[object], limit: int = 5) -> str:
    """'a', 'b', 3 and 4 more: short lists for messages."""
    listed = list(values)
    items = [f"'{v}'" if isinstance(v, str) else str(v) for v in listed[:limit]]
    more = len(listed) - limit
    return ", ".join(items) + (f" and {more} more" if more > 0 else "")


def warn(notes: list[str], message: str) -> None:
    logger.warning(message)
    notes.append(message)


def resolve_target(frame: pd.DataFrame, target: str | int, where: str) -> str:
    """A column name, an int position, or digits naming a headerless column."""
    names = [str(c) for c in frame.columns]
    is_position = isinstance(target, (int, np.integer)) and not isinstance(target, bool)
    if is_position and -len(names) <= int(target) < len(names):
        return names[int(target)]
    if str(target) in names:
        return str(target)
    close = difflib.get_close_matches(str(target), names, n=3, cutoff=0.4)
    hint = f" Closest names: {_quote(close)}." if close else ""
    listing = f" Columns: {_quote(names, MAX_LISTED)}." if len(names) <= MAX_LISTED else ""
    raise TargetError(
        f"Target column '{target}' is not in {where}.{hint}{listing} "
        "Pass an exact column name or a column position."
    )


def drop_missing_target(
    frame: pd.DataFrame, target: str, where: str, notes: list[str]
) -> tuple[pd.DataFrame, int]:
    missing = frame[target].isna()
    if missing.all():
        raise TargetError(
            f"Target column '{target}' in {where} has no values (all missing). "
            "Choose another target column or fill it in."
        )
    n_missing = int(missing.sum())
    if n_missing:
        warn(notes, f"Dropped {n_missing} rows of {where} whose target '{target}' is missing.")
        frame = frame.loc[~missing]
    return frame.reset_index(drop=True), n_missing


def _check_regression(y: pd.Series, target: str) -> pd.Series:
    numbers = pd.to_numeric(y, errors="coerce")
    bad = y[numbers.isna() & y.notna()]
    if len(bad):
        raise TargetError(
            f"task='regression' needs numbers, but target '{target}' has values such as "
            f"{_quote(bad.unique(), 3)}. Use a classification task or fix those values."
        )
    numbers = pd.Series(numbers, name=y.name).astype("float64")
    n_inf = int(np.isinf(numbers.to_numpy()).sum())
    if n_inf:
        raise TargetError(
            f"Target '{target}' has {n_inf} infinite values; regression needs finite numbers. "
            "Replace or drop those rows."
        )
    return numbers


def _check_classes(y: pd.Series, task: Task, target: str, notes: list[str]) -> None:
    try:
        counts = y.value_counts()
    except TypeError:  # unhashable labels
        counts = y.astype(str).value_counts()
    if task is Task.BINARY and len(counts) > 2:
        raise TargetError(
            f"task='binary' but target '{target}' has {len(counts)} classes "
            f"({_quote(counts.index)}). Use task='multiclass' or merge classes."
        )
    if task is Task.MULTICLASS and len(counts) == 2:
        warn(notes, f"Target '{target}' has 2 classes; task='binary' is usually what you want.")
    rare = counts[counts == 1].index
    if len(rare):
        warn(
            notes,
            f"Target '{target}' has classes with a single row: {_quote(rare)}. They cannot "
            "appear in every cross-validation fold; consider merging or dropping them.",
        )
    groups: dict[str, list[object]] = defaultdict(list)
    for label in counts.index:
        groups[str(label).strip().casefold()].append(label)
    variants = [labels for labels in groups.values() if len(labels) > 1]
    for labels in variants:
        warn(
            notes,
            f"Target '{target}' has labels that differ only by case or spaces: "
            f"{_quote(labels)}. They are kept as separate classes; clean them if they are one.",
        )


def _sortable_labels(y: pd.Series, target: str, notes: list[str]) -> pd.Series:
    """Labels of types that do not order (text and numbers, say) are all read as text:
    the classes must sort, and to a user 1 and '1' are one class anyway."""
    if y.dtype != object:
        return y
    try:
        sorted(y.unique())
    except TypeError:
        warn(
            notes,
            f"Target '{target}' mixes labels of different types ({_quote(y.unique()[:4])}); "
            "all labels are read as text.",
        )
        return y.astype(str)
    return y


def check_target(y: pd.Series, task: Task, target: str, notes: list[str]) -> pd.Series:
    """The cleaned target, or a TargetError when `task` cannot be learned from it."""
    if task.is_classification:
        y = _sortable_labels(y, target, notes)
    n_unique = count_unique(y)
    if n_unique < 2:
        kind = "class" if task.is_classification else "value"
        raise TargetError(
            f"Target '{target}' has a single {kind} ({_quote(y.unique()[:1])}); there is "
            "nothing to learn. Choose another target or add rows with other values."
        )
    if task is Task.REGRESSION:
        return _check_regression(y, target)
    _check_classes(y, task, target, notes)
    return y


def _has_inf(column: pd.Series) -> bool:
    numbers = pd.to_numeric(column, errors="coerce").to_numpy("float64", na_value=0.0)
    return bool(np.isinf(numbers).any())


def replace_inf(frame: pd.DataFrame, where: str, notes: list[str]) -> pd.DataFrame:
    """Infinite numbers become missing: models treat NaN well and inf badly."""
    bad = [name for name in frame.columns if is_numeric(frame[name]) and _has_inf(frame[name])]
    if not bad:
        return frame
    frame = frame.copy()
    for name in bad:
        frame[name] = pd.to_numeric(frame[name], errors="coerce").replace([np.inf, -np.inf], np.nan)
    warn(notes, f"Replaced infinite values with missing in {where}, columns: {_quote(bad, 10)}.")
    return frame


HUGE = 1e100  # magnitudes from here on are more likely placeholders than measurements


def note_huge(frame: pd.DataFrame, where: str, notes: list[str]) -> None:
    """Warn about columns with numbers near the float64 limit: they are kept (the encoders
    scale them safely), but they are often placeholders for a missing value."""
    for name in frame.columns:
        if not is_numeric(frame[name]):
            continue
        numbers = pd.to_numeric(frame[name], errors="coerce").to_numpy("float64", na_value=0.0)
        peak = float(np.max(np.abs(numbers))) if len(numbers) else 0.0
        if peak >= HUGE:
            warn(
                notes,
                f"Column '{name}' of {where} has values as large as {peak:.3g}; they are kept. "
                "If they stand for a missing value, replace them with empty cells.",
            )


def coerce_numeric(frame: pd.DataFrame, columns: list[str], where: str, notes: list[str]) -> None:
    """Numbers that arrive as text become numbers; unparseable text becomes missing."""
    for name in columns:
        column = frame[name]
        if ptypes.is_numeric_dtype(column.dtype) and not ptypes.is_bool_dtype(column.dtype):
            continue
        numbers = parse_numbers(column)
        n_lost = int((numbers.isna() & column.notna()).sum())
        if n_lost:
            examples = _quote(column[numbers.isna() & column.notna()].unique(), 3)
            warn(
                notes,
                f"Column '{name}' of {where} should be numeric; {n_lost} values "
                f"({examples}) are not numbers and were set to missing.",
            )
        frame[name] = numbers.astype("float64")


def check_predict_frame(frame: pd.DataFrame, schema: Schema) -> pd.DataFrame:
    """The schema's feature columns in fit-time order, with numbers coerced and inf -> NaN."""
    if not isinstance(frame, pd.DataFrame):
        frame = read_table(frame)
    check_unique_columns(frame, "The data to predict")
    frame = frame.rename(columns=str)
    missing = [name for name in schema.features if name not in frame.columns]
    if missing:
        raise SchemaMismatchError(
            f"The data to predict lacks {len(missing)} feature column(s) seen at fit time: "
            f"{_quote(missing, 10)}. Add them (empty values are allowed)."
        )
    extra = [c for c in frame.columns if c not in schema.features and c != schema.target]
    if extra:
        logger.info("Ignoring columns not seen at fit time: %s", _quote(extra, 10))
    out = frame[list(schema.features)].copy()
    decode_bytes(out, "the data to predict")
    notes: list[str] = []
    numeric = [
        name
        for name in schema.features
        if schema[name].dtype.lower().startswith(("int", "uint", "float"))
        or schema[name].type is FeatureType.NUMERIC
    ]
    coerce_numeric(out, numeric, "the data to predict", notes)
    return replace_inf(out, "the data to predict", notes)

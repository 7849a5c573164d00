"""Leakage a score would hide: a column that gives the target away (a copy, a value
computed from it, an id handed out in target order) and rows that appear twice, so that
cross-validation scores copies of its training rows. Each finding is a warning that names
the column and says what to do; nothing is dropped behind the user's back."""

from __future__ import annotations

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from assay._types import FeatureType, Task
from assay.data._detect import parse_numbers

SAMPLE_ROWS = 20_000  # rows inspected (a seeded sample of larger data)
GIVEAWAY = 0.99  # a column alone predicting this share of rows out of sample gives it away
MAX_RANK_CORRELATION = 0.9999  # regression: |Spearman| with the target from here on
DUPLICATE_SHARE = 0.01  # warn about duplicated rows from this share on,
MIN_DUPLICATES = 5  # and this many


def _loo_accuracy(values: pd.Series, y: pd.Series) -> float:
    """Leave-one-out accuracy of predicting each row's class by the majority class of the
    other rows with the same value (a value seen once predicts nothing)."""
    values, y = values.astype(str), y.astype(str)
    counts = pd.crosstab(values, y)
    table = counts.to_numpy()
    row, col = counts.index.get_indexer(values), counts.columns.get_indexer(y)
    own = table[row, col]
    others = table[row].copy()
    others[np.arange(len(row)), col] = -1
    return float(np.mean(own - 1 > others.max(axis=1)))


def _sorted_changes(numbers: np.ndarray, y: np.ndarray) -> int:
    """How often the class changes along the rows sorted by `numbers` (rows with tied
    values and different classes count as changes)."""
    order = np.argsort(numbers, kind="stable")
    labels = pd.factorize(y[order])[0]
    return int(np.count_nonzero(labels[1:] != labels[:-1]))


def _giveaway(column: pd.Series, ftype: FeatureType, y: pd.Series, task: Task):
    """A message when `column` alone predicts the target almost perfectly, else None."""
    numbers = parse_numbers(column)
    numeric = ftype in (FeatureType.NUMERIC, FeatureType.ID) and numbers.notna().mean() > 0.99
    n = len(column)
    if task is Task.REGRESSION:
        if not numeric or numbers.nunique() < 10:
            return None
        rho = numbers.corr(y.astype(float), method="spearman")
        if np.isfinite(rho) and abs(rho) >= MAX_RANK_CORRELATION:
            return f"its rank correlation with the target is {rho:+.5f}"
        return None
    if y.value_counts(normalize=True).iloc[0] >= GIVEAWAY:
        return None  # one class is nearly everything: any column looks perfect
    if column.nunique() <= 0.5 * n:
        accuracy = _loo_accuracy(column, y)
        if accuracy >= GIVEAWAY:
            return f"its values alone give the class of {accuracy:.1%} of rows"
    if numeric:
        kept = numbers.notna().to_numpy()
        changes = _sorted_changes(numbers.to_numpy()[kept], y.to_numpy()[kept])
        if changes <= (1 - GIVEAWAY) * n:
            return f"sorted by it, the target changes class only {changes} times in {n} rows"
    return None


def leakage_warnings(
    features: pd.DataFrame, y: pd.Series, task: Task, types: dict[str, FeatureType], where: str
) -> list[str]:
    """Warnings about columns of `features` (all of them, identifiers included) that give
    the target away, and about duplicated rows."""
    if len(features) > SAMPLE_ROWS:
        rows = np.random.default_rng(0).choice(len(features), SAMPLE_ROWS, replace=False)
        features, y = features.iloc[np.sort(rows)], y.iloc[np.sort(rows)]
    features, y = features.reset_index(drop=True), y.reset_index(drop=True)
    target = str(y.name)
    messages = []
    for name in features.columns:
        ftype = types.get(str(name), FeatureType.CATEGORICAL)
        if ftype in (FeatureType.EMPTY, FeatureType.CONSTANT, FeatureType.TEXT):
            continue
        column = features[name]
        known = column.notna().to_numpy()
        if known.mean() < 0.5:
            continue
        why = _giveaway(column[known], ftype, y[known], task)
        if why is None:
            continue
        if ftype is FeatureType.ID:
            messages.append(
                f"Identifier column '{name}' of {where} encodes the target '{target}': {why}. "
                "The rows were probably numbered in target order; the column is not used, "
                "but check that no other column carries the row order."
            )
        else:
            messages.append(
                f"Column '{name}' of {where} gives the target '{target}' away: {why}. If it "
                "is a copy of the target, computed from it or unknown at prediction time, "
                "drop it; the scores are not to be trusted while it is in."
            )
    table = features.assign(**{f"__target_{target}": y.to_numpy()})
    n_duplicated = int(pd.Series(row_fingerprints(table)).duplicated().sum())
    if n_duplicated >= max(MIN_DUPLICATES, DUPLICATE_SHARE * len(table)):
        messages.append(
            f"{n_duplicated} rows of {where} ({n_duplicated / len(table):.1%}) repeat earlier "
            "rows exactly; cross-validation scores copies of training rows, so the scores "
            "are optimistic. Drop the duplicates unless they are real repeated observations."
        )
    return messages


def row_fingerprints(frame: pd.DataFrame) -> np.ndarray:
    """A 64-bit hash of each row's values, numbers compared as numbers and the rest as
    text, to find the same row in two tables with the same columns."""
    columns = {}
    for name in frame.columns:
        column = frame[name]
        if ptypes.is_numeric_dtype(column.dtype) and not ptypes.is_bool_dtype(column.dtype):
            columns[str(name)] = pd.to_numeric(column, errors="coerce").astype("float64")
        else:
            columns[str(name)] = column.astype(str).where(column.notna(), "\0missing")
    table = pd.DataFrame(columns, index=frame.index)
    return pd.util.hash_pandas_object(table, index=False).to_numpy(dtype=np.uint64)


def seen_rows(known: np.ndarray, frame: pd.DataFrame) -> int:
    """How many rows of `frame` have a fingerprint in `known` (sorted, as
    training_fingerprints keeps them: a binary search, not a hash of every training row
    on each call, which a service predicting single rows would pay each time)."""
    if not len(frame) or not len(known):
        return 0
    found = row_fingerprints(frame)
    at = np.minimum(np.searchsorted(known, found), len(known) - 1)
    return int((known[at] == found).sum())


MAX_KEPT_ROWS = 5_000_000  # fingerprints kept with a predictor (8 bytes a row)


def training_fingerprints(frame: pd.DataFrame) -> np.ndarray | None:
    """Sorted unique fingerprints of the training rows, or None for very large data."""
    if len(frame) > MAX_KEPT_ROWS:
        return None
    return np.unique(row_fingerprints(frame))

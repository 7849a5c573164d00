"""Groups of rows that must stay together in one fold: every image of one person, every
recording of one speaker, every row of one customer. Validation that mixes a group across
folds scores a model on rows it has nearly seen, and overstates its accuracy."""

from __future__ import annotations

import difflib
from typing import Any

import numpy as np
import pandas as pd

from assay.errors import ConfigError, DataError

GROUPS = "__assay_groups__"  # where the groups ride along while rows are dropped


def attach_groups(
    frame: pd.DataFrame, groups: str | Any, target: str, where: str
) -> tuple[pd.DataFrame, str | None]:
    """`frame` with the groups moved into the column GROUPS (a named column leaves the
    features), and the name of the column they came from (GROUPS when given as values;
    None without groups)."""
    if groups is None:
        return frame, None
    frame, values, column = take_row_values(
        frame, groups, target, where, "groups", "which rows belong together (a person, a "
        "speaker, a customer)", "group", dtype=object,
    )  # fmt: skip
    column = column or GROUPS
    missing = int(pd.isna(values).sum())
    if missing:
        named = f"column '{column}'" if column != GROUPS else "groups"
        raise DataError(
            f"{named} has {missing} missing value(s): give every row a group (rows without "
            "one cannot be kept apart from the others)."
        )
    frame[GROUPS] = values.astype(str).to_numpy()
    return frame, column


def take_row_values(
    frame: pd.DataFrame,
    spec: str | Any,
    target: str,
    where: str,
    argument: str,
    says: str,
    unit: str,
    dtype: Any = None,
) -> tuple[pd.DataFrame, pd.Series, str | None]:
    """A per-row input given as a column name or as values (groups, weights): a copy of
    `frame` without that column, the values, and the column's name (None for values).
    ConfigErrors name `argument`: an unknown column (with the closest names), the target,
    or a count of values other than the rows'."""
    frame = frame.copy()
    if isinstance(spec, str):
        names = [str(c) for c in frame.columns]
        if spec not in names:
            close = difflib.get_close_matches(spec, names, n=3, cutoff=0.4)
            hint = f" Closest names: {', '.join(close)}." if close else ""
            raise ConfigError(f"{argument}='{spec}' is not a column of {where}.{hint}")
        if spec == target:
            raise ConfigError(
                f"{argument}='{spec}' is the target: name the column that says {says}."
            )
        return frame, frame.pop(spec), spec
    array = np.asarray(spec, dtype=dtype).ravel()
    if len(array) != len(frame):
        raise ConfigError(
            f"{argument} has {len(array)} values but {where} has {len(frame)} rows: give "
            f"one {unit} per row, or the name of a column."
        )
    return frame, pd.Series(array, index=frame.index), None


def describe_validation(n_folds: int, groups: np.ndarray | None, column: str | None) -> str:
    """How out-of-fold scores were made, as the report says it."""
    if groups is None:
        return f"{n_folds}-fold cross-validation of shuffled rows"
    named = f" by '{column}'" if column else ""
    n_groups = len(np.unique(groups))
    grouped = f"grouped{named} ({n_groups} groups), each group in one fold"
    return f"{n_folds}-fold cross-validation {grouped}"

"""Row weights (`sample_weight`): how much each row counts in the models' training, the
metrics, the ensemble selection and the leaderboard. A named column is never a feature; its
values ride along with the rows while rows without a target are dropped."""

from __future__ import annotations

import difflib
from typing import Any

import numpy as np
import pandas as pd

from assay.errors import ConfigError, DataError

WEIGHTS = "__assay_weights__"  # where the weights ride along while rows are dropped


def attach_weights(
    frame: pd.DataFrame, weights: str | Any, target: str, where: str
) -> tuple[pd.DataFrame, str | None]:
    """`frame` with the weights moved into the column WEIGHTS (a named column leaves the
    features), and the name of the column they came from (WEIGHTS when given as values;
    None without weights). Raises ConfigError/DataError naming what is wrong."""
    if weights is None:
        return frame, None
    frame = frame.copy()
    if isinstance(weights, str):
        names = [str(c) for c in frame.columns]
        if weights not in names:
            close = difflib.get_close_matches(weights, names, n=3, cutoff=0.4)
            hint = f" Closest names: {', '.join(close)}." if close else ""
            raise ConfigError(f"sample_weight='{weights}' is not a column of {where}.{hint}")
        if weights == target:
            raise ConfigError(
                f"sample_weight='{weights}' is the target: name the column that says how much "
                "each row counts."
            )
        values, column = frame.pop(weights), weights
        named = f"column '{column}'"
    else:
        array = np.asarray(weights).ravel()
        if len(array) != len(frame):
            raise ConfigError(
                f"sample_weight has {len(array)} values but {where} has {len(frame)} rows: "
                "give one weight per row, or the name of a column."
            )
        values, column, named = pd.Series(array, index=frame.index), WEIGHTS, "sample_weight"
    numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(numbers) | (numbers < 0)
    if bad.any():
        first = values[bad].iloc[0] if isinstance(values, pd.Series) else "?"
        raise DataError(
            f"{named} has {int(bad.sum())} value(s) that are not a finite number >= 0 "
            f"(first: {first!r}): give every row a weight of 0 or more."
        )
    if not numbers.sum() > 0:
        raise DataError(f"{named} is zero on every row: give some rows a positive weight.")
    frame[WEIGHTS] = numbers
    return frame, column


def check_weights_left(weights: np.ndarray, column: str | None) -> None:
    """After rows without a target were dropped, some weight must remain."""
    if not weights.sum() > 0:
        named = f"column '{column}'" if column and column != WEIGHTS else "sample_weight"
        raise DataError(
            f"{named} is zero on every row that has a target: give some of those rows a "
            "positive weight."
        )

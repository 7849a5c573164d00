"""Row weights (`sample_weight`): how much each row counts in the models' training, the
metrics, the ensemble selection and the leaderboard. A named column is never a feature; its
values ride along with the rows while rows without a target are dropped."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from assay.data._groups import take_row_values
from assay.errors import DataError

WEIGHTS = "__assay_weights__"  # where the weights ride along while rows are dropped


def attach_weights(
    frame: pd.DataFrame, weights: str | Any, target: str, where: str
) -> tuple[pd.DataFrame, str | None]:
    """`frame` with the weights moved into the column WEIGHTS (a named column leaves the
    features), and the name of the column they came from (WEIGHTS when given as values;
    None without weights). Raises ConfigError/DataError naming what is wrong."""
    if weights is None:
        return frame, None
    frame, values, column = take_row_values(
        frame, weights, target, where, "sample_weight", "how much each row counts", "weight"
    )
    named = "sample_weight" if column is None else f"column '{column}'"
    column = column or WEIGHTS
    numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(numbers) | (numbers < 0)
    if bad.any():
        first = values[bad].iloc[0]
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

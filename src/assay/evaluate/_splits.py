"""Validation splits other than shuffled folds: rows ordered in time (`cv="time:COL"`,
`--split time:COL`), where each fold trains on the past and validates on the next block, so
no model is scored on rows older than some it learned from; and any scikit-learn splitter
(`cv=GroupKFold(5)`, `cv=PredefinedSplit(...)`), whose validation folds must cover every
row once, as bagging needs an out-of-fold prediction for each."""

from __future__ import annotations

from typing import Any

import numpy as np

from assay.errors import ConfigError, DataError

TIME_PREFIX = "time:"
MAX_TIME_FOLDS = 5


def time_column(cv: Any) -> str | None:
    """COL of a `cv="time:COL"` option (None for any other cv). Raises ConfigError for
    another string."""
    if not isinstance(cv, str):
        return None
    if cv.startswith(TIME_PREFIX) and cv[len(TIME_PREFIX) :].strip():
        return cv[len(TIME_PREFIX) :].strip()
    raise ConfigError(
        f"cv={cv!r} (--split): give time:COL to validate on the latest rows by column COL "
        "(e.g. time:date), or, in Python, a scikit-learn splitter such as KFold(5)."
    )


def check_splitter(cv: Any) -> None:
    """A ConfigError unless `cv` is None, "time:COL", or has split() and get_n_splits()."""
    if cv is None or time_column(cv) is not None:
        return
    if not (callable(getattr(cv, "split", None)) and callable(getattr(cv, "get_n_splits", None))):
        raise ConfigError(
            f"cv={cv!r}: give a scikit-learn splitter (an object with split() and "
            "get_n_splits(), such as KFold(5) or GroupKFold(5)), or 'time:COL'."
        )


def time_folds(order: np.ndarray, n_folds: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Expanding-window folds over rows sorted by `order`: the rows are cut into
    n_folds + 1 blocks of consecutive times; fold k trains on blocks 0..k-1 and validates
    on block k, so the earliest block only trains. Equal times stay in one block."""
    n_rows = len(order)
    n_folds = min(n_folds, MAX_TIME_FOLDS)
    if n_rows < 2 * (n_folds + 1):
        raise DataError(
            f"A time split into {n_folds} folds needs at least {2 * (n_folds + 1)} rows; "
            f"the data has {n_rows}. Give more rows or fewer folds."
        )
    ranked = np.argsort(order, kind="stable")
    sorted_times = order[ranked]
    cuts = []
    for share in np.arange(1, n_folds + 1) / (n_folds + 1):
        cut = int(np.searchsorted(sorted_times, sorted_times[int(share * n_rows)], "left"))
        cuts.append(cut)
    bounds = [0, *cuts, n_rows]
    if len(set(bounds)) < len(bounds):
        raise DataError(
            f"The time column has too few distinct times for {n_folds} folds (rows with one "
            "time stay in one block): give fewer folds (n_folds=, --folds)."
        )
    folds = []
    for k in range(1, n_folds + 1):
        train = np.sort(ranked[: bounds[k]])
        valid = np.sort(ranked[bounds[k] : bounds[k + 1]])
        folds.append((train, valid))
    return folds


def splitter_folds(
    cv: Any, n_rows: int, y: np.ndarray, groups: np.ndarray | None
) -> list[tuple[np.ndarray, np.ndarray]]:
    """The folds of a scikit-learn splitter, checked: at least 2, none with empty rows,
    and every row validated exactly once."""
    try:
        folds = [
            (np.asarray(tr), np.asarray(va))
            for tr, va in cv.split(np.zeros((n_rows, 1)), y, groups)
        ]
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"cv={cv!r} could not split the {n_rows} rows: {exc}") from exc
    if len(folds) < 2:
        raise ConfigError(f"cv={cv!r} gave {len(folds)} fold(s): give a splitter with 2 or more.")
    times = np.zeros(n_rows, dtype=int)
    for train, valid in folds:
        if len(train) == 0 or len(valid) == 0:
            raise ConfigError(f"cv={cv!r} gave a fold with no training or no validation rows.")
        times[valid] += 1
    if (times != 1).any():
        raise ConfigError(
            f"cv={cv!r} validates {int((times == 0).sum())} row(s) never and "
            f"{int((times > 1).sum())} more than once: every row must be validated exactly "
            "once (assay keeps each fold's model and needs one out-of-fold prediction per "
            "row). Use a splitter such as KFold, GroupKFold or PredefinedSplit, or "
            "cv='time:COL' for rows ordered in time."
        )
    return folds

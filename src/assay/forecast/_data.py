"""Series collections and the two layouts they are read from: long (one row per series and
time) and the wide M4 layout (one row per series, ragged values after the id)."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from assay.errors import ConfigError, DataError, TargetError

MIN_HISTORY = 2  # values a backtest origin must leave before it


@dataclass(frozen=True)
class SeriesSet:
    """Equally spaced series. `starts` and `freq` are set when the data had timestamps;
    without them, steps are counted from each series' end."""

    ids: list[str]
    values: list[np.ndarray]
    starts: list[pd.Timestamp] | None = None
    freq: str | None = None

    @property
    def lengths(self) -> np.ndarray:
        return np.array([len(v) for v in self.values])

    def times(self, i: int, start: int, stop: int) -> pd.DatetimeIndex:
        """Timestamps of positions start..stop-1 of series i (beyond its end too); only for
        series that had timestamps (`starts` set)."""
        if self.starts is None or self.freq is None:
            raise ValueError("these series have no timestamps, only positions")
        index = pd.date_range(self.starts[i], periods=stop, freq=self.freq)
        return index[start:stop]

    def head(self, n_drop: int) -> SeriesSet:
        """Every series without its last `n_drop` values (the history at an origin)."""
        return replace(self, values=[v[: len(v) - n_drop] for v in self.values])

    def subset(self, keep: np.ndarray) -> SeriesSet:
        rows = np.flatnonzero(keep)
        starts = None if self.starts is None else [self.starts[i] for i in rows]
        return SeriesSet(
            [self.ids[i] for i in rows], [self.values[i] for i in rows], starts, self.freq
        )


def check_horizon(series: SeriesSet, horizon: int, where: str = "the data") -> None:
    """Every series must leave MIN_HISTORY values before one backtest window of `horizon`."""
    if horizon < 1:
        raise ConfigError(f"horizon must be a positive number of steps, got {horizon}.")
    need = horizon + MIN_HISTORY
    short = [(i, n) for i, n in zip(series.ids, series.lengths, strict=True) if n < need]
    if short:
        shown = ", ".join(f"'{i}' ({n} values)" for i, n in short[:5])
        raise DataError(
            f"{len(short)} series in {where} are too short for horizon {horizon}: {shown}. "
            f"Each needs at least {need} values (horizon + {MIN_HISTORY}); lower the horizon "
            "or drop the short series."
        )


def _numeric(column: pd.Series, name: str, where: str) -> np.ndarray:
    values = pd.to_numeric(column, errors="coerce")
    bad = column[values.isna() & column.notna()]
    if len(bad):
        raise TargetError(
            f"Target column '{name}' in {where} is not numeric: {bad.iloc[0]!r} (and "
            f"{len(bad) - 1} more). Forecasting needs numbers; clean or convert the column."
        )
    return values.to_numpy(float)


def _parse_times(column: pd.Series, name: str, where: str) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(column):
        return column
    parsed = pd.to_datetime(column, errors="coerce", format="mixed")
    bad = column[parsed.isna() & column.notna()]
    if len(bad) or column.isna().any():
        example = repr(bad.iloc[0]) if len(bad) else "an empty cell"
        raise DataError(
            f"Time column '{name}' in {where} has values that are not dates: {example}. "
            "Give ISO dates such as 2024-01-31 or 2024-01-31 13:00, with no empty cells."
        )
    return parsed


def _check_columns(frame: pd.DataFrame, names: dict[str, str | None], where: str) -> None:
    for role, name in names.items():
        if name is not None and name not in frame.columns:
            shown = ", ".join(map(repr, list(frame.columns)[:12]))
            error = TargetError if role == "target" else DataError
            raise error(
                f"{role.capitalize()} column '{name}' is not in {where}. Its columns are: "
                f"{shown}. Pass the right name with --{role}."
            )


def _infer_offset(sample: pd.DatetimeIndex):
    """pd.infer_freq as an offset, or None. pandas 3.1 returns one under this option (an
    alias, with a FutureWarning, without it); older pandas has no such option and returns
    the alias."""
    try:
        with pd.option_context("future.infer_freq_returns_offset", True):
            inferred = pd.infer_freq(sample)
    except pd.errors.OptionError:  # pandas before 3.1
        inferred = pd.infer_freq(sample)
    return None if inferred is None else pd.tseries.frequencies.to_offset(inferred)


def _regular_frequency(times: pd.Series, keys: np.ndarray, where: str, name: str) -> str:
    longest = pd.Series(keys).value_counts().index[0]
    sample = pd.DatetimeIndex(times[keys == longest]).sort_values()
    freq = None
    if len(sample) >= 3:
        offset = _infer_offset(sample)
        freq = offset.freqstr if offset is not None else None
    if freq is None:
        raise DataError(
            f"Times in column '{name}' of {where} are not equally spaced (series "
            f"'{longest}'). Resample to a regular frequency (hourly, daily, weekly, monthly...) "
            "and fill the gaps before forecasting."
        )
    return freq


def from_long(
    frame: pd.DataFrame, time: str, target: str, id: str | None = None, where: str = "the data"
) -> SeriesSet:
    """One series per id (a single series without `id`), sorted by time, checked for gaps.
    An integer time column counts steps (no calendar); anything else must parse as dates."""
    _check_columns(frame, {"time": time, "target": target, "id": id}, where)
    steps = pd.api.types.is_integer_dtype(frame[time])
    times = frame[time] if steps else _parse_times(frame[time], time, where)
    values = _numeric(frame[target], target, where)
    keys = frame[id].astype(str).to_numpy() if id else np.full(len(frame), "series")
    duplicated = pd.DataFrame({"id": keys, "time": times.to_numpy()}).duplicated()
    if duplicated.any():
        row = int(np.flatnonzero(duplicated)[0])
        raise DataError(
            f"{where} has {int(duplicated.sum())} repeated (id, time) pairs, first "
            f"({keys[row]!r}, {times.iloc[row]}). Each series needs one row per time: "
            f"aggregate the duplicates{'' if id else ' or pass --id for several series'}."
        )
    if np.isnan(values).any():
        row = int(np.flatnonzero(np.isnan(values))[0])
        raise TargetError(
            f"Target column '{target}' in {where} has {int(np.isnan(values).sum())} empty "
            f"values, first at ({keys[row]!r}, {times.iloc[row]}). Fill or drop them."
        )
    freq = None if steps else _regular_frequency(times, keys, where, time)
    order = np.lexsort((times.to_numpy(), keys))
    ids, starts, series = [], [], []
    for key, rows in pd.Series(order).groupby(keys[order], sort=False):
        stamps = times.to_numpy()[rows.to_numpy()]
        if steps:
            expected = np.arange(stamps[0], stamps[0] + len(stamps))
        else:
            stamps = pd.DatetimeIndex(stamps)
            expected = pd.date_range(stamps[0], periods=len(stamps), freq=freq)
        if not np.array_equal(stamps, expected):
            gap = stamps[np.flatnonzero(stamps != expected)[0] - 1]
            raise DataError(
                f"Series '{key}' in {where} has a gap after {gap} (frequency "
                f"{freq or 'one step'}). Fill missing times (for example with the previous "
                "value) before forecasting."
            )
        ids.append(str(key))
        starts.append(stamps[0])
        series.append(values[rows.to_numpy()])
    return SeriesSet(ids, series, None if steps else starts, freq)


def read_long(
    source: str | os.PathLike[str] | pd.DataFrame, time: str, target: str, id: str | None = None
) -> SeriesSet:
    """A long CSV/TSV/Parquet file (read by assay.data) or DataFrame into series."""
    from assay.data import read_table

    where = "the DataFrame" if isinstance(source, pd.DataFrame) else f"'{source}'"
    return from_long(read_table(source), time, target, id, where)


def read_wide(path: str | os.PathLike[str]) -> SeriesSet:
    """The M4 layout: first column the id, then values; trailing empty cells end a series."""
    from assay.data import read_table

    frame = read_table(path)
    if frame.shape[1] < 2:
        raise DataError(
            f"'{path}' has {frame.shape[1]} column; the wide layout needs an id column "
            "followed by one column per time step."
        )
    ids, series = [], []
    cells = frame.iloc[:, 1:].apply(pd.to_numeric, errors="coerce").to_numpy(float)
    given = frame.iloc[:, 1:].notna().to_numpy()
    for key, row, present in zip(frame.iloc[:, 0].astype(str), cells, given, strict=True):
        if (present & np.isnan(row)).any():
            column = frame.columns[1 + int(np.flatnonzero(present & np.isnan(row))[0])]
            raise DataError(
                f"'{path}', series '{key}', column '{column}' is not a number. "
                "Values must be numeric; leave cells empty only after a series ends."
            )
        n = int(np.flatnonzero(present)[-1]) + 1 if present.any() else 0
        if n == 0 or not present[:n].all():
            raise DataError(
                f"'{path}', series '{key}' is empty or has an empty cell inside it. "
                "Empty cells are allowed only after the last value."
            )
        ids.append(key)
        series.append(row[:n])
    return SeriesSet(ids, series)

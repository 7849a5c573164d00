"""Prediction intervals from the backtest errors of the chosen ensemble (conformal style).

Each backtest row (origin, series) gives the ensemble's out-of-sample errors at steps 1..H.
Errors are divided by the row's MASE scale (the in-sample seasonal-naive spread of the
history at that origin), so series of any size share one pool; a forecast's bounds are the
point forecast plus its own series' scale times the quantiles of that pool.

How a level-L band is found depends on `n`, the errors per step (one per backtest row), and
on `need = max(10, ceil(200 / (100 - L)) - 1)`: the fewest errors for which the split-
conformal quantiles of rank floor((n + 1) a/2) and ceil((n + 1)(1 - a/2)), a = 1 - L/100,
exist (39 for 95%, 10 for 80%, 199 for 99%).

- STEP: n >= need. The empirical conformal quantiles of the errors at each step h.
- POOLED: fewer per step, but n * H >= need. Errors at step h are divided by a growth
  curve h**b (b from a log-log fit of the mean absolute error on the step, kept in
  [0, 1]; 0.5, the random walk's sqrt(h), when there are fewer than 3 rows), pooled over
  the steps, and their conformal quantiles are multiplied back by h**b.
- STUDENT_T: fewer than `need` errors in all. The same standardized errors, but a
  symmetric band of t(n * H degrees of freedom) quantiles times their root mean square:
  wide when errors are few (12.7 times the spread at 95% with one error), never a quantile
  the data cannot support.

Lower bounds are at most 0 and upper bounds at least 0 (so lo <= forecast <= hi), and a
higher level's band contains a lower level's. Weights chosen on the same backtests make the
errors slightly optimistic; with many series that bias is small.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum

import numpy as np

from assay.errors import ConfigError, DataError
from assay.forecast._backtest import Backtest

MIN_ERRORS = 10  # no quantile from fewer, whatever the level


class IntervalMethod(str, Enum):
    STEP = "step"
    POOLED = "pooled"
    STUDENT_T = "student_t"


@dataclass(frozen=True)
class Band:
    """Scaled error quantiles of one level, one per step: bounds are forecast + scale * q."""

    level: float
    lower: np.ndarray
    upper: np.ndarray
    method: IntervalMethod

    @property
    def name(self) -> str:
        """The level as it appears in column names: 80 for 80.0, 97.5 for 97.5."""
        return f"{self.level:g}"


def check_levels(
    levels: Iterable[float] | str, argument: str = "levels=", example: str | None = None
) -> list[float]:
    """Levels in percent, sorted and without repeats; `argument` names the option in errors
    (`levels=` for the API, `--levels` for the CLI). A string is split on commas."""
    if example is None:
        example = f"{argument} 80,95" if argument.startswith("--") else f"{argument}[80, 95]"
    items = levels.split(",") if isinstance(levels, str) else list(levels)
    out = []
    for item in items:
        try:
            if isinstance(item, bool):
                raise ValueError
            value = float(item.strip() if isinstance(item, str) else item)
        except (TypeError, ValueError):
            value = math.nan
        if not 0 < value < 100:  # also NaN
            raise ConfigError(
                f"{argument} takes interval levels in percent, each strictly between 0 and "
                f"100, such as {example}; got {item!r}."
            )
        out.append(value)
    if not out:
        raise ConfigError(f"{argument} needs at least one level in percent, such as {example}.")
    return sorted(set(out))


def needed(level: float) -> int:
    """The fewest errors from which the conformal quantiles of `level` exist."""
    return max(MIN_ERRORS, math.ceil(200.0 / (100.0 - level) - 1e-9) - 1)


def backtest_errors(
    backtest: Backtest, weights: dict[str, float], non_negative: bool
) -> np.ndarray:
    """Scaled errors (actual - forecast) / scale of the weighted ensemble, one row per
    (origin, series), rows with any non-finite value left out."""
    forecast = sum(w * backtest.forecasts[name] for name, w in weights.items())
    forecast = np.asarray(forecast, float)
    if non_negative:  # as the ensemble's forecasts are clipped
        forecast = np.maximum(forecast, 0.0)
    errors = (backtest.actual - forecast) / backtest.scale[:, None]
    return errors[np.isfinite(errors).all(axis=1)]


def _conformal(sorted_errors: np.ndarray, level: float) -> tuple[float, float]:
    n, half = len(sorted_errors), (100.0 - level) / 200.0
    low = math.floor((n + 1) * half + 1e-9)
    high = math.ceil((n + 1) * (1 - half) - 1e-9)
    return float(sorted_errors[low - 1]), float(sorted_errors[high - 1])


def _growth(errors: np.ndarray) -> np.ndarray:
    """h**b for steps 1..H, b the slope of log mean |error| on log h, in [0, 1]."""
    steps = np.arange(1, errors.shape[1] + 1, dtype=float)
    spread = np.mean(np.abs(errors), axis=0)
    positive = spread > 0
    slope = 0.5
    if len(errors) >= 3 and positive.sum() >= 2:
        slope = float(np.polyfit(np.log(steps[positive]), np.log(spread[positive]), 1)[0])
    return steps ** float(np.clip(slope, 0.0, 1.0))


def interval_bands(errors: np.ndarray, levels: Iterable[float]) -> list[Band]:
    """One Band per level (ascending) from scaled errors, rows x steps; see the module
    docstring for which method each level gets."""
    from scipy import stats

    errors = np.asarray(errors, float)
    if errors.ndim != 2 or errors.size == 0:
        raise DataError(
            "No backtest errors to build prediction intervals from (every backtest forecast "
            "was missing or not finite). Refit the forecaster on longer series."
        )
    n_rows, n_steps = errors.shape
    growth = _growth(errors)
    pooled = np.sort((errors / growth).ravel())
    by_step = np.sort(errors, axis=0)
    bands: list[Band] = []
    for level in sorted(levels):
        if n_rows >= needed(level):
            pairs = [_conformal(by_step[:, h], level) for h in range(n_steps)]
            lower, upper = (np.array(p) for p in zip(*pairs, strict=True))
            method = IntervalMethod.STEP
        elif len(pooled) >= needed(level):
            low, high = _conformal(pooled, level)
            lower, upper, method = low * growth, high * growth, IntervalMethod.POOLED
        else:
            t = stats.t.ppf(1 - (100.0 - level) / 200.0, df=len(pooled))
            half = t * float(np.sqrt(np.mean(pooled**2))) * growth
            lower, upper, method = -half, half, IntervalMethod.STUDENT_T
        lower, upper = np.minimum(lower, 0.0), np.maximum(upper, 0.0)
        if bands:  # nested: never narrower than the level below
            lower, upper = np.minimum(lower, bands[-1].lower), np.maximum(upper, bands[-1].upper)
        bands.append(Band(level, lower, upper, method))
    return bands


def bounds(
    forecasts: np.ndarray, scales: np.ndarray, band: Band, non_negative: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper bounds, series x steps; lower bounds clipped at 0 for data that never
    go below it (as the forecasts are)."""
    lower = forecasts + scales[:, None] * band.lower[None, :]
    upper = forecasts + scales[:, None] * band.upper[None, :]
    if non_negative:
        lower = np.maximum(lower, 0.0)
    return lower, upper

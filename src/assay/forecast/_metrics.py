"""sMAPE, MASE and OWA as the M4 competition computes them, plus the seasonality test and the
classical multiplicative decomposition behind its Naive2 benchmark, and the interval scores
(coverage and MSIS).

Follows the organisers' R code ("Benchmarks and Evaluation.R" in Mcompetitions/M4-methods):
per-series errors are averaged over the horizon, then over series; OWA compares the two
dataset-level means with those of Naive2. Published M4 scores are reproduced to 3 decimals.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

_TCRIT = 1.645  # one-sided 90% test, as in the M4 benchmarks


@dataclass(frozen=True)
class Scores:
    """Dataset-level means; `owa` is None until Naive2's scores are known."""

    smape: float
    mase: float
    owa: float | None = None


def smape(actual: np.ndarray, forecast: np.ndarray) -> float:
    """Symmetric MAPE of one series in percent (0..200), averaged over the horizon."""
    actual, forecast = np.asarray(actual, float), np.asarray(forecast, float)
    denominator = np.abs(actual) + np.abs(forecast)
    ratio = np.divide(
        200.0 * np.abs(actual - forecast),
        denominator,
        out=np.zeros_like(denominator),
        where=denominator > 0,  # both zero: a perfect forecast, not 0/0
    )
    return float(np.mean(ratio))


def mase_scale(insample: np.ndarray, season: int) -> float:
    """In-sample mean absolute seasonal difference (lag 1 when the series is too short).

    A flat history has scale 0, which would make every error infinite; it falls back to the
    lag-1 scale and then to 1 so one degenerate series cannot swamp a dataset's mean.
    """
    y = np.asarray(insample, float)
    lag = season if len(y) > season else 1
    for step in (lag, 1):
        if len(y) > step:
            scale = float(np.mean(np.abs(y[step:] - y[:-step])))
            if scale > 0:
                return scale
    return 1.0


def mase(insample: np.ndarray, actual: np.ndarray, forecast: np.ndarray, season: int) -> float:
    """Mean absolute scaled error of one series (M4: scaled by the seasonal naive in-sample)."""
    error = np.abs(np.asarray(actual, float) - np.asarray(forecast, float))
    return float(np.mean(error) / mase_scale(insample, season))


def score(
    insamples: Sequence[np.ndarray],
    actuals: Sequence[np.ndarray],
    forecasts: Sequence[np.ndarray],
    season: int,
) -> Scores:
    """Mean sMAPE and MASE over series (each series averaged over its horizon first)."""
    smapes = [smape(a, f) for a, f in zip(actuals, forecasts, strict=True)]
    mases = [mase(i, a, f, season) for i, a, f in zip(insamples, actuals, forecasts, strict=True)]
    return Scores(float(np.mean(smapes)), float(np.mean(mases)))


def owa(scores: Scores, naive2: Scores) -> float:
    """Overall weighted average: the mean of the two ratios to Naive2's dataset-level scores."""
    return 0.5 * (scores.smape / naive2.smape + scores.mase / naive2.mase)


def with_owa(scores: Scores, naive2: Scores) -> Scores:
    return Scores(scores.smape, scores.mase, owa(scores, naive2))


@dataclass(frozen=True)
class IntervalScores:
    """Dataset-level scores of prediction intervals at `level` percent."""

    level: float
    coverage: float
    msis: float


def coverage(actual: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> float:
    """Share of actual values inside [lower, upper], bounds included (M4's coverage)."""
    actual = np.asarray(actual, float)
    inside = (actual >= np.asarray(lower, float)) & (actual <= np.asarray(upper, float))
    return float(np.mean(inside))


def msis(
    insample: np.ndarray,
    actual: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    season: int,
    level: float = 95.0,
) -> float:
    """Mean scaled interval score of one series, as M4 defines it (alpha = 1 - level/100):
    the mean over the horizon of (U - L) + 2/alpha (L - Y) [Y < L] + 2/alpha (Y - U) [Y > U],
    divided by the in-sample seasonal-naive scale MASE uses."""
    y, lo, hi = (np.asarray(v, float) for v in (actual, lower, upper))
    alpha = 1.0 - level / 100.0
    penalty = (2.0 / alpha) * (np.maximum(lo - y, 0.0) + np.maximum(y - hi, 0.0))
    return float(np.mean(hi - lo + penalty) / mase_scale(insample, season))


def score_intervals(
    insamples: Sequence[np.ndarray],
    actuals: Sequence[np.ndarray],
    lowers: Sequence[np.ndarray],
    uppers: Sequence[np.ndarray],
    season: int,
    level: float,
) -> IntervalScores:
    """Coverage over every (series, step) and MSIS averaged over series, as in M4."""
    rows = list(zip(insamples, actuals, lowers, uppers, strict=True))
    inside = coverage(
        np.concatenate([np.asarray(a, float) for _, a, _, _ in rows]),
        np.concatenate([np.asarray(lo, float) for _, _, lo, _ in rows]),
        np.concatenate([np.asarray(hi, float) for _, _, _, hi in rows]),
    )
    scores = [msis(i, a, lo, hi, season, level) for i, a, lo, hi in rows]
    return IntervalScores(level, inside, float(np.mean(scores)))


def acf(y: np.ndarray, max_lag: int) -> np.ndarray:
    """Sample autocorrelations at lags 1..max_lag (R's acf: one mean, one denominator)."""
    centred = np.asarray(y, float) - np.mean(y)
    denominator = float(np.dot(centred, centred))
    if denominator == 0:
        return np.zeros(max_lag)
    return np.array(
        [np.dot(centred[k:], centred[:-k]) / denominator for k in range(1, max_lag + 1)]
    )


def is_seasonal(y: np.ndarray, season: int) -> bool:
    """M4's 90% test: |acf_m| > 1.645 * sqrt((1 + 2 * sum_{k<m} acf_k^2) / n).

    Needs three full seasons. R's acf stops at lag 10*log10(n), so the organisers' code
    found no seasonality when m exceeds that; kept so scores match the published ones.
    """
    n = len(y)
    if season <= 1 or n < 3 * season or season > int(10 * np.log10(n)):
        return False
    r = acf(y, season)
    limit = _TCRIT * np.sqrt((1 + 2 * np.sum(r[: season - 1] ** 2)) / n)
    return bool(abs(r[season - 1]) > limit)


def seasonal_indices(y: np.ndarray, season: int) -> np.ndarray:
    """Classical multiplicative decomposition (R's decompose): one index per position in the
    season, normalised to mean 1; position p covers values y[p], y[p + m], ...

    Positions count from the first observation, as the M4 code does (series start at cycle 1).
    """
    y = np.asarray(y, float)
    n, m = len(y), season
    weights = np.full(m + 1, 1.0 / m) if m % 2 == 0 else np.full(m, 1.0 / m)
    if m % 2 == 0:
        weights[0] = weights[-1] = 0.5 / m
    half = len(weights) // 2
    trend = np.full(n, np.nan)
    trend[half : n - half] = np.convolve(y, weights, mode="valid")
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = y / trend
    padded = np.full(-(-n // m) * m, np.nan)
    padded[:n] = ratio
    figure = np.nanmean(padded.reshape(-1, m), axis=0)
    return figure / np.mean(figure)


def seasonal_factors(y: np.ndarray, season: int, horizon: int) -> tuple[np.ndarray, np.ndarray]:
    """In-sample and out-of-sample multiplicative factors (all ones when not seasonal)."""
    n = len(y)
    if not is_seasonal(y, season):
        return np.ones(n), np.ones(horizon)
    index = seasonal_indices(y, season)
    return index[np.arange(n) % season], index[np.arange(n, n + horizon) % season]

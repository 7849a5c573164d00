"""Per-series statistical forecasters: the M4 benchmarks (naive, seasonal naive, Naive2, SES,
damped trend and classical Theta; all but the first two on seasonally adjusted data).

Exponential smoothing is fitted here rather than through statsmodels' ExponentialSmoothing:
the one-step forecasts are a linear filter of the series (scipy's lfilter) and the initial
states enter linearly, so they are solved by least squares and only the smoothing parameters
are searched. It minimises the same squared error as statsmodels and R's ets, 10-20 times
faster, which is what lets these candidates run on every backtest origin within a budget.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum

import numpy as np

from assay.forecast._metrics import seasonal_factors

SeriesForecaster = Callable[[np.ndarray, int, int], np.ndarray]
_BOUNDS = [(1e-4, 0.9999), (1e-4, 0.9999), (0.8, 0.98)]  # alpha, beta/alpha, phi (as R's ets)


class Baseline(str, Enum):
    NAIVE = "naive"
    SEASONAL_NAIVE = "snaive"
    NAIVE2 = "naive2"
    SES = "ses"
    DAMPED = "damped"
    THETA = "theta"


def naive(y: np.ndarray, horizon: int, season: int) -> np.ndarray:
    return np.full(horizon, float(y[-1]))


def seasonal_naive(y: np.ndarray, horizon: int, season: int) -> np.ndarray:
    """Repeats the last full season; plain naive when the series is shorter than a season."""
    if season <= 1 or len(y) < season:
        return naive(y, horizon, season)
    return np.resize(np.asarray(y[-season:], float), horizon)


def ses_level(y: np.ndarray) -> float:
    """Final level of simple exponential smoothing with alpha and the initial level fitted."""
    from scipy.optimize import minimize_scalar
    from scipy.signal import lfilter

    y = np.asarray(y, float)
    if len(y) < 3 or np.ptp(y) == 0:
        return float(y[-1])
    steps = np.arange(len(y))

    def errors(alpha: float) -> np.ndarray:
        residual = y - lfilter([0.0, alpha], [1.0, alpha - 1.0], y)  # forecasts from level 0
        decay = (1.0 - alpha) ** steps  # how the initial level reaches each forecast
        return residual - decay * (residual @ decay) / (decay @ decay)

    fit = minimize_scalar(
        lambda a: float(np.sum(errors(a) ** 2)), bounds=_BOUNDS[0], method="bounded"
    )
    alpha = float(fit.x)
    last_forecast = y[-1] - errors(alpha)[-1]
    return float(alpha * y[-1] + (1 - alpha) * last_forecast)


def fit_damped(y: np.ndarray) -> tuple[np.ndarray, float, float, float]:
    """Additive damped trend, ETS(A,Ad,N), by least squares as R's holt(damped=TRUE):
    (alpha, beta/alpha, phi), the final level and trend, and the sum of squared errors."""
    from scipy.optimize import minimize
    from scipy.signal import lfilter

    y = np.asarray(y, float)
    impulse = np.zeros(len(y))
    impulse[0] = 1.0

    def solve(params: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        # state [level, trend] -> D state + g y; the forecast is level + phi * trend
        alpha, beta, phi = params[0], params[0] * params[1], params[2]
        trace, det = 1 - alpha + phi * (1 - beta), phi * (1 - alpha)
        ar = [1.0, -trace, det]
        residual = y - lfilter([0.0, alpha + phi * beta, -phi * alpha], ar, y)
        first = [1.0, 1 - alpha - phi * beta - trace]  # forecasts from level 1, trend 0
        second = [phi, phi * (1 - alpha) + phi * phi * (1 - beta) - trace * phi]
        basis = np.column_stack([lfilter(first, ar, impulse), lfilter(second, ar, impulse)])
        start, *_ = np.linalg.lstsq(basis, residual, rcond=None)
        return residual - basis @ start, start

    def sse(params: np.ndarray) -> float:
        value = float(np.sum(solve(params)[0] ** 2))
        return value if np.isfinite(value) else 1e300

    starts = sorted(_STARTS, key=sse)[:2]
    best = min(
        (minimize(sse, x0, bounds=_BOUNDS, method="L-BFGS-B") for x0 in starts),
        key=lambda fit: fit.fun,
    )
    alpha, beta, phi = best.x[0], best.x[0] * best.x[1], best.x[2]
    level, trend = solve(best.x)[1]
    for value in y:
        error = value - level - phi * trend
        level, trend = level + phi * trend + alpha * error, phi * trend + beta * error
    return best.x, float(level), float(trend), float(best.fun)


# The error surface often has an optimum at each end of phi's range: search from the two
# best points of a coarse grid.
_STARTS = [
    np.array([a, b, p]) for a in (0.1, 0.5, 0.99) for b in (0.03, 0.3) for p in (0.82, 0.9, 0.97)
]


def damped_trend(y: np.ndarray, horizon: int) -> np.ndarray:
    """Forecasts of the damped trend model (the M4 "Damped" benchmark)."""
    if len(y) < 6 or np.ptp(y) == 0:
        return np.full(horizon, ses_level(y))
    params, level, trend, _ = fit_damped(y)
    return level + np.cumsum(params[2] ** np.arange(1, horizon + 1)) * trend


def theta(y: np.ndarray, horizon: int) -> np.ndarray:
    """Classical Theta (Assimakopoulos & Nikolopoulos 2000) as the M4 benchmark runs it:
    half the linear trend line, half SES on the theta=2 line; negative forecasts become 0."""
    n = len(y)
    t = np.arange(n, dtype=float)
    slope, intercept = np.polyfit(t, y, 1) if n > 1 else (0.0, float(y[-1]))
    line_out = intercept + slope * np.arange(n, n + horizon)
    level = ses_level(2.0 * y - (intercept + slope * t))
    return np.maximum(0.5 * level + 0.5 * line_out, 0.0)


def _on_adjusted(method: Callable[[np.ndarray, int], np.ndarray]) -> SeriesForecaster:
    """Deseasonalise (only if M4's test finds seasonality), forecast, reseasonalise."""

    def forecast(y: np.ndarray, horizon: int, season: int) -> np.ndarray:
        y = np.asarray(y, float)
        factors_in, factors_out = seasonal_factors(y, season, horizon)
        return method(y / factors_in, horizon) * factors_out

    return forecast


naive2 = _on_adjusted(lambda adjusted, h: np.full(h, adjusted[-1]))
naive2.__doc__ = "Naive on the seasonally adjusted series, reseasonalised: M4's OWA reference."

BASELINES: dict[Baseline, SeriesForecaster] = {
    Baseline.NAIVE: naive,
    Baseline.SEASONAL_NAIVE: seasonal_naive,
    Baseline.NAIVE2: naive2,
    Baseline.SES: _on_adjusted(lambda y, h: np.full(h, ses_level(y))),
    Baseline.DAMPED: _on_adjusted(damped_trend),
    Baseline.THETA: _on_adjusted(theta),
}


def forecast_baseline(
    name: Baseline | str, series: list[np.ndarray], horizon: int, season: int
) -> list[np.ndarray]:
    """One forecast per series; a series whose fit fails falls back to Naive2, so one odd
    series cannot sink a method that works on the rest."""
    from threadpoolctl import threadpool_limits

    method = BASELINES[Baseline(name)]
    out = []
    with threadpool_limits(1, user_api="blas"):  # BLAS threads cost 10x on 2x2 solves
        for y in series:
            try:
                values = np.asarray(method(y, horizon, season), float)
                if not np.all(np.isfinite(values)):
                    raise FloatingPointError("non-finite forecast")
            except (ValueError, FloatingPointError, np.linalg.LinAlgError):
                values = naive2(y, horizon, season)
            out.append(values)
    return out

"""Rolling-origin backtests and the ensemble chosen on them.

An origin cuts every series at `len - holdout`: models see only the values before it and are
scored on the `horizon` values after it. Origins step back from the end of the data, one
horizon apart by default; nothing is ever shuffled. Errors are pooled over (origin, series)
rows and expressed like OWA, relative to Naive2 on the same rows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from assay.forecast._data import MIN_HISTORY, SeriesSet
from assay.forecast._metrics import mase_scale

Forecast = Callable[[SeriesSet], list[np.ndarray]]


@dataclass(frozen=True)
class Origin:
    """Holds out the last `holdout` values of each series; scores the next `horizon` of them."""

    holdout: int
    horizon: int

    def usable(self, data: SeriesSet) -> np.ndarray:
        """Series long enough to leave MIN_HISTORY values before this origin."""
        return data.lengths - self.holdout >= MIN_HISTORY

    def split(self, data: SeriesSet) -> tuple[SeriesSet, list[np.ndarray]]:
        """(history strictly before the origin, the next `horizon` actual values)."""
        kept = data.subset(self.usable(data))
        history = kept.head(self.holdout)
        actuals = [y[len(y) - self.holdout :][: self.horizon] for y in kept.values]
        return history, actuals


def rolling_origins(horizon: int, n_origins: int, step: int | None = None) -> list[Origin]:
    """Latest origin first: the last `horizon` values, then one `step` earlier, and so on."""
    step = step or horizon
    return [Origin(horizon + k * step, horizon) for k in range(n_origins)]


@dataclass
class Backtest:
    """Actual values, MASE scales and every model's forecasts, one row per (origin, series)."""

    origins: list[Origin]
    actual: np.ndarray
    scale: np.ndarray
    forecasts: dict[str, np.ndarray]

    @classmethod
    def prepare(cls, data: SeriesSet, origins: list[Origin], season: int) -> Backtest:
        actual, scale = [], []
        for origin in origins:
            history, actuals = origin.split(data)
            actual += actuals
            scale += [mase_scale(y, season) for y in history.values]
        return cls(origins, np.array(actual), np.array(scale), {})

    def run(self, data: SeriesSet, forecast: Forecast, deadline: float | None = None):
        """Forecasts of one model at every origin, given only the history before each origin.

        None when the model would pass `deadline` (a time.monotonic() value): projected from
        the origins done so far, counting one more run for the refit on all the data.
        """
        import time

        rows, started = [], time.monotonic()
        for k, origin in enumerate(self.origins):
            if deadline is not None:
                per_origin = (time.monotonic() - started) / max(k, 1)
                if time.monotonic() + per_origin * (len(self.origins) - k + 1) > deadline:
                    return None
            history, _ = origin.split(data)
            rows += [np.asarray(f, float) for f in forecast(history)]
        return np.array(rows)

    def errors(self, forecast: np.ndarray) -> tuple[float, float]:
        """Pooled sMAPE and MASE of a forecast matrix (rows as `actual`)."""
        return _errors(self.actual, forecast, self.scale)

    def relative_error(self, forecast: np.ndarray, reference: str = "naive2") -> float:
        """OWA-like: mean of sMAPE and MASE, each relative to the reference model's."""
        return _relative(self.errors(forecast), self.errors(self.forecasts[reference]))


def _errors(actual: np.ndarray, forecast: np.ndarray, scale: np.ndarray) -> tuple[float, float]:
    absolute = np.abs(actual - forecast)
    total = np.abs(actual) + np.abs(forecast)
    smape = np.divide(200.0 * absolute, total, out=np.zeros_like(total), where=total > 0)
    return float(np.mean(smape)), float(np.mean(np.mean(absolute, axis=1) / scale))


def _relative(errors: tuple[float, float], reference: tuple[float, float]) -> float:
    return 0.5 * (errors[0] / max(reference[0], 1e-12) + errors[1] / max(reference[1], 1e-12))


def select_ensemble(backtest: Backtest, n_iterations: int = 25) -> dict[str, float]:
    """Caruana-style greedy selection with replacement on the backtest forecasts: add the model
    that most lowers the OWA-like error of the average, keep the best prefix of the steps."""
    names = list(backtest.forecasts)
    reference = backtest.errors(backtest.forecasts["naive2"])
    total = np.zeros_like(backtest.actual, dtype=float)
    picks, best_loss, best_n = [], np.inf, 0
    for step in range(1, n_iterations + 1):
        losses = [
            _relative(backtest.errors((total + backtest.forecasts[n]) / step), reference)
            for n in names
        ]
        choice = int(np.argmin(losses))
        picks.append(names[choice])
        total += backtest.forecasts[names[choice]]
        if losses[choice] < best_loss - 1e-12:
            best_loss, best_n = losses[choice], step
    chosen = picks[:best_n]
    return {n: chosen.count(n) / len(chosen) for n in dict.fromkeys(chosen)}

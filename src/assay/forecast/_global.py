"""One LightGBM model over all series (a "global" model), recursive or direct multi-step.

Each training row is a window of one series ending at a cutoff. The window is divided by its
own recent mean (`scale_window` values), so series of any scale share one model, and the
target is the ratio of the future value to the seasonal-naive value for it (a log ratio when
the data are positive). A tree predicting 0 thus reproduces the seasonal naive exactly, which
matters for the near-periodic series where MASE is harsh. Features are lags, rolling means
and deviations, seasonal anchors and, with timestamps, calendar fields of the target time.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from enum import Enum
from typing import Any

import numpy as np

from assay.forecast._data import SeriesSet
from assay.forecast._metrics import acf
from assay.log import get_logger

logger = get_logger(__name__)

# Longer cycles worth a look for each season: a week of hours, a year of weeks or days.
_RELATED_PERIODS = {1: (7, 12, 24, 52), 7: (365,), 24: (168,)}
_PARAMS = {
    "objective": "l1",  # on log ratios: what sMAPE measures (|log(f/y)| for small errors)
    "learning_rate": 0.1,
    "num_leaves": 63,
    "min_data_in_leaf": 50,
    "feature_fraction": 0.8,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "verbose": -1,
}


class Strategy(str, Enum):
    RECURSIVE = "recursive"  # one-step model fed its own forecasts
    DIRECT = "direct"  # the step is a feature: one model, every step from the cutoff


def detect_periods(series: list[np.ndarray], season: int, min_share: float = 0.25) -> list[int]:
    """Cycles longer than `season` that M4's 90% autocorrelation test finds (on seasonal
    differences) in at least `min_share` of the series long enough to show them."""
    found = []
    for period in _RELATED_PERIODS.get(season, ()):
        passed = []
        for y in series:
            d = y[season:] - y[:-season]
            if len(d) < 3 * period:
                continue
            r = acf(d, period)
            limit = 1.645 * np.sqrt((1 + 2 * np.sum(r[: period - 1] ** 2)) / len(d))
            passed.append(r[period - 1] > limit)
        if len(passed) >= max(3, 0.1 * len(series)) and np.mean(passed) >= min_share:
            found.append(period)
    return found


@dataclass(frozen=True)
class FeatureSpec:
    """What a row sees. Lag k is the value k steps before the cutoff (lag 0 the cutoff)."""

    horizon: int
    season: int
    periods: tuple[int, ...]
    lags: tuple[int, ...]
    windows: tuple[int, ...]
    scale_window: int
    log_target: bool
    freq: str | None = None

    @classmethod
    def build(
        cls, horizon: int, season: int, periods: list[int], log_target: bool, freq: str | None
    ) -> FeatureSpec:
        """Two seasons of recent lags, plus the same phase as the next value up to 7 cycles
        back (a week of days for hourly data); yearly cycles (52.18 weeks, 365.25 days) also
        get the neighbouring lags, as the phase drifts."""
        cycles = sorted({p for p in (season, *periods) if p > 1})
        lags = set(range(max(2 * season, 14)))
        for period in cycles:
            for k in range(1, max(2, min(7, 168 // period)) + 1):
                lags |= {k * period - 1} | ({k * period - 2, k * period} if period >= 52 else set())
        windows = sorted({4, horizon, *cycles})
        return cls(
            horizon,
            season,
            tuple(cycles),
            tuple(sorted(lags)),
            tuple(windows),
            season if season > 1 else horizon,
            log_target,
            freq,
        )

    @property
    def lookback(self) -> int:
        return max(max(self.lags), max(self.windows), *(2 * p for p in self.periods)) + 1


def cutoff_windows(y: np.ndarray, cutoffs: np.ndarray, length: int) -> np.ndarray:
    """Rows of the `length` values ending at each cutoff (inclusive), NaN before the start.
    Reads nothing after a cutoff: this is where leakage would enter, and it cannot."""
    index = np.asarray(cutoffs)[:, None] - np.arange(length - 1, -1, -1)[None, :]
    return np.where(index >= 0, np.asarray(y, float)[np.clip(index, 0, None)], np.nan)


def _to_model_scale(spec: FeatureSpec, values: np.ndarray, scale: np.ndarray) -> np.ndarray:
    ratio = values / scale[:, None]
    return np.log(np.clip(ratio, 1e-6, None)) if spec.log_target else ratio


def window_features(spec: FeatureSpec, windows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lags, rolling means and deviations of each window, divided by its recent mean."""
    recent = windows[:, -spec.scale_window :]
    scale = np.nanmean(np.abs(recent), axis=1)
    scale = np.where(np.isfinite(scale) & (scale > 0), scale, 1.0)
    z = _to_model_scale(spec, windows, scale)
    columns = [z[:, -1 - k] for k in spec.lags]
    for width in spec.windows:
        part = z[:, -width:]
        count = np.sum(~np.isnan(part), axis=1)
        mean = np.nansum(part, axis=1) / np.maximum(count, 1)
        spread = np.sqrt(np.nansum((part - mean[:, None]) ** 2, axis=1) / np.maximum(count, 1))
        columns += [np.where(count > 0, mean, np.nan), np.where(count > 1, spread, np.nan)]
    return np.column_stack(columns), scale


def _back(period: int, steps: np.ndarray) -> np.ndarray:
    """Offset from the cutoff to the latest value in the same phase as cutoff + step."""
    return period * np.ceil(steps / period).astype(int) - steps


def anchors(spec: FeatureSpec, windows: np.ndarray, steps: np.ndarray) -> np.ndarray:
    """Seasonal-naive value for each (row, step): what the model's target is relative to."""
    return windows[:, -1 - _back(max(spec.season, 1), steps)]


def step_features(spec: FeatureSpec, windows: np.ndarray, scale: np.ndarray, steps: np.ndarray):
    """Per (row, step): the step and the same-phase values one and two cycles back."""
    columns = [np.broadcast_to(steps, (len(windows), len(steps)))]
    for period in spec.periods:
        for cycle in (0, 1):
            back = np.minimum(_back(period, steps) + cycle * period, windows.shape[1] - 1)
            columns.append(_to_model_scale(spec, windows[:, -1 - back], scale))
    return np.stack(columns, axis=-1)  # rows x steps x features


def calendar(times, freq: str | None) -> np.ndarray:
    """Calendar fields of timestamps that can vary at this frequency (none without times)."""
    import pandas as pd

    if times is None or freq is None:
        return np.empty((0 if times is None else len(times), 0))
    times = pd.DatetimeIndex(times)
    code = pd.tseries.frequencies.to_offset(freq).rule_code.upper()
    fields = [times.month, times.quarter]
    if not code.startswith(("Q", "Y", "A")):
        fields.append(times.isocalendar().week.to_numpy())
    if code.startswith(("D", "B", "H", "T", "MIN", "S", "C")):
        fields += [times.day_of_week, times.day, times.day_of_year]
    if code.startswith(("H", "T", "MIN", "S")):
        fields.append(times.hour)
    return np.column_stack([np.asarray(f, float) for f in fields])


class _Deadline:
    """A lightgbm callback that stops boosting at `stop_at` (time.monotonic()); lightgbm
    runs callbacks in the order of their `order` attribute."""

    order = 40

    def __init__(self, stop_at: float) -> None:
        self.stop_at = stop_at

    def __call__(self, env: Any) -> None:
        import lightgbm as lgb

        if time.monotonic() > self.stop_at:
            raise lgb.callback.EarlyStopException(env.iteration, [])


class GlobalLightGBM:
    """One LightGBM model for every series. `time_limit_s` caps a fit: boosting stops early
    (keeping the trees so far) rather than overrun; `max_rows` caps memory and time."""

    def __init__(
        self,
        horizon: int,
        season: int = 1,
        strategy: Strategy | str = Strategy.RECURSIVE,
        periods: list[int] | None = None,
        n_rounds: int = 300,
        max_rows: int = 250_000,
        steps_per_cutoff: int = 4,
        n_jobs: int = 2,
        random_state: int = 0,
        params: dict | None = None,
    ):
        self.horizon = horizon
        self.season = season
        self.strategy = Strategy(strategy)
        self.periods = periods
        self.n_rounds = n_rounds
        self.max_rows = max_rows
        self.steps_per_cutoff = steps_per_cutoff
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.params = params

    def _steps_per_row(self) -> int:
        return (
            1 if self.strategy is Strategy.RECURSIVE else min(self.steps_per_cutoff, self.horizon)
        )

    def _features(self, windows: np.ndarray, steps: np.ndarray, dates: np.ndarray | None):
        """Rows for (window, step) pairs: `steps` is windows x k (each >= 1), `dates` the
        calendar fields of each pair's target time (None without timestamps)."""
        spec = self.spec_
        base, scale = window_features(spec, windows)
        n, k = steps.shape
        parts = [np.repeat(base, k, axis=0)]
        if self.strategy is Strategy.DIRECT:
            every = step_features(spec, windows, scale, np.arange(1, self.horizon + 1))
            parts.append(every[np.arange(n)[:, None], steps - 1].reshape(n * k, -1))
        if dates is not None:
            parts.append(dates)
        anchor = windows[np.arange(n)[:, None], -1 - _back(max(spec.season, 1), steps)]
        anchor = np.where(np.isnan(anchor), windows[:, -1:], anchor)  # shorter than a season
        return np.hstack(parts).astype(np.float32), anchor, scale

    def _dates(self, data: SeriesSet, i: int, positions: np.ndarray) -> np.ndarray | None:
        return None if data.starts is None else self._calendar(data, i, positions)

    def _calendar(self, data: SeriesSet, i: int, positions: np.ndarray) -> np.ndarray:
        times = data.times(i, 0, int(positions.max()) + 1)
        return calendar(times[positions], self.spec_.freq)

    def design(self, data: SeriesSet, i: int, cutoffs: np.ndarray) -> np.ndarray:
        """Feature rows of series i for every step the model forecasts after each cutoff
        (a cutoff is the index of the last value seen)."""
        cutoffs = np.asarray(cutoffs)
        n_ahead = 1 if self.strategy is Strategy.RECURSIVE else self.horizon
        steps = np.tile(np.arange(1, n_ahead + 1), (len(cutoffs), 1))
        windows = cutoff_windows(data.values[i], cutoffs, self.spec_.lookback)
        return self._features(
            windows, steps, self._dates(data, i, (cutoffs[:, None] + steps).ravel())
        )[0]

    def _target(self, future: np.ndarray, anchor: np.ndarray, scale: np.ndarray) -> np.ndarray:
        if self.spec_.log_target:
            return np.log(np.clip(future, 1e-9, None) / np.clip(anchor, 1e-9, None))
        return (future - anchor) / scale[:, None]

    def _invert(self, pred: np.ndarray, anchor: np.ndarray, scale: np.ndarray) -> np.ndarray:
        pred = np.clip(pred, *self.target_range_)
        if self.spec_.log_target:
            return anchor * np.exp(pred)
        return anchor + pred * scale[:, None]

    def fit(self, data: SeriesSet, time_limit_s: float | None = None) -> GlobalLightGBM:
        import lightgbm as lgb

        start = time.monotonic()
        rng = np.random.default_rng(self.random_state)
        periods = self.periods
        if periods is None:
            periods = detect_periods(data.values, self.season)
        positive = all(np.min(y) > 0 for y in data.values)
        self.spec_ = FeatureSpec.build(self.horizon, self.season, periods, positive, data.freq)
        n_ahead = 1 if self.strategy is Strategy.RECURSIVE else self.horizon
        k = self._steps_per_row()
        per_series = max(8, self.max_rows // (k * len(data.values)))
        features, targets = [], []
        for i, y in enumerate(data.values):
            first = max(self.spec_.scale_window, self.season) - 1
            cutoffs = np.arange(first, len(y) - n_ahead)
            if len(cutoffs) == 0:
                continue
            if len(cutoffs) > per_series:
                cutoffs = np.sort(rng.choice(cutoffs, per_series, replace=False))
            steps = np.argsort(rng.random((len(cutoffs), n_ahead)), axis=1)[:, :k] + 1
            windows = cutoff_windows(y, cutoffs, self.spec_.lookback)
            dates = self._dates(data, i, (cutoffs[:, None] + steps).ravel())
            x, anchor, scale = self._features(windows, steps, dates)
            features.append(x)
            targets.append(self._target(y[cutoffs[:, None] + steps], anchor, scale).ravel())
        if not features:
            raise ValueError("no series is long enough for a training window")
        x, target = np.vstack(features), np.concatenate(targets)
        keep = np.isfinite(target)
        x, target = x[keep], target[keep]
        self.target_range_ = (float(target.min()), float(target.max()))
        self.non_negative_ = all(np.min(y) >= 0 for y in data.values)
        params = {**_PARAMS, **(self.params or {}), "num_threads": self.n_jobs}
        params["seed"] = self.random_state
        callbacks: list[Callable[..., Any]] = []
        if time_limit_s is not None:
            callbacks.append(_Deadline(start + time_limit_s))
        self.booster_ = lgb.train(
            params, lgb.Dataset(x, target), num_boost_round=self.n_rounds, callbacks=callbacks
        )
        self.n_rows_ = len(target)
        self.fit_s_ = time.monotonic() - start
        logger.info(
            "global %s: %d rows, %d features, %d trees in %.1fs",
            self.strategy.value,
            len(target),
            x.shape[1],
            self.booster_.current_iteration(),
            self.fit_s_,
        )
        return self

    def state(self) -> dict:
        """Everything a fitted model needs to forecast, except the booster (saved natively)."""
        return {
            "horizon": self.horizon,
            "season": self.season,
            "strategy": self.strategy.value,
            "spec": asdict(self.spec_),
            "target_range": list(self.target_range_),
            "non_negative": self.non_negative_,
            "fit_s": self.fit_s_,
        }

    @classmethod
    def from_state(cls, state: dict, booster_text: str) -> GlobalLightGBM:
        import lightgbm as lgb

        model = cls(state["horizon"], state["season"], state["strategy"])
        spec = state["spec"]
        lists = {k: tuple(spec[k]) for k in ("periods", "lags", "windows")}
        model.spec_ = FeatureSpec(**{**spec, **lists})
        model.target_range_ = tuple(state["target_range"])
        model.non_negative_ = state["non_negative"]
        model.fit_s_ = state["fit_s"]
        model.booster_ = lgb.Booster(model_str=booster_text)
        return model

    def predict(self, data: SeriesSet) -> list[np.ndarray]:
        """Forecast `horizon` steps after the end of each series in `data`."""
        h, lookback = self.horizon, self.spec_.lookback
        windows = np.vstack(
            [cutoff_windows(y, np.array([len(y) - 1]), lookback) for y in data.values]
        )
        dates: np.ndarray | None = None
        if data.starts is not None:  # calendar of each future step, series x steps x fields
            dates = np.stack(
                [self._calendar(data, i, np.arange(n, n + h)) for i, n in enumerate(data.lengths)]
            )
        if self.strategy is Strategy.DIRECT:
            steps = np.tile(np.arange(1, h + 1), (len(windows), 1))
            flat = None if dates is None else dates.reshape(len(windows) * h, -1)
            x, anchor, scale = self._features(windows, steps, flat)
            raw = np.asarray(self.booster_.predict(x))  # lightgbm types it also as sparse
            out = self._invert(raw.reshape(-1, h), anchor, scale)
        else:
            out = np.empty((len(windows), h))
            one = np.ones((len(windows), 1), dtype=int)
            for j in range(h):
                x, anchor, scale = self._features(
                    windows, one, None if dates is None else dates[:, j]
                )
                raw = np.asarray(self.booster_.predict(x))
                out[:, j] = self._invert(raw[:, None], anchor, scale)[:, 0]
                windows = np.column_stack([windows[:, 1:], out[:, j]])
        if self.non_negative_:
            out = np.maximum(out, 0.0)
        return list(out)

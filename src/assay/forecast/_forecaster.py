"""The forecasting orchestrator: backtest every candidate on rolling origins, choose an
ensemble on those backtests, refit its members on all the data and forecast."""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import asdict, dataclass
from enum import Enum
from pathlib import Path

import numpy as np
import pandas as pd

from assay.errors import ArtifactError, ConfigError, DataError, NotFittedError
from assay.forecast._backtest import Backtest, rolling_origins, select_ensemble
from assay.forecast._baselines import forecast_baseline
from assay.forecast._data import SeriesSet, check_horizon, read_long
from assay.forecast._global import GlobalLightGBM, Strategy
from assay.forecast._intervals import backtest_errors, bounds, check_levels, interval_bands
from assay.forecast._metrics import (
    IntervalScores,
    Scores,
    mase_scale,
    score,
    score_intervals,
    with_owa,
)
from assay.log import get_logger

logger = get_logger(__name__)

# Seasons by frequency, as M4 uses them (weekly data count as non-seasonal).
_SEASONS = {"H": 24, "D": 7, "B": 5, "W": 1, "M": 12, "Q": 4}


class Model(str, Enum):
    NAIVE = "naive"
    SEASONAL_NAIVE = "snaive"
    NAIVE2 = "naive2"
    SES = "ses"
    DAMPED = "damped"
    THETA = "theta"
    LGBM_DIRECT = "lgbm_direct"
    LGBM_RECURSIVE = "lgbm_recursive"

    @property
    def is_global(self) -> bool:
        return self in (Model.LGBM_DIRECT, Model.LGBM_RECURSIVE)


DEFAULT_MODELS = tuple(Model)  # cheap first: what the budget drops are the slow ones


class DropReason(str, Enum):
    TIME_LIMIT = "time limit"
    FAILED = "failed"


@dataclass(frozen=True)
class Dropped:
    """A candidate left out of the ensemble, and why. `n_origins_done`: the backtest origins
    it forecast before it was dropped (for the time limit: 0 when its turn came after the
    deadline, more when its remaining origins and refit were projected to pass it);
    `left_s`: the time left of the budget when its turn came (negative once past the
    deadline, None without a limit); `error`: what a failed candidate raised."""

    reason: DropReason
    n_origins_done: int
    left_s: float | None
    error: str = ""

    @property
    def status(self) -> str:
        """The leaderboard's status column."""
        if self.reason is DropReason.TIME_LIMIT:
            return "skipped: time limit"
        return f"failed: {self.error}"


def infer_season(freq: str | None) -> int:
    """M4's season for a pandas frequency (hourly 24, daily 7, weekly 1, monthly 12,
    quarterly 4); 1 when unknown."""
    if not freq:
        return 1
    code = pd.tseries.frequencies.to_offset(freq).rule_code.upper()
    return next((s for prefix, s in _SEASONS.items() if code.startswith(prefix)), 1)


class Forecaster:
    """Forecasts `horizon` steps of many series with the ensemble that backtests best.

    `time_limit_s` covers the whole fit: the global models get a share of what is left per
    fit and stop boosting at it; candidates that cannot finish their backtests are dropped,
    and `dropped_` records which and why (as does the leaderboard's status column).

    Prediction intervals (`predict(levels=...)`) come from `errors_`: the ensemble's
    out-of-sample backtest errors, one row per (origin, series), one column per step, each
    divided by its series' MASE scale (see assay.forecast._intervals).
    """

    errors_: np.ndarray | None  # None only when loaded from a save of an older version

    def __init__(
        self,
        horizon: int,
        season: int | None = None,
        time_limit_s: float | None = None,
        models: list[str] | None = None,
        random_state: int = 0,
        n_origins: int | None = None,
        n_jobs: int = 2,
    ):
        self.horizon = horizon
        self.season = season
        self.time_limit_s = time_limit_s
        self.models = models
        self.random_state = random_state
        self.n_origins = n_origins
        self.n_jobs = n_jobs

    def _candidates(self) -> list[Model]:
        if self.models is None:
            return list(DEFAULT_MODELS)
        try:
            chosen = [Model(str(m).strip().lower()) for m in self.models]
        except ValueError as exc:
            names = ", ".join(m.value for m in Model)
            raise ConfigError(
                f"Unknown forecasting model in models: {exc}. Known: {names}."
            ) from None
        return [Model.NAIVE2, *[m for m in chosen if m is not Model.NAIVE2]]  # OWA needs it

    def _check(self) -> None:
        if not isinstance(self.horizon, (int, np.integer)) or self.horizon < 1:
            raise ConfigError(f"horizon must be a positive integer, got {self.horizon!r}.")
        if self.season is not None and self.season < 1:
            raise ConfigError(f"season must be a positive integer, got {self.season!r}.")
        if self.time_limit_s is not None and self.time_limit_s <= 0:
            raise ConfigError(f"time_limit_s must be positive, got {self.time_limit_s!r}.")

    def _global_model(self, model: Model) -> GlobalLightGBM:
        strategy = Strategy.DIRECT if model is Model.LGBM_DIRECT else Strategy.RECURSIVE
        return GlobalLightGBM(
            self.horizon,
            self.season_,
            strategy,
            n_jobs=self.n_jobs,
            random_state=self.random_state,
        )

    def _runner(self, model: Model, fit_limit_s: float | None, latest: dict, done: list):
        """history -> forecasts; a global model's fit at the latest origin is kept in
        `latest` (backtests run latest origin first); each origin forecast adds to `done`."""

        def run(history: SeriesSet) -> list[np.ndarray]:
            if not model.is_global:
                forecasts = forecast_baseline(
                    model.value, history.values, self.horizon, self.season_
                )
            else:
                fitted = self._global_model(model).fit(history, time_limit_s=fit_limit_s)
                latest.setdefault(model, fitted)
                forecasts = fitted.predict(history)
            done.append(model)
            return forecasts

        return run

    def fit(
        self,
        data: SeriesSet | pd.DataFrame | str | os.PathLike[str],
        time: str | None = None,
        target: str | None = None,
        id: str | None = None,
    ) -> Forecaster:
        """`data`: a SeriesSet (see read_wide) or long data with `time`, `target` and `id`."""
        started = _now()
        self._check()
        data = _as_series(data, time, target, id)
        check_horizon(data, self.horizon)
        self.data_ = data
        self.season_ = self.season or infer_season(data.freq)
        deadline = started + self.time_limit_s if self.time_limit_s else math.inf
        latest: dict[Model, GlobalLightGBM] = {}
        self.backtest_, rows = self._backtest_all(data, deadline, latest)
        self.weights_ = select_ensemble(self.backtest_)
        self.errors_ = backtest_errors(self.backtest_, self.weights_, _non_negative(data))
        self.leaderboard_ = self._leaderboard(rows)
        self.members_ = self._refit(data, deadline, latest)
        self.forecasts_ = self._combine(data)
        self.fit_s_ = _now() - started
        return self

    def _backtest_all(self, data: SeriesSet, deadline: float, latest: dict):
        """Every candidate on every origin, cheap ones first; one failing is recorded, not
        raised. Each global fit gets an even share of the time left for the global fits."""
        n_origins = self.n_origins or (3 if self.horizon <= 24 else 2)
        backtest = Backtest.prepare(data, rolling_origins(self.horizon, n_origins), self.season_)
        rows, candidates = [], self._candidates()
        self.dropped_: dict[str, Dropped] = {}
        for i, model in enumerate(candidates):
            began = _now()
            n_fits = sum(m.is_global for m in candidates[i:]) * (n_origins + 1)
            limit = (deadline - began) / n_fits if model.is_global else None
            left_s = None if math.isinf(deadline) else deadline - began
            done: list[Model] = []
            try:
                stop = None if model is Model.NAIVE2 else deadline  # the reference always runs
                run = self._runner(model, limit, latest, done)
                forecasts = backtest.run(data, run, deadline=stop)
                if forecasts is None:
                    self.dropped_[model.value] = Dropped(DropReason.TIME_LIMIT, len(done), left_s)
                else:
                    backtest.forecasts[model.value] = forecasts
            except (ValueError, FloatingPointError, np.linalg.LinAlgError) as exc:
                failed = Dropped(DropReason.FAILED, len(done), left_s, str(exc))
                self.dropped_[model.value] = failed
                logger.warning("%s failed in backtest: %s", model.value, exc)
            status = self.dropped_[model.value].status if model.value in self.dropped_ else "ok"
            rows.append((model.value, _now() - began, status))
            logger.info("%s backtested in %.1fs (%s)", model.value, _now() - began, status)
        return backtest, rows

    def _leaderboard(self, rows: list[tuple[str, float, str]]) -> pd.DataFrame:
        records = []
        for name, seconds, status in rows:
            scores = (math.nan, math.nan, math.nan)
            if name in self.backtest_.forecasts:
                forecast = self.backtest_.forecasts[name]
                scores = (*self.backtest_.errors(forecast), self.backtest_.relative_error(forecast))
            weight = self.weights_.get(name, 0.0)
            records.append((name, *scores, weight, seconds, status))
        columns = ["model", "smape", "mase", "owa", "weight", "backtest_s", "status"]
        return pd.DataFrame(records, columns=columns).sort_values("owa", na_position="last")

    def _refit(self, data: SeriesSet, deadline: float, latest: dict) -> dict[str, GlobalLightGBM]:
        """Global members refitted on all the data; one too slow to refit in what is left of
        the budget keeps its fit at the latest origin (older data, so nothing leaks). The
        statistical members refit on every forecast, being per-series and quick."""
        members = {}
        for name in self.weights_:
            model = Model(name)
            if model.is_global:
                fitted = latest[model]
                if _now() + fitted.fit_s_ < deadline:
                    fitted = self._global_model(model).fit(data)
                else:
                    logger.info("%s: no time to refit, using its latest-origin fit", name)
                members[name] = fitted
        return members

    def _combine(self, data: SeriesSet) -> np.ndarray:
        total = np.zeros((len(data.values), self.horizon))
        for name, weight in self.weights_.items():
            if name in self.members_:
                forecast = self.members_[name].predict(data)
            else:
                forecast = forecast_baseline(name, data.values, self.horizon, self.season_)
            total += weight * np.array(forecast)
        if _non_negative(data):
            total = np.maximum(total, 0.0)
        return total

    def _check_fitted(self) -> None:
        if not hasattr(self, "forecasts_"):
            raise NotFittedError("This Forecaster is not fitted yet: call fit(data, ...) first.")

    def score(self, actual: SeriesSet, where: str = "the test data") -> Scores:
        """sMAPE, MASE and OWA (against Naive2 on the same data) of the forecasts, given the
        next `horizon` values of every series (matched by id)."""
        self._check_fitted()
        history, truth = self.data_.values, self._truth(actual, where)
        naive2 = forecast_baseline("naive2", history, self.horizon, self.season_)
        reference = score(history, truth, naive2, self.season_)
        return with_owa(score(history, truth, list(self.forecasts_), self.season_), reference)

    def score_intervals(
        self, actual: SeriesSet, level: float = 95.0, where: str = "the test data"
    ) -> IntervalScores:
        """Coverage and MSIS (M4's definitions) of the `level`% intervals of the forecasts,
        given the next `horizon` values of every series (matched by id)."""
        self._check_fitted()
        (level,) = check_levels([level], "level=", example="level=95")
        truth = self._truth(actual, where)
        lower, upper = self._bounds(self.data_, self.forecasts_, [level])[level]
        return score_intervals(
            self.data_.values, truth, list(lower), list(upper), self.season_, level
        )

    def _truth(self, actual: SeriesSet, where: str) -> list[np.ndarray]:
        """The next `horizon` actual values of every fitted series, in fit order."""
        by_id = dict(zip(actual.ids, actual.values, strict=True))
        missing = [i for i in self.data_.ids if i not in by_id]
        short = [i for i in self.data_.ids if i in by_id and len(by_id[i]) < self.horizon]
        if missing or short:
            which = missing or short
            problem = (
                "has no values for" if missing else f"has fewer than {self.horizon} values for"
            )
            raise DataError(
                f"{where} {problem} {len(which)} series, first {which[0]!r}. Give the next "
                f"{self.horizon} values of every series the forecaster was fitted on."
            )
        return [by_id[i][: self.horizon] for i in self.data_.ids]

    def _bounds(self, data: SeriesSet, forecasts: np.ndarray, levels: list[float]) -> dict:
        """level -> (lower, upper), series x steps, each series' band scaled by its history's
        MASE scale."""
        if self.errors_ is None:
            raise ArtifactError(
                "This forecaster was saved without backtest errors (an older version of "
                "assay), so it has no prediction intervals. Refit it to get them."
            )
        scales = np.array([mase_scale(y, self.season_) for y in data.values])
        non_negative = _non_negative(data)
        return {
            band.level: bounds(forecasts, scales, band, non_negative)
            for band in interval_bands(self.errors_, levels)
        }

    def predict(
        self,
        data: SeriesSet | pd.DataFrame | str | os.PathLike[str] | None = None,
        time: str | None = None,
        target: str | None = None,
        id: str | None = None,
        levels: list[float] | None = None,
    ) -> pd.DataFrame:
        """Long forecasts: id, step (1..horizon), time when the data have timestamps, forecast,
        then for each of `levels` (percent, ascending) its bounds `lo_<L>` and `hi_<L>`:
        `levels=[80, 95]` adds lo_80, hi_80, lo_95, hi_95 (97.5 gives lo_97.5).

        Without `data`, the forecasts made at fit; with it (newer history, same layout as
        fit), the fitted ensemble forecasts from the end of each series given.

        Bounds are conformal: the point forecast plus the series' MASE scale times the
        quantiles of the ensemble's scaled backtest errors at that step. A level needs
        max(10, ceil(200/(100 - L)) - 1) errors per step (39 at 95%): with fewer backtest rows
        (origins x series) the errors of all steps are pooled, standardized by how their
        spread grows with the step, and with fewer still in all the band is a Student-t one
        from their root mean square (wider, as it should be with little evidence).
        lo <= forecast <= hi always, lo >= 0 when the data never go below 0, and a higher
        level's band contains a lower one's.
        """
        self._check_fitted()
        if levels is not None:
            levels = check_levels(levels, "levels=")
        if data is None:
            data, forecasts = self.data_, self.forecasts_
        else:
            data = _as_series(data, time, target, id)
            forecasts = self._combine(data)
        h = self.horizon
        frame = pd.DataFrame(
            {
                "id": np.repeat(data.ids, h),
                "step": np.tile(np.arange(1, h + 1), len(data.ids)),
                "forecast": forecasts.ravel(),
            }
        )
        if data.starts is not None:
            times = [data.times(i, n, n + h) for i, n in enumerate(data.lengths)]
            frame.insert(2, "time", np.concatenate([t.to_numpy() for t in times]))
        if levels:
            for level, (lower, upper) in self._bounds(data, forecasts, levels).items():
                frame[f"lo_{level:g}"] = lower.ravel()
                frame[f"hi_{level:g}"] = upper.ravel()
        return frame

    def save(self, path: str | os.PathLike[str]) -> Path:
        """A folder with forecaster.json (settings, ensemble, data, forecasts, the backtest
        errors intervals come from) and one native LightGBM text file per global member."""
        self._check_fitted()
        folder = Path(path)
        folder.mkdir(parents=True, exist_ok=True)
        members = {}
        for name, model in self.members_.items():
            model.booster_.save_model(str(folder / f"{name}.txt"))
            members[name] = model.state()
        data = self.data_
        board = self.leaderboard_.astype(object).where(self.leaderboard_.notna(), None)
        manifest = {
            "format": _FORMAT,
            "params": {k: getattr(self, k) for k in _PARAMS},
            "season": self.season_,
            "weights": self.weights_,
            "fit_s": self.fit_s_,
            "leaderboard": board.to_dict(orient="records"),
            "dropped": {
                name: {**asdict(d), "reason": d.reason.value} for name, d in self.dropped_.items()
            },
            "members": members,
            "data": {
                "ids": data.ids,
                "values": [v.tolist() for v in data.values],
                "starts": None if data.starts is None else [str(t) for t in data.starts],
                "freq": data.freq,
            },
            "forecasts": self.forecasts_.tolist(),
            # the prediction intervals' backtest errors
            "errors": None if self.errors_ is None else self.errors_.tolist(),
        }
        (folder / "forecaster.json").write_text(json.dumps(manifest))
        return folder

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Forecaster:
        """A forecaster saved by `save`: predict() and score() work as after fit."""
        folder = Path(path)
        try:
            manifest = json.loads((folder / "forecaster.json").read_text())
            if manifest.get("format") != _FORMAT:
                raise ValueError(f"format {manifest.get('format')!r}, expected {_FORMAT}")
            members = {
                name: GlobalLightGBM.from_state(state, (folder / f"{name}.txt").read_text())
                for name, state in manifest["members"].items()
            }
        except (OSError, ValueError, KeyError) as exc:
            raise ArtifactError(
                f"Cannot load a forecaster from '{folder}': {exc}. Give a folder written by "
                "Forecaster.save, from this version of assay."
            ) from exc
        forecaster = cls(**manifest["params"])
        stored = manifest["data"]
        starts = None if stored["starts"] is None else [pd.Timestamp(t) for t in stored["starts"]]
        values = [np.array(v, float) for v in stored["values"]]
        forecaster.data_ = SeriesSet(stored["ids"], values, starts, stored["freq"])
        forecaster.season_ = manifest["season"]
        forecaster.weights_ = manifest["weights"]
        forecaster.fit_s_ = manifest["fit_s"]
        forecaster.leaderboard_ = pd.DataFrame(manifest["leaderboard"])
        forecaster.dropped_ = {
            name: Dropped(**{**d, "reason": DropReason(d["reason"])})
            for name, d in manifest.get("dropped", {}).items()  # none in older saves
        }
        forecaster.members_ = members
        forecaster.forecasts_ = np.array(manifest["forecasts"], float)
        errors = manifest.get("errors")  # none in older saves: no intervals
        if errors is not None:
            errors = np.array(errors, float).reshape(-1, forecaster.horizon)
        forecaster.errors_ = errors
        return forecaster


_FORMAT = 1
_PARAMS = ("horizon", "season", "time_limit_s", "models", "random_state", "n_origins", "n_jobs")


def _now() -> float:
    return time.monotonic()


def _non_negative(data: SeriesSet) -> bool:
    """Data that never go below 0 get forecasts (and lower bounds) clipped at 0."""
    return all(np.min(y) >= 0 for y in data.values)


def _as_series(data, time: str | None, target: str | None, id: str | None) -> SeriesSet:
    if isinstance(data, SeriesSet):
        return data
    if time is None or target is None:
        raise ConfigError(
            "Long data needs the time and target column names: fit(data, time=..., "
            "target=...) or --time and --target."
        )
    return read_long(data, time, target, id)

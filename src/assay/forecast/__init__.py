"""Time-series forecasting: M4 metrics, statistical baselines, a global LightGBM model and
an orchestrator that backtests them on rolling origins, ensembles the best and gives
prediction intervals from the backtest errors."""

from assay.forecast._backtest import Backtest, Origin, rolling_origins, select_ensemble
from assay.forecast._baselines import Baseline, forecast_baseline
from assay.forecast._data import SeriesSet, from_long, read_long, read_wide
from assay.forecast._forecaster import Dropped, DropReason, Forecaster, Model, infer_season
from assay.forecast._global import GlobalLightGBM, Strategy, cutoff_windows
from assay.forecast._intervals import Band, IntervalMethod, check_levels, interval_bands
from assay.forecast._metrics import (
    IntervalScores,
    Scores,
    coverage,
    is_seasonal,
    mase,
    msis,
    owa,
    score,
    score_intervals,
    smape,
    with_owa,
)

__all__ = [
    "Backtest",
    "Band",
    "Baseline",
    "DropReason",
    "Dropped",
    "Forecaster",
    "GlobalLightGBM",
    "IntervalMethod",
    "IntervalScores",
    "Model",
    "Origin",
    "Scores",
    "SeriesSet",
    "Strategy",
    "check_levels",
    "coverage",
    "cutoff_windows",
    "forecast_baseline",
    "from_long",
    "infer_season",
    "interval_bands",
    "is_seasonal",
    "mase",
    "msis",
    "owa",
    "read_long",
    "read_wide",
    "rolling_origins",
    "score",
    "score_intervals",
    "select_ensemble",
    "smape",
    "with_owa",
]

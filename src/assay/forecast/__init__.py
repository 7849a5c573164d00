"""Time-series forecasting: M4 metrics, statistical baselines, a global LightGBM model and
an orchestrator that backtests them on rolling origins and ensembles the best."""

from assay.forecast._backtest import Backtest, Origin, rolling_origins, select_ensemble
from assay.forecast._baselines import Baseline, forecast_baseline
from assay.forecast._data import SeriesSet, from_long, read_long, read_wide
from assay.forecast._forecaster import Dropped, DropReason, Forecaster, Model, infer_season
from assay.forecast._global import GlobalLightGBM, Strategy, cutoff_windows
from assay.forecast._metrics import Scores, is_seasonal, mase, owa, score, smape, with_owa

__all__ = [
    "Backtest",
    "Baseline",
    "DropReason",
    "Dropped",
    "Forecaster",
    "GlobalLightGBM",
    "Model",
    "Origin",
    "Scores",
    "SeriesSet",
    "Strategy",
    "cutoff_windows",
    "forecast_baseline",
    "from_long",
    "infer_season",
    "is_seasonal",
    "mase",
    "owa",
    "read_long",
    "read_wide",
    "rolling_origins",
    "score",
    "select_ensemble",
    "smape",
    "with_owa",
]

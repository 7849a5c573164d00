"""The Forecaster end to end on small synthetic data."""

import time

import numpy as np
import pandas as pd
import pytest

from assay.errors import ConfigError
from assay.forecast import Forecaster, SeriesSet, forecast_baseline, infer_season, score


def _split(data: SeriesSet, horizon: int) -> tuple[SeriesSet, list[np.ndarray]]:
    return data.head(horizon), [y[-horizon:] for y in data.values]


def test_forecaster_beats_naive_on_seasonal_series(seasonal):
    train, actual = _split(seasonal, 12)
    forecaster = Forecaster(horizon=12, season=12, time_limit_s=12, random_state=0)
    forecaster.fit(train)
    frame = forecaster.predict()
    assert list(frame.columns) == ["id", "step", "forecast"]
    assert len(frame) == 12 * len(train.ids) and frame["step"].max() == 12
    ours = score(train.values, actual, list(frame["forecast"].to_numpy().reshape(-1, 12)), 12)
    naive = score(train.values, actual, forecast_baseline("naive", train.values, 12, 12), 12)
    assert ours.smape < 0.6 * naive.smape and ours.mase < 0.6 * naive.mase
    assert sum(forecaster.weights_.values()) == pytest.approx(1.0)
    board = forecaster.leaderboard_
    assert set(board["model"]) >= {"naive", "snaive", "naive2", "theta", "lgbm_direct"}
    assert board.loc[board["model"] == "naive2", "owa"].item() == pytest.approx(1.0)
    assert forecaster.fit_s_ < 12 * 1.25 + 3


def test_time_limit_drops_slow_candidates_and_is_respected(make_seasonal):
    values = make_seasonal(n_series=60, length=600, season=24, seed=2)
    data = SeriesSet([f"s{i}" for i in range(60)], values)
    started = time.monotonic()
    forecaster = Forecaster(horizon=24, season=24, time_limit_s=1).fit(data)
    assert time.monotonic() - started < 1 * 2 + 1.5
    board = forecaster.leaderboard_.set_index("model")
    assert board.loc["lgbm_direct", "status"] == "skipped: time limit"  # 8 fits cannot fit
    assert board.loc["naive2", "status"] == "ok"  # the reference always runs
    assert len(forecaster.predict()) == 60 * 24


def test_long_data_with_timestamps_gets_season_and_future_times(hourly_long):
    forecaster = Forecaster(horizon=6, models=["snaive", "theta"], time_limit_s=30)
    forecaster.fit(hourly_long, time="ts", target="sales", id="store")
    assert forecaster.season_ == 24  # inferred from the hourly timestamps
    frame = forecaster.predict()
    assert list(frame.columns) == ["id", "step", "time", "forecast"]
    last = hourly_long.groupby("store")["ts"].max()
    first_step = frame[frame["step"] == 1].set_index("id")["time"]
    assert (first_step - last.loc[first_step.index]).eq(pd.Timedelta(hours=1)).all()


@pytest.mark.parametrize(
    ("freq", "season"), [("h", 24), ("D", 7), ("W-SUN", 1), ("MS", 12), ("QE-DEC", 4), (None, 1)]
)
def test_season_from_frequency(freq, season):
    assert infer_season(freq) == season


def test_bad_arguments_are_config_errors(seasonal, hourly_long):
    with pytest.raises(ConfigError, match="horizon"):
        Forecaster(horizon=0).fit(seasonal)
    with pytest.raises(ConfigError, match="Unknown forecasting model"):
        Forecaster(horizon=3, models=["prophet"]).fit(seasonal)
    with pytest.raises(ConfigError, match="time and target"):
        Forecaster(horizon=3).fit(hourly_long)


def test_saved_forecaster_predicts_the_same(seasonal, tmp_path):
    train, _ = _split(seasonal, 12)
    fitted = Forecaster(horizon=12, season=12, models=["lgbm_direct"], time_limit_s=15)
    fitted.fit(train)
    assert "lgbm_direct" in fitted.weights_  # a booster to save, beside naive2's share
    loaded = Forecaster.load(fitted.save(tmp_path / "forecaster"))
    pd.testing.assert_frame_equal(loaded.predict(), fitted.predict())
    newer = seasonal.head(6)  # six more values than at fit: forecasts from the new ends
    pd.testing.assert_frame_equal(loaded.predict(newer), fitted.predict(newer))
    assert not np.allclose(fitted.predict(newer)["forecast"], fitted.predict()["forecast"])
    actual = SeriesSet(train.ids, [y[-12:] for y in seasonal.values])
    assert loaded.score(actual) == fitted.score(actual)


def test_loading_a_wrong_folder_is_an_artifact_error(tmp_path):
    from assay.errors import ArtifactError

    with pytest.raises(ArtifactError, match="Cannot load a forecaster"):
        Forecaster.load(tmp_path / "nothing-here")

"""The Forecaster end to end on small synthetic data. Time limits are checked by what they
decided (the candidates dropped and why), never by the seconds a fit took: those belong to
the benchmarks."""

import numpy as np
import pandas as pd
import pytest

from assay.errors import ConfigError
from assay.forecast import (
    DropReason,
    Forecaster,
    Model,
    SeriesSet,
    forecast_baseline,
    infer_season,
    score,
)

ALL_MODELS = {m.value for m in Model}


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
    _assert_every_candidate_ran_or_was_dropped(forecaster)


def _assert_every_candidate_ran_or_was_dropped(forecaster: Forecaster) -> None:
    """Each candidate either has backtest forecasts or a record of why it has none, and
    only the ones that ran are in the ensemble; the leaderboard says the same."""
    ran, dropped = set(forecaster.backtest_.forecasts), set(forecaster.dropped_)
    assert ran | dropped == ALL_MODELS and not ran & dropped
    assert set(forecaster.weights_) <= ran
    status = forecaster.leaderboard_.set_index("model")["status"]
    assert {name: status[name] for name in dropped} == {
        name: record.status for name, record in forecaster.dropped_.items()
    }
    assert (status[sorted(ran)] == "ok").all()


def test_time_limit_drops_the_global_models_it_cannot_fit(make_seasonal):
    values = make_seasonal(n_series=60, length=600, season=24, seed=2)
    data = SeriesSet([f"s{i}" for i in range(60)], values)
    forecaster = Forecaster(horizon=24, season=24, time_limit_s=1).fit(data)
    dropped = forecaster.dropped_
    # 8 LightGBM fits on 60 x 600 values cannot fit in one second (the reason the test
    # holds on any machine: a slower one drops more, never fewer).
    assert {"lgbm_direct", "lgbm_recursive"} <= set(dropped)
    assert {record.reason for record in dropped.values()} == {DropReason.TIME_LIMIT}
    assert "naive2" not in dropped  # the reference always runs
    assert all(record.left_s is not None and record.left_s < 1 for record in dropped.values())
    _assert_every_candidate_ran_or_was_dropped(forecaster)
    assert len(forecaster.predict()) == 60 * 24


def test_a_candidate_whose_turn_comes_after_the_deadline_is_dropped_unrun(seasonal, tmp_path):
    """A budget spent before the backtests start: every candidate but the reference is
    dropped for the time limit without forecasting a single origin, and Naive2 forecasts
    alone. The record survives save and load."""
    forecaster = Forecaster(horizon=12, season=12, time_limit_s=1e-6).fit(seasonal)
    dropped = forecaster.dropped_
    assert set(dropped) == ALL_MODELS - {"naive2"}
    for record in dropped.values():
        assert record.reason is DropReason.TIME_LIMIT
        assert record.n_origins_done == 0 and record.left_s < 0
    assert forecaster.weights_ == {"naive2": 1.0}
    _assert_every_candidate_ran_or_was_dropped(forecaster)
    naive2 = forecast_baseline("naive2", seasonal.values, 12, 12)
    np.testing.assert_allclose(forecaster.forecasts_, np.array(naive2))
    loaded = Forecaster.load(forecaster.save(tmp_path / "forecaster"))
    assert loaded.dropped_ == dropped


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
    # No time limit, so the booster is there however busy the machine is (a limit here made
    # the test depend on the seconds the fits took); one origin and one thread keep it quick.
    fitted = Forecaster(horizon=12, season=12, models=["lgbm_direct"], n_origins=1, n_jobs=1)
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


def test_intervals_bracket_the_forecasts_and_survive_save_and_load(seasonal, tmp_path):
    train, _ = _split(seasonal, 12)
    fitted = Forecaster(horizon=12, season=12, models=["snaive", "theta"]).fit(train)
    frame = fitted.predict(levels=[95, 80])
    assert list(frame.columns) == ["id", "step", "forecast", "lo_80", "hi_80", "lo_95", "hi_95"]
    assert (frame["lo_95"] <= frame["lo_80"]).all() and (frame["lo_80"] <= frame["forecast"]).all()
    assert (frame["forecast"] <= frame["hi_80"]).all() and (frame["hi_80"] <= frame["hi_95"]).all()
    assert (frame["hi_95"] > frame["lo_95"]).all()  # noisy series: no zero-width band
    pd.testing.assert_frame_equal(frame.iloc[:, :3], fitted.predict())  # points unchanged
    folder = fitted.save(tmp_path / "forecaster")
    loaded = Forecaster.load(folder)
    pd.testing.assert_frame_equal(loaded.predict(levels=[80, 95]), frame)
    newer = seasonal.head(6)
    pd.testing.assert_frame_equal(
        loaded.predict(newer, levels=[80]), fitted.predict(newer, levels=[80])
    )
    actual = SeriesSet(train.ids, [y[-12:] for y in seasonal.values])
    assert loaded.score_intervals(actual, 95) == fitted.score_intervals(actual, 95)


def test_a_save_without_backtest_errors_forecasts_but_has_no_intervals(seasonal, tmp_path):
    import json

    from assay.errors import ArtifactError

    fitted = Forecaster(horizon=6, season=12, models=["snaive"]).fit(seasonal)
    folder = fitted.save(tmp_path / "forecaster")
    manifest = json.loads((folder / "forecaster.json").read_text())
    del manifest["errors"]  # as saved before intervals existed
    (folder / "forecaster.json").write_text(json.dumps(manifest))
    loaded = Forecaster.load(folder)
    pd.testing.assert_frame_equal(loaded.predict(), fitted.predict())
    with pytest.raises(ArtifactError, match="Refit"):
        loaded.predict(levels=[80])


@pytest.mark.parametrize("levels", [[0, 80], [100], [95, -1], ["high"]])
def test_bad_levels_are_config_errors_naming_the_argument(seasonal, levels):
    fitted = Forecaster(horizon=3, season=12, models=["snaive"]).fit(seasonal)
    with pytest.raises(ConfigError, match=r"levels= takes interval levels .* between 0 and 100"):
        fitted.predict(levels=levels)
    with pytest.raises(ConfigError, match=r"level=95"):
        fitted.score_intervals(seasonal, level=120)

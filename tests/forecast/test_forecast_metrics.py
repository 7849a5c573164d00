"""M4 metric definitions, checked against the organisers' published benchmark scores."""

import json

import numpy as np
import pytest

from assay.forecast import forecast_baseline, is_seasonal, mase, read_wide, score, smape, with_owa


def _m4(datasets_dir, name):
    spec = next(
        d
        for d in json.loads((datasets_dir / "manifest.json").read_text())["timeseries"]
        if d["name"] == name
    )
    train = read_wide(datasets_dir / spec["paths"]["train"])
    test = read_wide(datasets_dir / spec["paths"]["test"])
    assert train.ids == test.ids
    return train.values, test.values, spec["horizon"], spec["season"]


def _scores(method, train, test, horizon, season):
    return score(train, test, forecast_baseline(method, train, horizon, season), season)


def test_smape_and_mase_follow_the_m4_formulas():
    actual, forecast = np.array([100.0, 50.0]), np.array([110.0, 40.0])
    expected = np.mean([200 * 10 / 210, 200 * 10 / 90])
    assert smape(actual, forecast) == pytest.approx(expected)
    assert smape(np.zeros(3), np.zeros(3)) == 0.0  # both zero is a perfect forecast
    insample = np.array([1.0, 2.0, 4.0, 3.0, 5.0, 7.0])  # season 2: |4-1|,|3-2|,|5-4|,|7-3|
    assert mase(insample, actual, forecast, season=2) == pytest.approx(10.0 / np.mean([3, 1, 1, 4]))
    assert mase(insample, actual, forecast, season=1) == pytest.approx(
        10.0 / np.mean([1, 2, 1, 2, 2])
    )


def test_seasonality_test_separates_seasonal_from_white_noise():
    rng = np.random.default_rng(0)
    t = np.arange(240)
    assert is_seasonal(100 + 10 * np.sin(2 * np.pi * t / 12) + rng.normal(size=240), 12)
    assert not is_seasonal(100 + rng.normal(size=240), 12)
    assert not is_seasonal(100 + 10 * np.sin(2 * np.pi * t[:30] / 12), 12)  # < 3 seasons


def test_seasonal_naive_on_m4_hourly_matches_published(datasets_dir):
    train, test, horizon, season = _m4(datasets_dir, "m4-hourly")
    assert (horizon, season) == (48, 24)
    snaive = _scores("snaive", train, test, horizon, season)
    assert (round(snaive.smape, 3), round(snaive.mase, 3)) == (13.912, 1.193)
    naive2 = _scores("naive2", train, test, horizon, season)
    assert (round(naive2.smape, 3), round(naive2.mase, 3)) == (18.383, 2.395)
    assert with_owa(naive2, naive2).owa == 1.0
    theta = _scores("theta", train, test, horizon, season)
    assert (round(theta.smape, 3), round(theta.mase, 3)) == (18.138, 2.455)


def test_naive_on_m4_weekly_matches_published(datasets_dir):
    train, test, horizon, season = _m4(datasets_dir, "m4-weekly")
    assert (horizon, season) == (13, 1)
    naive = _scores("naive", train, test, horizon, season)
    assert (round(naive.smape, 3), round(naive.mase, 3)) == (9.161, 2.777)
    naive2 = _scores("naive2", train, test, horizon, season)  # m = 1: the same forecasts
    assert (naive2.smape, naive2.mase) == (naive.smape, naive.mase)
    assert with_owa(naive2, naive2).owa == 1.0
    theta = _scores("theta", train, test, horizon, season)
    assert (round(theta.smape, 3), round(theta.mase, 3)) == (9.093, 2.637)

"""M4 metric definitions, checked against the organisers' published benchmark scores."""

import json

import numpy as np
import pytest

from assay.forecast import (
    coverage,
    forecast_baseline,
    is_seasonal,
    mase,
    msis,
    read_wide,
    score,
    score_intervals,
    smape,
    with_owa,
)


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


def test_coverage_counts_actuals_inside_the_bounds_inclusive():
    actual = np.array([1.0, 2.0, 3.0, 4.0])
    lower = np.array([1.0, 0.0, 4.0, 0.0])
    upper = np.array([2.0, 1.0, 5.0, 5.0])
    # 1 in [1, 2] (on the bound: inside), 2 above [0, 1], 3 below [4, 5], 4 in [0, 5]
    assert coverage(actual, lower, upper) == pytest.approx(2 / 4)
    assert coverage(actual, actual, actual) == 1.0  # zero width, but exact
    assert coverage(actual, actual + 0.5, actual + 1.0) == 0.0


def test_msis_follows_the_m4_formula_on_a_hand_computed_series():
    # season 2: scale mean(|4-1|, |3-2|, |5-4|, |7-3|) = 9/4 = 2.25, as MASE's
    insample = np.array([1.0, 2.0, 4.0, 3.0, 5.0, 7.0])
    actual = np.array([10.0, 20.0, 30.0])
    lower = np.array([8.0, 21.0, 25.0])
    upper = np.array([12.0, 24.0, 28.0])
    # level 80: alpha 0.2, 2/alpha = 10. Step 1: width 4, inside -> 4. Step 2: width 3,
    # actual 1 below the lower bound -> 3 + 10*1 = 13. Step 3: width 3, actual 2 above the
    # upper bound -> 3 + 10*2 = 23. Mean 40/3, scaled: (40/3) / 2.25 = 160/27.
    assert msis(insample, actual, lower, upper, season=2, level=80) == pytest.approx(160 / 27)
    # level 95: 2/alpha = 40: (4 + (3 + 40) + (3 + 80)) / 3 = 130/3, scaled 130/6.75
    assert msis(insample, actual, lower, upper, season=2, level=95) == pytest.approx(130 / 6.75)
    # all inside: just the mean width over the scale, (4 + 3 + 3)/3 / 2.25
    wide = msis(insample, actual, actual - 2.0, actual + 1.5, season=2, level=95)
    assert wide == pytest.approx(3.5 / 2.25)


def test_interval_scores_pool_coverage_and_average_msis_over_series():
    insamples = [np.array([1.0, 2.0, 4.0, 3.0, 5.0, 7.0]), np.array([0.0, 2.0, 4.0, 6.0])]
    actuals = [np.array([10.0, 20.0, 30.0]), np.array([5.0, 5.0, 5.0])]
    lowers = [np.array([8.0, 21.0, 25.0]), np.array([4.0, 4.0, 4.0])]
    uppers = [np.array([12.0, 24.0, 28.0]), np.array([6.0, 6.0, 6.0])]
    scores = score_intervals(insamples, actuals, lowers, uppers, season=2, level=80)
    assert scores.level == 80
    assert scores.coverage == pytest.approx(4 / 6)  # 1 of 3, then 3 of 3
    # series 2: all inside, width 2, scale mean(|4-0|, |6-2|) = 4 -> 0.5
    assert scores.msis == pytest.approx(np.mean([160 / 27, 2 / 4]))


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

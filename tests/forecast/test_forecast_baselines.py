"""Baselines: the fast exponential smoothing fits the same objective as statsmodels."""

import warnings

import numpy as np
import pytest

from assay.forecast import forecast_baseline


def _series(n=150, seed=0):
    rng = np.random.default_rng(seed)
    return 50 + np.cumsum(rng.normal(0.2, 1.0, n))


def test_ses_matches_statsmodels():
    from statsmodels.tsa.holtwinters import SimpleExpSmoothing

    for seed in range(3):
        y = _series(seed=seed)
        ours = forecast_baseline("ses", [y], 5, 1)[0]
        theirs = SimpleExpSmoothing(y, initialization_method="estimated").fit().forecast(5)
        assert ours == pytest.approx(theirs, rel=1e-3)


def test_damped_trend_fits_at_least_as_well_as_statsmodels():
    """Same model, same bounds (R's phi in [0.8, 0.98]): our least-squares fit is as good."""
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    from assay.forecast._baselines import fit_damped

    for seed in range(4):
        y = _series(seed=seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            theirs = ExponentialSmoothing(
                y,
                trend="add",
                damped_trend=True,
                initialization_method="estimated",
                bounds={"damping_trend": (0.8, 0.98)},
            ).fit()
        params, level, trend, sse = fit_damped(y)
        assert 0.8 <= params[2] <= 0.98
        assert sse <= theirs.sse * 1.001
        assert np.isfinite([level, trend]).all()


def test_seasonal_baselines_repeat_the_season():
    t = np.arange(24 * 15)  # M4's test needs n >= 10 ** 2.4 for m = 24 (R's acf lag limit)
    y = 100 + 20 * np.sin(2 * np.pi * t / 24)
    snaive = forecast_baseline("snaive", [y], 30, 24)[0]
    assert np.allclose(snaive[:24], y[-24:]) and np.allclose(snaive[24:], y[-24:-18])
    naive2 = forecast_baseline("naive2", [y], 24, 24)[0]
    assert np.allclose(naive2, y[-24:], rtol=0.02)  # deseasonalised naive, reseasonalised
    assert np.allclose(forecast_baseline("naive", [y], 3, 24)[0], y[-1])

"""Prediction-interval bands from scaled backtest errors: which method a level gets for the
number of errors at hand, the quantiles each gives, and the checks on `levels`."""

import itertools
import math

import numpy as np
import pytest

from assay.errors import ConfigError, DataError
from assay.forecast import IntervalMethod, check_levels, interval_bands


def _shuffled_ranks(n_rows: int, n_steps: int, seed: int = 0) -> np.ndarray:
    """Column h holds (k - 99) * (h + 1) for k = 0..n_rows-1, each column shuffled: the
    i-th smallest value of column h is (i - 100) * (h + 1)."""
    rng = np.random.default_rng(seed)
    base = np.arange(n_rows, dtype=float) - 99
    return np.column_stack([rng.permutation(base) * (h + 1) for h in range(n_steps)])


def test_enough_errors_per_step_give_the_conformal_quantiles_of_each_step():
    errors = _shuffled_ranks(199, 3)
    band_80, band_95 = interval_bands(errors, [95, 80])  # ascending whatever the order given
    assert (band_80.level, band_95.level) == (80, 95)
    assert band_80.method is band_95.method is IntervalMethod.STEP
    steps = np.arange(1, 4)
    # n = 199. 80%: ranks floor(200 * 0.1) = 20 and ceil(200 * 0.9) = 180, values
    # (20 - 100) h and (180 - 100) h. 95%: ranks 5 and 195, values -95 h and 95 h.
    np.testing.assert_allclose(band_80.lower, -80 * steps)
    np.testing.assert_allclose(band_80.upper, 80 * steps)
    np.testing.assert_allclose(band_95.lower, -95 * steps)
    np.testing.assert_allclose(band_95.upper, 95 * steps)


def test_too_few_per_step_pools_the_steps_standardized_by_their_growth():
    """Errors z_r * sqrt(h): the mean |error| grows exactly as h**0.5, so the pooled,
    standardized errors are the z_r and the band is their quantiles times sqrt(h)."""
    rng = np.random.default_rng(1)
    z = rng.normal(size=20)
    steps = np.arange(1, 13)
    errors = z[:, None] * np.sqrt(steps)[None, :]  # 20 rows: < 39 per step, 240 pooled
    (band,) = interval_bands(errors, [95])
    assert band.method is IntervalMethod.POOLED
    np.testing.assert_allclose(band.upper / band.upper[0], np.sqrt(steps))
    np.testing.assert_allclose(band.lower / band.lower[0], np.sqrt(steps))
    # 240 pooled values, 12 copies of each z: ranks floor(241 * 0.025) = 6 and
    # ceil(241 * 0.975) = 235 of the sorted copies are the 1st and 20th smallest z
    assert band.lower[0] == pytest.approx(np.sort(z)[0])
    assert band.upper[0] == pytest.approx(np.sort(z)[-1])


def test_very_few_errors_give_a_wide_student_t_band():
    """One error of 2 on one step: t with 1 degree of freedom (3.078 at 90%) times 2."""
    (band,) = interval_bands(np.array([[2.0]]), [80])
    assert band.method is IntervalMethod.STUDENT_T
    assert band.upper[0] == pytest.approx(2 * 3.0777, rel=1e-4)
    assert band.lower[0] == pytest.approx(-2 * 3.0777, rel=1e-4)


def test_each_level_gets_the_method_its_count_allows_and_bands_nest():
    rng = np.random.default_rng(2)
    errors = rng.normal(size=(12, 4))  # 12 per step, 48 pooled
    bands = interval_bands(errors, [80, 95, 99])
    # 80% needs 10 (12 per step do), 95% needs 39 (48 pooled do), 99% needs 199 (none do)
    assert [b.method for b in bands] == [
        IntervalMethod.STEP,
        IntervalMethod.POOLED,
        IntervalMethod.STUDENT_T,
    ]
    for inner, outer in itertools.pairwise(bands):
        assert np.all(outer.lower <= inner.lower) and np.all(outer.upper >= inner.upper)
    for band in bands:
        assert np.all(band.lower <= 0) and np.all(band.upper >= 0)


def test_biased_errors_still_bracket_the_forecast():
    """Every backtest forecast too low (errors all positive): the lower bound stays at the
    forecast rather than above it."""
    errors = 5 + np.random.default_rng(3).random((50, 2))
    (band,) = interval_bands(errors, [80])
    np.testing.assert_array_equal(band.lower, 0.0)
    assert np.all(band.upper > 5)


def test_no_errors_is_a_data_error():
    with pytest.raises(DataError, match="No backtest errors"):
        interval_bands(np.empty((0, 3)), [80])


@pytest.mark.parametrize("bad", [[0], [100], [-5], [80, 150], ["abc"], [math.nan], [True], []])
def test_levels_outside_0_100_name_the_argument(bad):
    with pytest.raises(ConfigError, match=r"levels=") as raised:
        check_levels(bad)
    assert "levels=[80, 95]" in str(raised.value)  # what to give instead


def test_levels_from_the_command_line_are_split_sorted_and_named_as_the_option():
    assert check_levels("95, 80,80", "--levels") == [80.0, 95.0]
    with pytest.raises(ConfigError, match="--levels") as raised:
        check_levels("80,ninety", "--levels")
    assert "--levels 80,95" in str(raised.value) and "'ninety'" in str(raised.value)

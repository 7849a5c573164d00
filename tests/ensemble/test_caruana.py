import numpy as np
import pytest

from assay import Task
from assay.ensemble import CaruanaEnsemble
from assay.evaluate import get_metric


def test_complementary_regressors_are_averaged_equally():
    # Each model is off by +1 / -1; only their equal-weight average is exact.
    y = np.arange(10, dtype=float)
    ensemble = CaruanaEnsemble(get_metric("rmse", Task.REGRESSION), n_iterations=10)
    ensemble.fit([y + 1, y - 1, y + 5], y)
    np.testing.assert_allclose(ensemble.weights_, [0.5, 0.5, 0.0])
    assert ensemble.score_ == pytest.approx(0.0)


def test_dominant_model_takes_all_weight():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 200)
    perfect = np.column_stack([1 - y, y]).astype(float)
    noise = rng.uniform(size=(200, 1))
    noisy = np.column_stack([1 - noise, noise])
    ensemble = CaruanaEnsemble(get_metric("logloss", Task.BINARY), n_iterations=5)
    ensemble.fit([noisy, perfect], y)
    np.testing.assert_allclose(ensemble.weights_, [0.0, 1.0])
    assert len(ensemble.trajectory_) == 5


def test_known_three_model_answer_with_replacement():
    # The target is 2/3 of model a plus 1/3 of model b: with replacement and 3 steps,
    # greedy selection picks a, then b, then a.
    y = np.array([2.0, 0.0, 1.0, 3.0])
    a, b = np.array([3.0, 0.0, 0.0, 3.0]), np.array([0.0, 0.0, 3.0, 3.0])
    ensemble = CaruanaEnsemble(get_metric("rmse", Task.REGRESSION), n_iterations=3)
    ensemble.fit([a, b, np.zeros(4)], y)
    np.testing.assert_allclose(ensemble.weights_, [2 / 3, 1 / 3, 0.0])
    np.testing.assert_allclose(ensemble.predict([a, b, np.zeros(4)]), y)


def test_empty_input_is_refused():
    with pytest.raises(ValueError, match="at least one"):
        CaruanaEnsemble(get_metric("rmse", Task.REGRESSION)).fit([], np.zeros(3))


def test_a_passed_deadline_stops_after_one_step():
    y = np.arange(10, dtype=float)
    ensemble = CaruanaEnsemble(get_metric("rmse", Task.REGRESSION), n_iterations=25)
    ensemble.fit([y + 1, y - 1], y, deadline=0.0)  # monotonic time is always past 0
    assert len(ensemble.trajectory_) == 1
    np.testing.assert_allclose(ensemble.weights_, [1.0, 0.0])

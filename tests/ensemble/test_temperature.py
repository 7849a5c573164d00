"""Temperature scaling: what it keeps (the most probable class, the order of the rows),
what it changes (how sure the probabilities are), and that it finds the temperature that
made probabilities over- or under-confident."""

from __future__ import annotations

import numpy as np
import pytest

from assay.ensemble import fit_temperature, tempered
from assay.evaluate._metrics import row_log_losses


def _calibrated(n_rows: int, n_classes: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities and labels drawn from them: calibrated by construction."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 2.0, size=(n_rows, n_classes))
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    y = np.array([rng.choice(n_classes, p=p) for p in proba])
    return proba, y


@pytest.mark.parametrize("temperature", [0.3, 0.8, 2.5])
def test_tempering_keeps_the_class_and_the_order_and_sums_to_one(temperature):
    proba, _ = _calibrated(200, 4, 0)
    out = tempered(proba, temperature)
    np.testing.assert_allclose(out.sum(axis=1), 1.0, atol=1e-12)
    assert (out.argmax(axis=1) == proba.argmax(axis=1)).all()
    binary, _ = _calibrated(200, 2, 3)  # two classes: the rows keep their order (AUC)
    order = np.argsort(binary[:, 1], kind="stable")
    assert (np.argsort(tempered(binary, temperature)[:, 1], kind="stable") == order).all()
    sharper = temperature < 1  # below 1 the top class gains, above 1 it loses
    assert ((out.max(axis=1) > proba.max(axis=1)) == sharper).mean() > 0.95
    assert tempered(proba, 1.0) is proba


@pytest.mark.parametrize("made_with", [0.5, 2.0])
def test_the_temperature_that_undoes_over_or_under_confidence_is_found(made_with):
    proba, y = _calibrated(6000, 3, 1)
    distorted = tempered(proba, made_with)  # too sure (0.5) or not sure enough (2.0)
    found = fit_temperature(distorted, y)
    assert found == pytest.approx(1 / made_with, rel=0.1)
    before = row_log_losses(y, distorted).mean()
    after = row_log_losses(y, tempered(distorted, found)).mean()
    assert after < before


def test_calibrated_probabilities_keep_a_temperature_near_one_and_weights_count():
    proba, y = _calibrated(6000, 3, 2)
    assert fit_temperature(proba, y) == pytest.approx(1.0, abs=0.06)
    # the rows' weights: rows made too sure weigh, the others do not
    rows = np.arange(len(y)) < 3000
    mixed = np.where(rows[:, None], tempered(proba, 0.5), proba)
    heavy = fit_temperature(mixed, y, w=rows.astype(float) + 1e-9)
    assert heavy == pytest.approx(2.0, rel=0.1)
    assert fit_temperature(proba[:0], y[:0]) == 1.0


def test_no_temperature_without_wrong_rows_to_learn_it_from():
    """Right on every row, the log loss only falls as T falls: no temperature is learned
    (sharpening without end made a test set's few wrong rows cost ten times more); from a
    few wrong rows, only part of the way."""
    proba, _ = _calibrated(3000, 3, 4)
    right = proba.argmax(axis=1)  # every row's label its most probable class
    assert fit_temperature(tempered(proba, 2.0), right) == 1.0
    # few rows, few wrong ones: the best temperature on them, pulled toward 1 as if
    # PRIOR_ERRORS more wrong rows had asked for T = 1
    from assay.ensemble._temperature import PRIOR_ERRORS

    small, y_small = _calibrated(60, 3, 5)
    soft = tempered(small, 2.0)
    grid = np.exp(np.linspace(np.log(0.26), np.log(9.0), 4000))
    losses = [row_log_losses(y_small, tempered(soft, t)).mean() for t in grid]
    best = grid[int(np.argmin(losses))]
    n_errors = int((soft.argmax(axis=1) != y_small).sum())
    assert 0 < n_errors < 30 and best < 0.9
    pulled = best ** (n_errors / (n_errors + PRIOR_ERRORS))
    assert fit_temperature(soft, y_small) == pytest.approx(pulled, rel=0.02)
    assert best < pulled < 1.0

"""Model comparison statistics: the corrected resampled t-test against its published
formula, the paired bootstrap, and the fast weighted metrics the bootstrap relies on."""

import numpy as np
import pytest
from scipy import stats as sps

from assay import Task
from assay.errors import ConfigError
from assay.evaluate import (
    METRICS,
    compare_predictions,
    corrected_ttest,
    fold_scores,
    get_metric,
    make_folds,
    paired_bootstrap,
)
from assay.evaluate._weighted import weighted_scorer


def test_corrected_ttest_matches_nadeau_bengio_formula():
    # Nadeau & Bengio (2003): t = mean(d) / sqrt((1/J + n2/n1) * s^2), df = J - 1.
    d = np.array([0.012, 0.004, 0.009, -0.002, 0.015, 0.007, 0.001, 0.010, 0.006, 0.003])
    n1, n2 = 900, 100  # 10-fold CV on 1000 rows
    J = len(d)
    s2 = np.sum((d - d.mean()) ** 2) / (J - 1)
    t_hand = d.mean() / np.sqrt((1 / J + n2 / n1) * s2)
    p_hand = 2 * (1 - sps.t.cdf(abs(t_hand), J - 1))
    result = corrected_ttest(d, n1, n2)
    assert result.t_stat == pytest.approx(t_hand, rel=1e-12)
    assert result.p_value == pytest.approx(p_hand, rel=1e-9)
    assert result.df == J - 1
    assert result.mean_diff == pytest.approx(d.mean())


def test_without_overlap_it_is_the_paired_t_test_and_the_correction_is_more_cautious():
    rng = np.random.default_rng(1)
    d = rng.normal(0.01, 0.01, 8)
    plain = corrected_ttest(d, n_train=1.0, n_test=0.0)
    assert plain.p_value == pytest.approx(sps.ttest_1samp(d, 0.0).pvalue, rel=1e-9)
    corrected = corrected_ttest(d, n_train=7.0, n_test=1.0)
    assert corrected.p_value > plain.p_value
    assert abs(corrected.t_stat) < abs(plain.t_stat)


def test_corrected_ttest_edge_cases_and_errors():
    assert corrected_ttest([0.0, 0.0, 0.0], 9, 1).p_value == 1.0
    sure = corrected_ttest([0.1, 0.1, 0.1], 9, 1)
    assert sure.p_value == 0.0 and sure.t_stat == np.inf
    with pytest.raises(ConfigError, match="2 or more folds"):
        corrected_ttest([0.1], 9, 1)


@pytest.mark.parametrize("name", sorted(METRICS))
def test_weighted_scorer_equals_the_metric_on_resampled_rows(name):
    metric = METRICS[name]
    rng = np.random.default_rng(0)
    n = 500
    for task in sorted(metric.tasks, key=lambda t: t.value):
        if task is Task.REGRESSION:
            y = rng.normal(size=n)
            pred = y + rng.normal(size=n)
        else:
            k = 2 if task is Task.BINARY else 3
            y = rng.integers(0, k, n)
            pred = rng.dirichlet(np.ones(k), n)
            pred[np.arange(n), y] += 0.4
            pred[:50] = np.round(pred[:50], 1)  # ties in the scores
            pred /= pred.sum(axis=1, keepdims=True)
        score = weighted_scorer(metric, y, pred)
        assert score(np.ones(n)) == pytest.approx(metric(y, pred), rel=1e-9)
        for _ in range(3):
            rows = rng.integers(0, n, n)
            weights = np.bincount(rows, minlength=n).astype(float)
            assert score(weights) == pytest.approx(metric(y[rows], pred[rows]), rel=1e-9)


def _binary_models(rng, n, edge_a, edge_b):
    y = rng.integers(0, 2, n)
    a = np.clip(0.5 + edge_a * (y - 0.5) + rng.normal(0, 0.25, n), 0.01, 0.99)
    b = np.clip(0.5 + edge_b * (y - 0.5) + rng.normal(0, 0.25, n), 0.01, 0.99)
    return y, np.c_[1 - a, a], np.c_[1 - b, b]


def test_paired_bootstrap_finds_a_real_difference_and_not_a_null_one():
    metric = get_metric("auc", Task.BINARY)
    rng = np.random.default_rng(3)
    y, a, b = _binary_models(rng, 2000, 0.6, 0.2)
    result = paired_bootstrap(y, a, b, metric, n_boot=500)
    assert result.diff > 0 and result.ci_low > 0 and result.p_value < 0.01
    same = paired_bootstrap(y, a, a, metric, n_boot=200)
    assert same.diff == 0 and same.p_value == 1.0


def test_paired_bootstrap_false_positive_rate_is_near_alpha():
    metric = get_metric("accuracy", Task.BINARY)
    rng = np.random.default_rng(7)
    p_values = []
    for _ in range(150):
        y, a, b = _binary_models(rng, 300, 0.4, 0.4)  # equally good, independent errors
        p_values.append(paired_bootstrap(y, a, b, metric, n_boot=300).p_value)
    rate = np.mean(np.array(p_values) < 0.05)
    assert rate <= 0.12  # nominal 0.05; binomial sd over 150 tests is ~0.018


def test_paired_bootstrap_rejects_misaligned_predictions():
    metric = get_metric("auc", Task.BINARY)
    with pytest.raises(ConfigError, match="same rows"):
        paired_bootstrap(np.zeros(10), np.zeros((10, 2)), np.zeros((9, 2)), metric)


def test_compare_predictions_uses_the_folds_and_their_size_ratio():
    metric = get_metric("auc", Task.BINARY)
    rng = np.random.default_rng(5)
    y, a, b = _binary_models(rng, 1000, 0.5, 0.3)
    folds = make_folds(y, Task.BINARY, 5, 0)
    result = compare_predictions(("a", "b"), y, a, b, folds, metric, n_boot=200)
    diffs = fold_scores(metric, y, a, folds) - fold_scores(metric, y, b, folds)
    expected = corrected_ttest(diffs, 800, 200)
    assert result.ttest.t_stat == pytest.approx(expected.t_stat)
    assert result.n_folds == 5 and result.a_is_better and result.significant
    assert "a is significantly better than b" in result.sentence()
    flipped = compare_predictions(("b", "a"), y, b, a, folds, metric, bootstrap=False)
    assert not flipped.a_is_better and flipped.bootstrap is None
    assert flipped.ttest.p_value == pytest.approx(result.ttest.p_value)


def test_comparison_sentence_shows_a_difference_too_small_for_four_decimals():
    metric = get_metric("log_loss", Task.BINARY)
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 400)
    a = np.clip(np.where(y == 1, 0.8, 0.2) + rng.normal(0, 0.05, 400), 0.01, 0.99)
    b = a * (1 - 1e-6) + 0.5e-6  # the same model, nudged towards 0.5 on every row
    a, b = np.column_stack([1 - a, a]), np.column_stack([1 - b, b])
    folds = make_folds(y, Task.BINARY, 5, 0)
    result = compare_predictions(("a", "b"), y, a, b, folds, metric, n_boot=200)
    sentence = result.sentence()
    assert "-0.0000" not in sentence and "+0.0000" not in sentence
    assert f"{result.bootstrap.diff:+.2e}" in sentence
    assert "no significant difference" in sentence or "significantly better" in sentence

import numpy as np
import pytest

from assay import Task
from assay.errors import ConfigError, DataError
from assay.evaluate import METRICS, choose_n_folds, get_metric, make_folds


def test_defaults_per_task():
    assert get_metric(None, Task.BINARY).name == "auc"
    assert get_metric(None, Task.MULTICLASS).name == "logloss"
    assert get_metric(None, Task.REGRESSION).name == "rmse"


def test_every_metric_direction_matches_a_perfect_prediction():
    y = np.array([0, 1, 1, 0, 1])
    perfect = np.column_stack([1 - y, y]).astype(float)
    wrong = perfect[:, ::-1]
    for name, metric in METRICS.items():
        if Task.BINARY in metric.tasks:
            assert metric.better(metric(y, perfect), metric(y, wrong)), name
        else:
            yr = y.astype(float)
            assert metric.better(metric(yr, yr), metric(yr, yr + 1)), name


def test_metric_errors_name_the_argument_and_choices():
    with pytest.raises(ConfigError, match=r"Unknown metric 'bogus'.*auc"):
        get_metric("bogus", Task.BINARY)
    with pytest.raises(ConfigError, match="does not apply to a regression task"):
        get_metric("auc", Task.REGRESSION)
    assert get_metric("ROC-AUC", Task.BINARY).name == "auc"


def test_folds_are_stratified_and_partition_the_rows():
    y = np.array([0] * 90 + [1] * 10)
    folds = make_folds(y, Task.BINARY, 5, random_state=0)
    seen = np.concatenate([valid for _, valid in folds])
    assert sorted(seen) == list(range(100))
    assert all(y[valid].sum() == 2 for _, valid in folds)


def test_fewer_rows_than_folds_is_a_clear_error():
    with pytest.raises(DataError, match="3 rows, fewer than the 5 folds"):
        make_folds(np.array([0.0, 1.0, 2.0]), Task.REGRESSION, 5, random_state=0)


def test_fold_count_follows_data_size():
    assert choose_n_folds(1000) == 8
    assert choose_n_folds(50_000) == 5
    assert choose_n_folds(50) == 5


def test_a_class_rarer_than_the_folds_spreads_one_row_per_fold_and_others_stay_stratified():
    y = np.array([0] * 400 + [1] * 400 + [2] * 3)
    folds = make_folds(y, Task.MULTICLASS, 8, random_state=0)
    assert len(folds) == 8
    rare_per_fold = [int((y[valid] == 2).sum()) for _, valid in folds]
    assert sorted(rare_per_fold) == [0] * 5 + [1] * 3
    assert all(int((y[train] == 2).sum()) >= 2 for train, _ in folds)  # every model sees it
    assert all(int((y[valid] == 0).sum()) == 50 for _, valid in folds)


def test_binary_auc_equals_scikit_learn_with_ties_and_refuses_what_it_refuses():
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(0)
    for n, n_values in [(50, 5), (1_000, 1_000), (3_000, 12)]:  # heavy ties, none, some
        y = rng.integers(0, 2, n)
        score = rng.integers(0, n_values, n) / n_values + 0.2 * y
        proba = np.column_stack([1 - score, score])
        assert METRICS["auc"](y, proba) == pytest.approx(roc_auc_score(y, score), abs=1e-12)
    one_class = np.zeros(10, dtype=int)
    with pytest.raises(ValueError):  # undefined, as in scikit-learn: safe_score makes it NaN
        METRICS["auc"](one_class, np.full((10, 2), 0.5))
    with pytest.raises(ValueError):
        METRICS["auc"](np.array([0, 1, 0]), np.array([[0.5, 0.5], [np.nan, np.nan], [1, 0]]))


def test_logloss_equals_scikit_learn():
    from sklearn.metrics import log_loss

    rng = np.random.default_rng(1)
    for n_classes in (2, 7):
        y = rng.integers(0, n_classes, 500)
        proba = rng.random((500, n_classes)) ** 3
        proba[:5] = np.eye(n_classes)[(y[:5] + 1) % n_classes]  # certain and wrong: clipped
        clipped = np.clip(proba, 1e-15, 1)
        normalized = clipped / clipped.sum(axis=1, keepdims=True)
        expected = log_loss(y, normalized, labels=np.arange(n_classes))
        assert METRICS["logloss"](y, proba) == pytest.approx(expected, abs=1e-12)
    with pytest.raises(ValueError):
        METRICS["logloss"](np.array([0, 3]), np.full((2, 2), 0.5))  # a label with no column

"""Metrics a user brings: scikit-learn scorer names and objects, functions with a direction
(`assay.make_metric`), and row weights in every built-in metric."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as skm
from sklearn.metrics import fbeta_score, make_scorer

from assay import ConfigError, make_metric
from assay._types import Task
from assay.evaluate import METRICS, get_metric

Y = np.array([0, 1, 1, 0, 1, 0, 1, 1, 0, 0])
P1 = np.array([0.2, 0.7, 0.4, 0.45, 0.3, 0.1, 0.9, 0.8, 0.6, 0.35])
PROBA = np.c_[1 - P1, P1]
W = np.array([4.0, 5.0, 3.0, 4.0, 5.0, 4.0, 4.0, 3.0, 3.0, 5.0])


@pytest.mark.parametrize("name", ["auc", "logloss", "accuracy", "f1", "balanced_accuracy"])
def test_weighted_classification_metrics_equal_scikit_learns(name):
    labels = (P1 > 0.5).astype(int)
    expected = {
        "auc": skm.roc_auc_score(Y, P1, sample_weight=W),
        "logloss": skm.log_loss(Y, PROBA, sample_weight=W),
        "accuracy": skm.accuracy_score(Y, labels, sample_weight=W),
        "f1": skm.f1_score(Y, labels, sample_weight=W),
        "balanced_accuracy": skm.balanced_accuracy_score(Y, labels, sample_weight=W),
    }[name]
    metric = METRICS[name]
    assert metric(Y, PROBA, W) == pytest.approx(expected, abs=1e-12)
    assert metric(Y, PROBA, W) != pytest.approx(metric(Y, PROBA), abs=1e-9)


@pytest.mark.parametrize("name", ["rmse", "mae", "r2"])
def test_weighted_regression_metrics_equal_scikit_learns(name):
    y, pred = np.linspace(0, 3, 10), np.linspace(0, 3, 10) ** 1.3
    expected = {
        "rmse": np.sqrt(skm.mean_squared_error(y, pred, sample_weight=W)),
        "mae": skm.mean_absolute_error(y, pred, sample_weight=W),
        "r2": skm.r2_score(y, pred, sample_weight=W),
    }[name]
    assert METRICS[name](y, pred, W) == pytest.approx(expected, abs=1e-12)


def test_scikit_learn_names_of_the_built_ins_are_the_built_ins():
    assert get_metric("neg_log_loss", Task.BINARY) is METRICS["logloss"]
    assert get_metric("roc_auc_ovr", Task.MULTICLASS) is METRICS["auc"]
    assert get_metric("neg_root_mean_squared_error", Task.REGRESSION) is METRICS["rmse"]


def test_a_scorer_name_scores_as_scikit_learn_does_on_the_users_labels():
    metric = get_metric("f1_macro", Task.BINARY).for_classes(["no", "yes"], Y)
    expected = skm.f1_score(Y, (P1 > 0.5).astype(int), average="macro")
    assert metric.name == "f1_macro" and metric.greater_is_better
    assert metric(Y, PROBA) == pytest.approx(expected)
    loss = get_metric("neg_mean_squared_error", Task.REGRESSION).for_classes(None, P1)
    assert loss(P1, P1 + 1) == pytest.approx(-1.0)


def test_a_scorer_object_gets_the_labels_and_weights():
    scorer = make_scorer(fbeta_score, beta=2, pos_label="yes")
    metric = get_metric(scorer, Task.BINARY).for_classes(["no", "yes"], Y)
    labels = np.array(["no", "yes"])
    predicted = labels[(P1 > 0.5).astype(int)]
    expected = fbeta_score(labels[Y], predicted, beta=2, pos_label="yes", sample_weight=W)
    assert metric(Y, PROBA, W) == pytest.approx(expected)


def test_a_function_with_a_direction_gets_labels_or_probabilities():
    def cost(y_true, y_pred, sample_weight=None):  # a false "yes" costs 5, a false "no" 1
        price = np.where((y_true == "no") & (y_pred == "yes"), 5.0, 0.0)
        price += np.where((y_true == "yes") & (y_pred == "no"), 1.0, 0.0)
        return float(np.average(price, weights=sample_weight))

    metric = get_metric(make_metric(cost, greater_is_better=False), Task.BINARY)
    metric = metric.for_classes(["no", "yes"], Y, W)
    labels = np.array(["no", "yes"])
    assert metric(Y, PROBA) == pytest.approx(cost(labels[Y], labels[(P1 > 0.5).astype(int)]))
    assert not metric.greater_is_better and metric.better(0.1, 0.5)
    assert get_metric("cost", Task.BINARY) is not None  # known by name in this process

    def mean_gap(y_true, proba):  # probabilities of "yes" for two classes
        return float(np.mean(np.abs((y_true == "yes") - proba)))

    gap = make_metric(mean_gap, greater_is_better=False, needs_proba=True).for_classes(
        ["no", "yes"], Y
    )
    assert gap(Y, PROBA) == pytest.approx(np.mean(np.abs(Y - P1)))


def test_a_metric_is_checked_on_the_target_before_a_fit_runs():
    with pytest.raises(ConfigError, match="its labels: \\['no', 'yes'\\]"):
        get_metric("precision", Task.BINARY).for_classes(["no", "yes"], Y)  # pos_label=1
    with pytest.raises(ConfigError, match="takes no sample_weight"):
        make_metric(lambda a, b: 0.0, greater_is_better=True, name="plain").for_classes(
            ["no", "yes"], Y, W
        )
    with pytest.raises(ConfigError, match="finite number"):
        make_metric(lambda a, b: float("nan"), greater_is_better=True, name="nan").for_classes(
            [0, 1], Y
        )


def test_what_is_not_a_metric_says_what_to_give():
    with pytest.raises(ConfigError, match="needs its direction"):
        get_metric(lambda a, b: 1.0, Task.BINARY)
    with pytest.raises(ConfigError, match="scikit-learn scorer name"):
        get_metric("no_such_metric", Task.BINARY)
    with pytest.raises(ConfigError, match="does not apply to a binary task"):
        get_metric("neg_mean_squared_error", Task.BINARY)
    with pytest.raises(ConfigError, match="built-in metric's name"):
        make_metric(len, greater_is_better=True, name="auc")
    with pytest.raises(ConfigError, match="greater_is_better"):
        make_metric(len, greater_is_better="yes")  # type: ignore[arg-type]

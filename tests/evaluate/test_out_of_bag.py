"""Forests scored out of bag: a trial fits one forest on all rows and takes each row's
prediction from the trees that did not draw it, instead of a forest per fold; anything that
would make those predictions leak (target-built columns, rows left out of the fit, folds
that are not a split of the rows) keeps the per-fold fit."""

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import ExtraTreesRegressor, RandomForestClassifier

from assay import FeatureType, Task
from assay.evaluate import cross_fit, get_metric, make_folds
from assay.models import MODELS


def _data(task: Task, n: int = 300):
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n)})
    signal = X.a + 0.5 * X.b
    if task is Task.REGRESSION:
        y = (signal + rng.normal(scale=0.3, size=n)).to_numpy()
    else:
        y = (signal + rng.normal(scale=0.5, size=n) > 0).astype(int).to_numpy()
    types = {"a": FeatureType.NUMERIC, "b": FeatureType.NUMERIC}
    return X, y, types, make_folds(y, task, 5, 0)


def _cross_fit(name, config, X, y, types, folds, task, **kwargs):
    return cross_fit(
        MODELS[name],
        config,
        X,
        y,
        types,
        folds,
        task=task,
        metric=get_metric(None, task),
        n_classes=2 if task.is_classification else 0,
        n_jobs=1,
        random_state=0,
        deadline=float("inf"),
        **kwargs,
    )


@pytest.mark.parametrize(
    ("name", "task", "reference"),
    [
        ("random_forest", Task.BINARY, RandomForestClassifier),
        ("extra_trees", Task.REGRESSION, ExtraTreesRegressor),
    ],
)
def test_a_forest_trial_fits_once_and_its_oof_is_scikit_learns_out_of_bag(name, task, reference):
    X, y, types, folds = _data(task)
    fit = _cross_fit(name, {"n_estimators": 60}, X, y, types, folds, task, out_of_bag=True)
    assert len(fit.models) == 1 and len(fit.encoders) == 1
    model = fit.models[0]
    same = reference(n_estimators=60, random_state=0, bootstrap=True, oob_score=True)
    same.set_params(**{k: v for k, v in model.model_.get_params().items() if k != "oob_score"})
    same.set_params(oob_score=True, n_jobs=1).fit(X.to_numpy(dtype=np.float32), y)
    expected = same.oob_decision_function_ if task.is_classification else same.oob_prediction_
    np.testing.assert_allclose(fit.oof, expected, rtol=1e-12)
    # one score per fold, each the metric of the out-of-bag predictions on that fold's rows
    metric = get_metric(None, task)
    assert fit.fold_scores == pytest.approx([metric(y[v], fit.oof[v]) for _, v in folds])
    # and the forest predicts its own training rows better than out of bag: not in-sample
    X_all = X.to_numpy()
    in_sample = model.predict_proba(X_all) if task.is_classification else model.predict(X_all)
    assert metric.loss(metric(y, fit.oof)) > metric.loss(metric(y, in_sample))


def test_without_the_flag_or_for_other_families_every_fold_has_its_model():
    X, y, types, folds = _data(Task.BINARY)
    assert len(_cross_fit("random_forest", {}, X, y, types, folds, Task.BINARY).models) == 5
    boosted = _cross_fit("lightgbm", {}, X, y, types, folds, Task.BINARY, out_of_bag=True)
    assert len(boosted.models) == 5
    unbagged = {"bootstrap": False}  # no bootstrap, no out-of-bag rows
    plain = _cross_fit("extra_trees", unbagged, X, y, types, folds, Task.BINARY, out_of_bag=True)
    assert len(plain.models) == 5


def test_what_would_leak_or_misalign_keeps_the_fit_per_fold():
    X, y, types, folds = _data(Task.BINARY)
    per_fold = {"out_of_bag": True}
    # target-built columns differ per fold: one forest on all rows would see every target
    own = [X[["a"]].copy() for _ in folds]
    fit = _cross_fit(
        "random_forest", {}, X, y, types, folds, Task.BINARY, fold_columns=own, **per_fold
    )
    assert len(fit.models) == 5
    # a row of weight 0 is left out of a fit, so the forest's rows would not be X's
    w = np.ones(len(y))
    w[3] = 0.0
    fit = _cross_fit("random_forest", {}, X, y, types, folds, Task.BINARY, w=w, **per_fold)
    assert len(fit.models) == 5
    # folds that validate only the later rows (a time split) are not a split of all rows
    order = np.arange(len(y))
    later = [(order[: 100 + 50 * k], order[100 + 50 * k : 150 + 50 * k]) for k in range(4)]
    fit = _cross_fit("random_forest", {}, X, y, types, later, Task.BINARY, **per_fold)
    assert len(fit.models) == 4

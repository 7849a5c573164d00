"""Forests predict from their trees' arrays, not through scikit-learn's per-tree checks and
thread pool: the values are bit for bit scikit-learn's own, missing values included, for
one row and for the row blocks a large batch is split into."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import make_classification, make_regression

from assay.models import ExtraTreesModel, RandomForestModel


@pytest.mark.parametrize("model_class", [RandomForestModel, ExtraTreesModel])
@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_a_forest_predicts_what_scikit_learn_does(model_class, task) -> None:
    if task == "regression":
        X, y = make_regression(n_samples=2500, n_features=6, noise=5.0, random_state=0)
    else:
        n_classes = 2 if task == "binary" else 4
        X, y = make_classification(
            n_samples=2500, n_features=6, n_informative=4, n_classes=n_classes, random_state=0
        )
    X[::9, 1] = np.nan  # the trees send missing values one way or the other
    model = model_class(task=task, n_estimators=40, n_jobs=2, random_state=1).fit(X, y)
    forest = model.model_
    expected = forest.predict(X) if task == "regression" else forest.predict_proba(X)
    got = model.predict(X) if task == "regression" else model.predict_proba(X)  # 2 blocks
    np.testing.assert_array_equal(got, expected)
    one = model.predict(X[:1]) if task == "regression" else model.predict_proba(X[:1])
    np.testing.assert_array_equal(one, expected[:1])

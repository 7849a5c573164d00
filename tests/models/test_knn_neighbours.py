"""kNN members of one prediction share their neighbour search, and a kNN model predicts as
scikit-learn's does."""

import numpy as np
import pandas as pd
import pytest
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor

from assay.features._encoder import shared_conversions
from assay.models import KNNModel


def _data(n: int, seed: int, task: str) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(n, 30)), columns=[f"x{i}" for i in range(30)])
    signal = X["x0"] + X["x1"] * X["x2"]
    if task == "regression":
        return X, signal.to_numpy() + rng.normal(scale=0.1, size=n)
    return X, np.digitize(signal, [-0.5, 0.5]) if task == "multiclass" else (signal > 0) * 1


def _spy(model: KNNModel) -> list[int]:
    """Counts the searches on the model's fitted scikit-learn estimator."""
    calls: list[int] = []
    search = model.model_.kneighbors

    def counted(*args, **kwargs):
        calls.append(kwargs.get("n_neighbors"))
        return search(*args, **kwargs)

    model.model_.kneighbors = counted
    return calls


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
@pytest.mark.parametrize("weights", ["uniform", "distance"])
@pytest.mark.parametrize("p", [1, 2])
def test_knn_predicts_as_scikit_learns_estimator(task, weights, p):
    X, y = _data(400, 0, task)
    X_test, _ = _data(50, 1, task)
    model = KNNModel(task=task, n_neighbors=7, weights=weights, p=p).fit(X, y)
    reference = (KNeighborsRegressor if task == "regression" else KNeighborsClassifier)(
        n_neighbors=7, weights=weights, p=p
    ).fit(model.prepare(X), y)
    expected = (
        reference.predict(model.prepare(X_test))
        if task == "regression"
        else reference.predict_proba(model.prepare(X_test))
    )
    got = model.predict(X_test) if task == "regression" else model.predict_proba(X_test)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)


def test_members_that_keep_the_same_rows_search_once():
    X, y = _data(500, 0, "binary")
    X_test, _ = _data(80, 1, "binary")
    five = KNNModel(task="binary", n_neighbors=5, weights="distance", p=1).fit(X, y)
    seven = KNNModel(task="binary", n_neighbors=7, weights="uniform", p=1).fit(X, y)
    euclid = KNNModel(task="binary", n_neighbors=5, p=2).fit(X, y)  # another distance
    other_rows = KNNModel(task="binary", n_neighbors=5, p=1).fit(X.iloc[:400], y[:400])
    models = [five, seven, euclid, other_rows]
    alone = [m.predict_proba(X_test) for m in models]
    calls = [_spy(m) for m in models]
    with shared_conversions():
        data = five.prepare(X_test)  # the members' shared input, as a predictor shares it
        together = [m.predict_prepared(data) for m in models]
    for a, b in zip(alone, together, strict=True):
        np.testing.assert_array_equal(a, b)
    assert [len(c) for c in calls] == [1, 0, 1, 1], calls  # seven took five's search
    assert calls[0] == [20]  # enough rows for both (alone, five asks 5 and seven 7)
    with shared_conversions():  # outside one prediction nothing is shared
        seven.predict_prepared(seven.prepare(X_test))
    assert len(calls[1]) == 1


def test_a_model_fitted_again_is_not_taken_for_its_earlier_rows():
    X, y = _data(300, 0, "binary")
    X_test, _ = _data(40, 1, "binary")
    first = KNNModel(task="binary", n_neighbors=5, p=1).fit(X, y)
    again = KNNModel(task="binary", n_neighbors=5, p=1).fit(X, y)
    first.predict_proba(X_test)  # its digest of X's rows is taken
    first.fit(X.iloc[:150], y[:150])
    with shared_conversions():
        data = first.prepare(X_test)
        theirs, mine = again.predict_prepared(data), first.predict_prepared(data)
    np.testing.assert_array_equal(mine, first.predict_proba(X_test))
    assert not np.array_equal(mine, theirs)

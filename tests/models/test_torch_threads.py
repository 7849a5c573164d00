"""Torch's thread count is the process's: a fit or a prediction that changes it gives it
back. XGBoost's prediction of a few rows set OpenMP (which torch shares) to one thread and
left it there, and so did the torch networks with their `n_jobs`; the sentence encoder then
ran on one thread for the rest of the process."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

torch = pytest.importorskip("torch", reason="torch's thread count needs the `nn` extra")

from assay.models import MLPModel, XGBoostModel, register_activation_resolver  # noqa: E402

SOFTSIGN = "def activation(x):\n    return x / (1 + torch.abs(x))\n"


@pytest.fixture
def three_torch_threads():
    """Torch set to 3 threads (not this machine's default, whatever its cores), put back."""
    before = torch.get_num_threads()
    torch.set_num_threads(3)
    yield 3
    torch.set_num_threads(before)


def _rows(n: int = 300) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n)})
    return X, (X.a.to_numpy() + X.b.to_numpy() > 0).astype(int)


def test_an_xgboost_prediction_of_one_row_gives_torch_its_threads_back(three_torch_threads):
    X, y = _rows()
    model = XGBoostModel(task="binary", n_estimators=5, n_jobs=2).fit(X, y)
    torch.set_num_threads(three_torch_threads)
    model.predict_proba(X.iloc[:1])  # fewer rows than a second thread pays for: one thread
    assert torch.get_num_threads() == three_torch_threads


def test_a_torch_network_fit_gives_torch_its_threads_back(three_torch_threads):
    register_activation_resolver("threads-test:", lambda name: SOFTSIGN)
    X, y = _rows()
    model = MLPModel(
        task="binary", activation="threads-test:softsign", hidden_size=8, n_estimators=2, n_jobs=1
    )
    model.fit(X, y)
    assert model.activation_code_ == SOFTSIGN  # the torch network, not the NumPy one
    assert torch.get_num_threads() == three_torch_threads

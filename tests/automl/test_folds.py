"""How many bagging folds a fit picks: by data size, and fewer when time is short."""

from __future__ import annotations

from assay import AutoML, Task
from assay.data import prepare
from assay.features import Encoding
from assay.search import Budget
from assay.testing import toy_frame


def _dataset(n_rows: int):
    frames, y = toy_frame(Task.REGRESSION, n_rows, seed=0)
    return prepare(frames[Encoding.NATIVE].assign(target=y), "target")


def test_a_short_budget_on_mid_size_data_fits_fewer_folds() -> None:
    automl = AutoML(time_limit_s=10, store=False)
    dataset = _dataset(12_000)
    models = {n: c for n, c in automl.chosen_models().items() if dataset.task in c.tasks}
    short = automl._auto_folds(dataset, None, models, Budget(10))
    long = automl._auto_folds(dataset, None, models, Budget(36_000))
    untimed = automl._auto_folds(dataset, None, models, Budget(float("inf")))
    assert (short, long, untimed) == (3, 8, 8)

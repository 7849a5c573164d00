"""A fit's forests: one forest on all rows scored out of bag by default, a forest per fold
where rows are tied together (groups) or when asked (`forests="folds"`)."""

from __future__ import annotations

import numpy as np
import pytest

from assay import AutoML, Task, load
from assay.features import Encoding
from assay.testing import toy_frame


def _data():
    frames, y = toy_frame(Task.BINARY, 400, seed=1)
    return frames[Encoding.NATIVE].assign(target=y, person=np.arange(400) % 40)


def _fit(data, groups=None, **settings) -> AutoML:
    automl = AutoML(models=["random_forest", "extra_trees"], n_trials=3, n_folds=4, store=False)
    return automl.set_params(**settings).fit(data, "target", groups=groups)


def _models_per_member(automl: AutoML) -> set[int]:
    return {len(m.models) for m in automl.predictor_.members}


def test_forests_fit_once_on_all_rows_and_the_predictor_round_trips(tmp_path):
    data = _data().drop(columns="person")
    automl = _fit(data)
    assert _models_per_member(automl) == {1}
    board = automl.leaderboard()
    assert np.isfinite(board.fold_std[board.model != "ensemble"]).all()  # a score per fold
    path = tmp_path / "model"
    automl.predictor_.save(path)
    again = load(path).predict_proba(data.head(50))
    np.testing.assert_allclose(again, automl.predictor_.predict_proba(data.head(50)))
    # deploy="fast" has nothing to refit: the forests already saw every row
    assert _models_per_member(_fit(data, deploy="fast")) == {1}


@pytest.mark.parametrize("how", [{"forests": "folds"}, {"groups": "person"}])
def test_groups_or_forests_folds_fit_a_forest_per_fold(how):
    data = _data() if "groups" in how else _data().drop(columns="person")
    assert _models_per_member(_fit(data, **how)) == {4}

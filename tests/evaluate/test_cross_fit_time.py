"""cross_fit under a deadline: folds of a model that respects its time limit run shorter
rather than waste the folds already fitted; a model too slow for what is left stops."""

import time

import numpy as np
import pandas as pd
import pytest

from assay import FeatureType, Task
from assay.evaluate import TrialTimeout, cross_fit, get_metric, make_folds
from assay.features import Encoding


class _Sleeper:
    """Predicts the mean after sleeping `seconds`, or only its time limit if `obeys`."""

    encoding = Encoding.ORDINAL

    def __init__(self, task, n_jobs, random_state, seconds=0.3, obeys=False):
        self.seconds, self.obeys = seconds, obeys

    def fit(self, X, y, X_val=None, y_val=None, time_limit_s=None):
        time.sleep(min(self.seconds, time_limit_s) if self.obeys else self.seconds)
        self.mean_ = float(np.mean(y))
        return self

    def predict(self, X):
        return np.full(len(X), self.mean_)


def _fit(config, seconds_left):
    y = np.arange(40, dtype=float)
    X = pd.DataFrame({"x": y})
    return cross_fit(
        _Sleeper,
        config,
        X,
        y,
        {"x": FeatureType.NUMERIC},
        make_folds(y, Task.REGRESSION, 4, random_state=0),
        task=Task.REGRESSION,
        metric=get_metric("rmse", Task.REGRESSION),
        n_classes=0,
        n_jobs=1,
        random_state=0,
        deadline=time.monotonic() + seconds_left,
    )


def test_a_model_that_obeys_its_limit_finishes_every_fold_on_what_is_left():
    fit = _fit({"seconds": 10.0, "obeys": True}, seconds_left=0.8)
    assert len(fit.models) == 4 and np.isfinite(fit.oof).all()


def test_a_model_that_cannot_fit_in_what_is_left_stops_and_reports_its_fold_time():
    with pytest.raises(TrialTimeout) as stopped:
        _fit({"seconds": 0.3}, seconds_left=0.6)
    assert stopped.value.fold_s >= 0.3

"""The constant predictor: class frequencies or the mean of the training target. It anchors
the normalized score (0) and stands in for any framework that fails, as in the AMLB."""

from __future__ import annotations

import time

import numpy as np


def constant_prediction(y, task: str, n_rows: int):
    if task == "regression":
        return np.full(n_rows, float(np.mean(y.astype(float)))), None
    counts = y.astype(str).value_counts().sort_index()
    proba = (counts / counts.sum()).to_numpy()
    return np.tile(proba, (n_rows, 1)), list(counts.index)


def fit_predict(train, test, spec):
    started = time.monotonic()
    pred, classes = constant_prediction(train[spec["target"]], spec["task"], len(test))
    elapsed = time.monotonic() - started
    return {"pred": pred, "classes": classes, "fit_s": elapsed, "predict_s": 0.0}

"""assay with default settings at the given budget."""

from __future__ import annotations

import time

import numpy as np


def fit_predict(train, test, spec):
    from assay import AutoML

    automl = AutoML(
        task=spec["task"],
        metric=spec["metric"],
        time_limit_s=spec["budget_s"],
        random_state=spec["seed"],
    )
    started = time.monotonic()
    automl.fit(train, target=spec["target"])
    fit_s = time.monotonic() - started
    started = time.monotonic()
    if spec["task"] == "regression":
        pred, classes = np.asarray(automl.predict(test), dtype=float), None
    else:
        proba = automl.predict_proba(test)
        pred, classes = proba.to_numpy(), list(proba.columns)
    return {
        "pred": pred,
        "classes": classes,
        "fit_s": fit_s,
        "predict_s": time.monotonic() - started,
    }

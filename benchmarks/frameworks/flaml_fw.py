"""FLAML AutoML with the learners installed in its environment."""

from __future__ import annotations

import time

from _timing import single_row_ms

PACKAGE = "flaml"

METRICS = {
    "auc": "roc_auc",
    "logloss": "log_loss",
    "rmse": "rmse",
    "accuracy": "accuracy",
    "f1": "f1",
}


def fit_predict(train, test, spec):
    from flaml import AutoML

    X, y = train.drop(columns=[spec["target"]]), train[spec["target"]]
    task = "regression" if spec["task"] == "regression" else "classification"
    automl = AutoML()
    started = time.monotonic()
    automl.fit(
        X,
        y,
        task=task,
        metric=METRICS[spec["metric"]],
        time_budget=spec["budget_s"],
        n_jobs=spec["n_jobs"],
        seed=spec["seed"],
        verbose=0,
    )
    fit_s = time.monotonic() - started
    started = time.monotonic()
    if task == "regression":
        pred, classes = automl.predict(test), None
    else:
        pred, classes = automl.predict_proba(test), list(automl.classes_)
    predict_s = time.monotonic() - started
    return {
        "pred": pred,
        "classes": classes,
        "fit_s": fit_s,
        "predict_s": predict_s,
        "single_row_ms": single_row_ms(automl.predict, test),
    }

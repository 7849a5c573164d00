"""LightGBM with its default parameters; text columns as pandas categories (the baseline)."""

from __future__ import annotations

import time

import pandas as pd
from _timing import single_row_ms

PACKAGE = "lightgbm"


def fit_predict(train, test, spec):
    import lightgbm as lgb

    target = spec["target"]
    X_train, X_test = train.drop(columns=[target]).copy(), test.copy()
    for column in X_train.columns:
        if not pd.api.types.is_numeric_dtype(X_train[column]):
            X_train[column] = X_train[column].astype("category")
            X_test[column] = pd.Categorical(
                X_test[column], categories=X_train[column].cat.categories
            )
    regression = spec["task"] == "regression"
    model = (lgb.LGBMRegressor if regression else lgb.LGBMClassifier)(
        random_state=spec["seed"], n_jobs=spec["n_jobs"], verbose=-1
    )
    y = train[target] if regression else train[target].astype(str)
    started = time.monotonic()
    model.fit(X_train, y)
    fit_s = time.monotonic() - started
    started = time.monotonic()
    if regression:
        pred, classes = model.predict(X_test), None
    else:
        pred, classes = model.predict_proba(X_test), list(model.classes_)
    predict_s = time.monotonic() - started
    return {
        "pred": pred,
        "classes": classes,
        "fit_s": fit_s,
        "predict_s": predict_s,
        "single_row_ms": single_row_ms(model.predict, X_test),  # rows already aligned
    }

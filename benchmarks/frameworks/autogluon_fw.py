"""AutoGluon TabularPredictor with a preset (best_quality or medium_quality)."""

from __future__ import annotations

import tempfile
import time

from _timing import single_row_ms

PACKAGE = "autogluon.tabular"

METRICS = {
    "auc": "roc_auc",
    "logloss": "log_loss",
    "rmse": "root_mean_squared_error",
    "accuracy": "accuracy",
    "f1": "f1",
}


def leaderboard_log(predictor) -> tuple[dict, str]:
    """What AutoGluon fitted, from its leaderboard (validation scores, no test data): each
    model's stack level, fit time and validation score, for `<results>_trials.jsonl.gz`,
    and a one-line summary for the row's notes (how many models, which stack levels ran,
    the best one). Whether its second layer runs at a budget is what this answers."""
    board = predictor.leaderboard()
    models = [
        {
            "model": str(row["model"]),
            "level": int(row["stack_level"]),
            "score_val": float(row["score_val"]),
            "fit_s": float(row["fit_time"]),
        }
        for _, row in board.iterrows()
    ]
    levels = sorted({m["level"] for m in models})
    best = predictor.model_best
    notes = f"models {len(models)}; stack levels {','.join(map(str, levels))}; best {best}"
    return {"leaderboard": models, "best": best}, notes


def fit_predict(train, test, spec):
    from autogluon.tabular import TabularPredictor

    with tempfile.TemporaryDirectory(prefix="ag-") as path:
        predictor = TabularPredictor(
            label=spec["target"],
            problem_type=spec["task"],
            eval_metric=METRICS[spec["metric"]],
            path=path,
            verbosity=0,
        )
        started = time.monotonic()
        predictor.fit(
            train,
            time_limit=spec["budget_s"],
            presets=spec["options"]["presets"],
            num_cpus=spec["n_jobs"],
        )
        fit_s = time.monotonic() - started
        started = time.monotonic()
        if spec["task"] == "regression":
            pred, classes = predictor.predict(test).to_numpy(dtype=float), None
        else:
            proba = predictor.predict_proba(test)
            pred, classes = proba.to_numpy(), list(proba.columns)
        predict_s = time.monotonic() - started
        one_ms = single_row_ms(predictor.predict, test)
        try:  # a record of the fit: its failure must not turn a scored run into an error
            log, notes = leaderboard_log(predictor)
        except Exception as exc:
            log, notes = {}, f"leaderboard unavailable: {type(exc).__name__}: {exc}"[:200]
    return {
        "log": log,
        "notes": notes,
        "pred": pred,
        "classes": classes,
        "fit_s": fit_s,
        "predict_s": predict_s,
        "single_row_ms": one_ms,
    }

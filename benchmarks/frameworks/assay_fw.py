"""assay with default settings at the given budget.

Its defaults (the packaged portfolio among them) are learned on the manifest's
`tabular_design` datasets (build_portfolio.py), never on the `tabular` suite it is judged
on."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from _timing import single_row_ms

PACKAGE = "assay"


def source_revision() -> str:
    """The commit of the imported assay source, with `-dirty` when src/ differs from it."""
    import subprocess

    import assay

    src = Path(assay.__file__).resolve().parent

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=src, capture_output=True, text=True)
        return done.stdout.strip() if done.returncode == 0 else ""

    commit = git("rev-parse", "--short=10", "HEAD") or "unknown"
    return commit + ("-dirty" if git("status", "--porcelain", "--", ".") else "")


def fit_log(automl) -> dict:
    """Where the budget went: every trial the store recorded (skipped and stopped ones too)
    with the seconds into the fit at which it was recorded and its weight in the ensemble,
    the folds and the stacking decision. run.py appends it to `<results>_trials.jsonl`."""
    from assay.automl._assemble import _short as short_config
    from assay.store import open_store

    store = open_store()
    run = store.get_run(automl.run_id_)
    info = automl.predictor_.info
    board = automl.leaderboard()
    weights = {  # a level-1 trial's weight in the ensemble, by its model and config as shown
        (m, c): w
        for m, c, w, level in zip(board.model, board.config, board.weight, board.level, strict=True)
        if level == 1
    }
    trials = [
        {
            "no": t.trial_no,
            "model": t.model,
            "state": t.state.value,
            "score": t.score,
            "fit_s": round(t.fit_time_s, 2),
            "predict_s": round(t.predict_time_s, 2),  # the held-out folds' predictions
            "at_s": round(t.created_at - run.created_at, 2),
            "error": (t.error or "")[:160],
            "config": t.config,
            "weight": weights.get((t.model, short_config(t.config))),
        }
        for t in store.trials(run.run_id)
    ]
    return {
        "n_folds": info.get("n_folds"),
        "ensemble_score": info.get("ensemble_score"),
        "stack": info.get("stack"),
        "trials": trials,
    }


def fit_predict(train, test, spec):
    from assay import AutoML

    automl = AutoML(
        task=spec["task"],
        metric=spec["metric"],
        time_limit_s=spec["budget_s"],
        random_state=spec["seed"],
        **spec["options"],  # the variant's settings (deploy, n_folds, stack, ...)
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
    predict_s = time.monotonic() - started
    info = automl.predictor_.info
    stack = info.get("stack", {})
    notes = (
        f"trials {info.get('n_trials')}; stack {'used' if stack.get('used') else 'not used'}: "
        f"{stack.get('reason', '')}"
    )
    return {
        "log": fit_log(automl),
        "notes": notes,
        "pred": pred,
        "classes": classes,
        "fit_s": fit_s,
        "predict_s": predict_s,
        "single_row_ms": single_row_ms(automl.predict, test),
    }

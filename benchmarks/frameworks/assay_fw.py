"""assay with default settings at the given budget."""

from __future__ import annotations

import time

import numpy as np

PACKAGE = "assay"


def source_revision() -> str:
    """The commit of the imported assay source, with `-dirty` when src/ differs from it."""
    import subprocess
    from pathlib import Path

    import assay

    src = Path(assay.__file__).resolve().parent

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=src, capture_output=True, text=True)
        return done.stdout.strip() if done.returncode == 0 else ""

    commit = git("rev-parse", "--short=10", "HEAD") or "unknown"
    return commit + ("-dirty" if git("status", "--porcelain", "--", ".") else "")


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

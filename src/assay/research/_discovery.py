"""Feature discovery for a research workspace: run once on the harness's training rows
(never the validation or holdout rows), kept in the harness folder, offered to proposers.

A discovery that was killed resumes from its checkpoint; one that finished (or ran out of
its time) is read back, so every later run of the loop proposes from the same list.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

import numpy as np
import pandas as pd

from assay.log import get_logger
from assay.research._harness import Harness

logger = get_logger(__name__)

RESULT = "discovery.json"
CHECKPOINT = "discovery-checkpoint.json"


def discovered_features(harness: Harness, seconds: float, n_jobs: int = 1) -> list[dict]:
    """[{"spec": ["ratio", "a", "b"], "text": "a / b", "gain": ...}, ...], best first."""
    done = harness.folder / RESULT
    if done.is_file():
        return list(json.loads(done.read_text())["features"])
    if seconds <= 0:
        return []
    from assay.data import infer_schema
    from assay.features import discover

    started = time.monotonic()
    dtype = {harness.target: str} if harness.task.is_classification else None
    train = pd.read_csv(harness.folder / "train.csv", dtype=dtype)
    labels = train.pop(harness.target)
    y = harness.encoded(labels)
    ids = np.asarray(harness.train_folds())
    folds = [(np.flatnonzero(ids != k), np.flatnonzero(ids == k)) for k in np.unique(ids)]
    logger.info("feature discovery on %d training rows, at most %.0fs", len(train), seconds)
    found = discover(
        train,
        y,
        infer_schema(train).types,
        harness.task,
        folds,
        checkpoint=harness.folder / CHECKPOINT,
        random_state=harness.seed,
        n_jobs=n_jobs,
        deadline=started + seconds,
    )
    features = [
        {"spec": s.to_list(), "text": s.text, "gain": g}
        for s, g in zip(found.specs, found.gains, strict=True)
    ]
    result: dict[str, Any] = {
        "features": features,
        "n_candidates": found.n_candidates,
        "stages": found.stages,
        "null_gain": found.null_gain,
        "base_loss": found.base_loss,
        "seconds": round(time.monotonic() - started, 1),
    }
    tmp = done.with_suffix(".tmp")
    tmp.write_text(json.dumps(result, indent=1))
    os.replace(tmp, done)
    for line in found.lines():
        logger.info("discovered: %s", line)
    return features

"""An ensemble member: one config bagged over folds, and how a level-2 member sees the
predictions of its inputs. Shared by the Predictor and the artifact that saves it."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from assay._types import Task
from assay.evaluate._cv import full_proba
from assay.features._encoder import shared_result

STACK_PREFIX = "__assay_stack_"


def stack_features(X: pd.DataFrame, base_preds: list[np.ndarray]) -> pd.DataFrame:
    """X with the bases' predictions as extra numeric columns (binary: P(class 1) only)."""
    columns: dict[str, np.ndarray] = {}
    for i, pred in enumerate(base_preds):
        if pred.ndim == 1:
            columns[f"{STACK_PREFIX}{i}"] = pred
        elif pred.shape[1] == 2:
            columns[f"{STACK_PREFIX}{i}"] = pred[:, 1]
        else:
            for c in range(pred.shape[1]):
                columns[f"{STACK_PREFIX}{i}_{c}"] = pred[:, c]
    return pd.concat([X, pd.DataFrame(columns, index=X.index)], axis=1)


@dataclass
class Member:
    """One ensemble member: a config bagged over folds (one encoder + model per fold).
    A level-2 member also sees the predictions of the members listed in `inputs` (indices
    into the predictor's members) as extra columns; a member kept only as such an input
    has weight 0."""

    model: str
    config: dict[str, Any]
    weight: float
    score: float
    encoders: list = field(default_factory=list)
    models: list = field(default_factory=list)
    fold_fit_s: float = 0.0  # seconds one fold model took to fit (training only, not saved)
    level: int = 1
    inputs: list[int] = field(default_factory=list)
    # which of the predictor's calibrated parts the member belongs to (`temperatures`): 0
    # for a fit's own predictor; a blend of predictors keeps one part per predictor
    part: int = 0
    # training only, not saved: boosters' kept rounds per fold (what a refit on all rows
    # trains for), and the trial checkpoint the fold models wait in until they are needed
    fold_rounds: list[int] = field(default_factory=list)
    checkpoint: Path | None = None

    def predict_raw(self, X: pd.DataFrame, task: Task, n_classes: int) -> np.ndarray:
        """The mean raw prediction of the fold models, as `predict_bagged` gives it. Within
        `shared_conversions`, fold models whose encoders give the same output share it, and
        share its conversion to their library's input (`Model.prepare`), so a single row
        costs a few conversions, not one per fold model."""
        preds = []
        for encoder, model in zip(self.encoders, self.models, strict=True):
            encoded = encoder.transform(X)
            prepare = partial(model.prepare, encoded)
            data = shared_result(encoded, ("prepared", type(model)), prepare)
            raw = model.predict_prepared(data)
            preds.append(full_proba(model, raw, n_classes) if task.is_classification else raw)
        return np.mean(preds, axis=0)

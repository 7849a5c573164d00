"""Feature discovery: rank thousands of candidate features cheaply, in stages, and keep
the few that add to what a model of the original columns already knows.

The starting point is a base model's out-of-fold raw predictions on the training rows (a
LightGBM of the original columns over the given folds). Each stage scores the candidates
still in the race on a growing sample of rows and keeps the better part:

1. a screen: how strongly the candidate tracks what the base model got wrong (rank
   correlation with the residual), on a small sample; cheap enough for every candidate;
2. successive halving: a small LightGBM of the candidate alone, boosting from the base
   model's predictions (its init score), trained on part of the sample and scored on the
   rest; the loss it removes is the candidate's gain (as in OpenFE's feature boosting).
   Each round doubles the rows and halves the candidates. Shuffled copies of a few
   candidates are scored beside them: a candidate is kept only if it beats the best of
   those, i.e. removes more loss than luck does at that many rows.

Every candidate is computed as `GeneratedFeatures` computes it for a model: learned from
the sample's rows, target means out of fold; in a boosting stage, target means are learned
from the half a candidate's LightGBM trains on and applied to the half it is scored on.
Scores are written to `checkpoint` (JSON) as they come, so a killed discovery resumes
where it stopped with the same result.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from assay._types import FeatureType, Task
from assay.features._operators import FeatureSpec, GeneratedFeatures, generate
from assay.log import get_logger

logger = get_logger(__name__)

SCREEN_ROWS = 2_000
SCREEN_KEEP = 256  # candidates past the screen
MIN_GAIN = 1e-6  # a gain below this (in loss units) is none
N_NULL = 5  # shuffled copies of candidates scored in each boosted stage
_NULL = "__shuffled_"
_CHUNK = 64  # candidates scored between checkpoint writes
_BOOST = {"num_leaves": 7, "learning_rate": 0.1, "verbose": -1}
_BOOST_ROUNDS = 30


@dataclass
class Discovery:
    """What discovery found: the kept specs, best first, with their gains (loss removed
    beyond the base model's on held-out rows of the last stage) and how it got there."""

    specs: list[FeatureSpec]
    gains: list[float]
    n_candidates: int
    stages: list[dict] = field(default_factory=list)  # rows, candidates in, kept, seconds
    base_loss: float = math.nan
    null_gain: float = math.nan  # the best gain of a shuffled feature: the bar to clear

    def lines(self) -> list[str]:
        return [f"{s.text}: gain {g:.4g}" for s, g in zip(self.specs, self.gains, strict=True)]


# -- the base model and the loss -------------------------------------------------------------
def model_frame(X: pd.DataFrame, types: Mapping[str, FeatureType]) -> pd.DataFrame:
    """The columns LightGBM takes as they are: numerics, and categories for the rest of
    the categorical and boolean columns (text and dates are left to the encoder)."""
    out = {}
    for col, ftype in types.items():
        if ftype is FeatureType.NUMERIC:
            out[col] = pd.to_numeric(X[col], errors="coerce").astype(float)
        elif ftype in (FeatureType.CATEGORICAL, FeatureType.BOOLEAN):
            out[col] = X[col].astype("string").astype("category")
    return pd.DataFrame(out, index=X.index)


def _objective(task: Task, n_classes: int) -> dict:
    if task is Task.REGRESSION:
        return {"objective": "regression"}
    if n_classes <= 2:
        return {"objective": "binary"}
    return {"objective": "multiclass", "num_class": n_classes}


def _loss(task: Task, y: np.ndarray, margin: np.ndarray) -> float:
    """Mean squared error, or log loss of the raw scores (sigmoid, softmax)."""
    if task is Task.REGRESSION:
        return float(np.mean((y - margin) ** 2))
    if margin.ndim == 1:
        p = 1 / (1 + np.exp(-np.clip(margin, -30, 30)))
        p = np.clip(p, 1e-12, 1 - 1e-12)
        return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))
    shifted = margin - margin.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return float(-np.mean(log_p[np.arange(len(y)), y.astype(int)]))


def base_margin(
    X: pd.DataFrame,
    y: np.ndarray,
    types: Mapping[str, FeatureType],
    task: Task,
    folds: Sequence[tuple[np.ndarray, np.ndarray]],
    n_classes: int,
    random_state: int = 0,
    n_jobs: int = 1,
) -> np.ndarray:
    """Out-of-fold raw predictions of a LightGBM on the original columns."""
    import lightgbm as lgb

    frame = model_frame(X, types)
    params = {
        **_objective(task, n_classes),
        "learning_rate": 0.1,
        "num_leaves": 31,
        "min_data_in_leaf": 20,
        "verbose": -1,
        "seed": random_state,
        "num_threads": n_jobs,
        "deterministic": True,
    }
    width = n_classes if task is not Task.REGRESSION and n_classes > 2 else 0
    out = np.zeros((len(X), width) if width else len(X))
    for fit_rows, held_rows in folds:
        booster = lgb.train(params, lgb.Dataset(frame.iloc[fit_rows], y[fit_rows]), 200)
        out[held_rows] = booster.predict(frame.iloc[held_rows], raw_score=True)
    return out


# -- scoring candidates ----------------------------------------------------------------------
def _residual(task: Task, y: np.ndarray, margin: np.ndarray) -> np.ndarray:
    """What the base model got wrong, one column per score."""
    if task is Task.REGRESSION:
        return (y - margin)[:, None]
    if margin.ndim == 1:
        return (y - 1 / (1 + np.exp(-np.clip(margin, -30, 30))))[:, None]
    p = np.exp(margin - margin.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    return np.eye(margin.shape[1])[y.astype(int)] - p


def _screen_score(values: pd.DataFrame, residual: np.ndarray) -> float:
    """The strongest rank correlation of any of the candidate's columns with any residual
    column (categories: how much of the residual's variance their means explain)."""
    best = 0.0
    for col in values.columns:
        v = values[col]
        if not pd.api.types.is_numeric_dtype(v):
            codes = pd.Series(pd.factorize(v)[0], index=v.index)
            for r in residual.T:
                means = pd.Series(r, index=v.index).groupby(codes).transform("mean")
                total = float(np.var(r))
                if total > 0:  # eta squared, shrunk by the number of categories
                    eta = float(np.var(means)) / total - codes.nunique() / len(codes)
                    best = max(best, math.sqrt(max(eta, 0.0)))
            continue
        x = v.rank().to_numpy()
        ok = ~np.isnan(x)
        if ok.sum() < 10 or np.ptp(x[ok]) == 0:
            continue
        for r in residual.T:
            c = np.corrcoef(x[ok], pd.Series(r[ok]).rank().to_numpy())[0, 1]
            if np.isfinite(c):
                best = max(best, abs(float(c)))
    return best


def _halves(values: pd.DataFrame, split: tuple[np.ndarray, np.ndarray]) -> list[tuple]:
    """A candidate's values of the two halves, each way round: (fit half, score half)."""
    frame = values.copy()
    for col in frame.columns:
        if not pd.api.types.is_numeric_dtype(frame[col]):
            frame[col] = frame[col].astype("category")
    return [(frame.iloc[a], frame.iloc[b]) for a, b in (split, split[::-1])]


def _target_halves(
    spec: FeatureSpec,
    X: pd.DataFrame,
    y: np.ndarray,
    folds: Sequence[tuple[np.ndarray, np.ndarray]],
    split: tuple[np.ndarray, np.ndarray],
    task: Task,
) -> list[tuple]:
    """A target-using candidate's values as `_halves` gives them, but learned from the fit
    half alone (out of fold within it) and applied to the score half: out-of-fold means of
    all the rows would hand the fit half means that carry the score half's labels, a gain
    that is only leak."""
    out = []
    for a, b in (split, split[::-1]):
        features = GeneratedFeatures([spec], task)
        fit = features.fit_transform(X.iloc[a], y[a], _sample_folds(a, folds))
        out.append((fit, features.transform(X.iloc[b])))
    return out


def _boost_gain(
    halves: list[tuple[pd.DataFrame, pd.DataFrame]],
    y: np.ndarray,
    margin: np.ndarray,
    task: Task,
    n_classes: int,
    split: tuple[np.ndarray, np.ndarray],
    n_jobs: int,
    random_state: int,
) -> float:
    """Loss removed by a small LightGBM of the candidate alone that starts from the base
    model's raw predictions: trained on one half of the rows, scored on the other at its
    best round, both ways round, averaged (a useless feature gains about nothing).
    `halves`: the candidate's (fit half, score half) values, each way round."""
    import lightgbm as lgb

    params = {
        **_objective(task, n_classes),
        **_BOOST,
        "min_data_in_leaf": max(20, len(split[0]) // 50),
        "seed": random_state,
        "num_threads": n_jobs,
        "deterministic": True,
    }
    gains = []
    for (fit_rows, score_rows), (fit_values, score_values) in zip(
        (split, split[::-1]), halves, strict=True
    ):
        data = lgb.Dataset(fit_values, y[fit_rows], init_score=margin[fit_rows])
        booster = lgb.train(params, data, _BOOST_ROUNDS)
        before = _loss(task, y[score_rows], margin[score_rows])
        best, held = before, margin[score_rows].copy()
        for tree in range(booster.num_trees() // max(1, n_classes if margin.ndim == 2 else 1)):
            held = held + booster.predict(
                score_values, raw_score=True, start_iteration=tree, num_iteration=1
            )
            best = min(best, _loss(task, y[score_rows], held))
        gains.append(before - best)
    return float(np.mean(gains))


# -- the stages ------------------------------------------------------------------------------
class _Checkpoint:
    """Scores by stage and candidate, appended to a JSON file as they are computed."""

    def __init__(self, path: Path | None, signature: dict):
        self.path, self.signature = path, signature
        self.scores: dict[str, dict[str, float]] = {}
        if path is not None and path.is_file():
            saved = json.loads(path.read_text())
            if saved.get("signature") == signature:
                self.scores = saved["scores"]
            else:
                logger.info("%s is from another discovery; starting afresh", path)

    def stage(self, name: str) -> dict[str, float]:
        return self.scores.setdefault(name, {})

    def save(self) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"signature": self.signature, "scores": self.scores}))
        os.replace(tmp, self.path)


def _sample(n: int, size: int, rng: np.random.Generator) -> np.ndarray:
    return np.sort(rng.permutation(n)[: min(n, size)])


def _sample_folds(
    rows: np.ndarray, folds: Sequence[tuple[np.ndarray, np.ndarray]]
) -> list[tuple[np.ndarray, np.ndarray]]:
    """The given folds restricted to the sampled rows (positions within the sample)."""
    position = {int(r): i for i, r in enumerate(rows)}
    out = []
    for _, held in folds:
        inside = np.array([position[int(r)] for r in held if int(r) in position], dtype=int)
        rest = np.setdiff1d(np.arange(len(rows)), inside)
        if len(inside) and len(rest):
            out.append((rest, inside))
    return out


def discover(
    X: pd.DataFrame,
    y: np.ndarray,
    types: Mapping[str, FeatureType],
    task: Task | str,
    folds: Sequence[tuple[np.ndarray, np.ndarray]],
    *,
    max_features: int = 20,
    max_candidates: int = 5_000,
    margin: np.ndarray | None = None,
    checkpoint: str | Path | None = None,
    random_state: int = 0,
    n_jobs: int = 1,
    deadline: float = math.inf,
) -> Discovery:
    """Candidates of `generate`, ranked in stages (see the module doc); at most
    `max_features` with a gain beyond MIN_GAIN are kept. `y` is encoded (class codes
    0..K-1, or numbers); `folds` are positions into X's rows. Stops ranking at `deadline`
    (a time.monotonic() value) and keeps the best of the stage it reached."""
    task = Task(task)
    y = np.asarray(y)
    n_classes = int(y.max()) + 1 if task is not Task.REGRESSION else 0
    started = time.monotonic()
    specs = generate(X, types, task, max_candidates=max_candidates)
    by_name = {s.name: s for s in specs}
    if margin is None:
        margin = base_margin(X, y, types, task, folds, n_classes, random_state, n_jobs)
    signature = {
        "n_rows": len(X),
        "columns": list(map(str, X.columns)),
        "task": task.value,
        "candidates": len(specs),
        "random_state": random_state,
        "max_features": max_features,
    }
    saved = _Checkpoint(None if checkpoint is None else Path(checkpoint), signature)
    rng = np.random.default_rng(random_state)
    result = Discovery([], [], len(specs), base_loss=_loss(task, y, margin))

    alive, boosted = list(by_name), {}
    size, stage_no = SCREEN_ROWS, 0
    while alive and time.monotonic() < deadline:
        rows = _sample(len(X), size, rng)
        X_rows, y_rows, margin_rows = X.iloc[rows], y[rows], margin[rows]
        sub_folds = _sample_folds(rows, folds)
        screen = stage_no == 0 and len(alive) > SCREEN_KEEP
        scores = saved.stage(f"{stage_no}")
        stage_started = time.monotonic()
        if screen:
            residual = _residual(task, y_rows, margin_rows)
        else:
            order = np.random.default_rng(random_state + stage_no).permutation(len(rows))
            half = len(rows) // 2
            split = (np.sort(order[:half]), np.sort(order[half:]))
            boosted = scores
        nulls = [] if screen else [f"{_NULL}{i}" for i in range(min(N_NULL, len(alive)))]
        todo = [name for name in (*alive, *nulls) if name not in scores]
        for start in range(0, len(todo), _CHUNK):
            if time.monotonic() >= deadline:
                break
            for name in todo[start : start + _CHUNK]:
                spec = by_name.get(name)
                if spec is not None and spec.uses_target and not screen:
                    halves = _target_halves(spec, X_rows, y_rows, sub_folds, split, task)
                    scores[name] = _boost_gain(
                        halves, y_rows, margin_rows, task, n_classes, split, n_jobs,
                        random_state,
                    )  # fmt: skip
                    continue
                if spec is None:  # a null: a candidate's values, rows shuffled: no signal
                    i = int(name.removeprefix(_NULL))
                    values = GeneratedFeatures([by_name[alive[i]]], task).fit_transform(
                        X_rows, y_rows, sub_folds
                    )
                    shuffle = np.random.default_rng(random_state + i).permutation(len(rows))
                    values = values.iloc[shuffle].set_index(values.index)
                else:
                    values = GeneratedFeatures([spec], task).fit_transform(
                        X_rows, y_rows, sub_folds
                    )
                if screen:
                    scores[name] = _screen_score(values, residual)
                else:
                    scores[name] = _boost_gain(
                        _halves(values, split), y_rows, margin_rows, task, n_classes, split,
                        n_jobs, random_state,
                    )  # fmt: skip
            saved.save()
        ranked = sorted((n for n in alive if n in scores), key=lambda n: -scores[n])
        last = not screen and (len(rows) >= len(X) or len(ranked) <= 2 * max_features)
        if screen:
            alive = ranked[:SCREEN_KEEP]
        elif not last:
            alive = ranked[: max(2 * max_features, len(ranked) // 2)]
            size *= 2
        result.stages.append(
            {
                "rows": len(rows),
                "candidates": len(ranked),
                "kept": len(alive),
                "kind": "screen" if screen else "boost",
                "seconds": round(time.monotonic() - stage_started, 2),
            }
        )
        if last:
            break
        stage_no += 1
    # the last boosted stage decides (out of time: as far as it got), over the best gain of
    # shuffled features: what luck alone removes at this many rows
    null = [g for n, g in boosted.items() if n.startswith(_NULL)]
    result.null_gain = max(null, default=0.0)
    bar = max(MIN_GAIN, result.null_gain)
    gains = sorted(
        ((n, g) for n, g in boosted.items() if g > bar and not n.startswith(_NULL)),
        key=lambda t: -t[1],
    )
    result.specs = [by_name[n] for n, _ in gains[:max_features]]
    result.gains = [float(g) for _, g in gains[:max_features]]
    logger.info(
        "feature discovery: %d candidates, %d kept in %.1fs",
        len(specs),
        len(result.specs),
        time.monotonic() - started,
    )
    return result

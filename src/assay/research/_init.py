"""`assay research init`: split the data into a hidden harness and start a git workspace.

The harness folder is made first and root-only (0700): the training rows, the validation
features, and the two things no experiment may read (validation labels, holdout). The
workspace gets only what people and proposers edit: program.md and pipeline.py.
"""

from __future__ import annotations

import copy
import json
import math
import shutil
import string
import time
import uuid
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from assay._types import Task
from assay.config import settings
from assay.errors import ConfigError, DataError, ResearchError
from assay.evaluate import get_metric
from assay.log import get_logger
from assay.research._config import read_config, write_config
from assay.research._harness import HARNESS_FILE, ROW, Harness, class_key
from assay.research._workspace import PIPELINE, POINTER, PROGRAM, Repo

logger = get_logger(__name__)

GITIGNORE = "results.tsv\noutputs/\n__pycache__/\n*.log\n"
MIN_ROWS_PER_PART = 5


def template(name: str) -> str:
    return (resources.files("assay.research") / "templates" / name).read_text()


def default_config() -> dict[str, Any]:
    return read_config(template(PIPELINE))


def init_research(
    data: Any,
    target: str,
    ws: str | Path,
    *,
    metric: str | None = None,
    task: str | Task | None = None,
    budget_per_exp_s: float = 60.0,
    holdout: float = 0.2,
    valid: float = 0.2,
    seed: int = 0,
    from_model: str | Path | None = None,
) -> Harness:
    """Create the harness (ASSAY_HOME/research/<id>) and the workspace `ws` (a git repo on
    branch `research` with program.md, pipeline.py and an initial commit)."""
    ws = Path(ws).expanduser().resolve()
    if ws.exists() and (not ws.is_dir() or any(ws.iterdir())):
        raise ResearchError(f"--dir {ws} exists and is not empty: give a new or empty folder")
    if not budget_per_exp_s > 0:
        raise ConfigError(
            f"--budget-per-exp {budget_per_exp_s!r}: give a positive number of seconds"
        )
    folder = settings().home.expanduser().resolve() / "research" / uuid.uuid4().hex[:12]
    made_ws = not ws.exists()
    try:
        harness = _write_harness(
            folder, data, target, ws, metric, task, budget_per_exp_s, holdout, valid, seed
        )
        config = default_config()
        if from_model is not None:
            config = config_from_predictor(from_model, harness.task)
        _write_workspace(ws, harness, config)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        if made_ws:
            shutil.rmtree(ws, ignore_errors=True)
        raise
    logger.info("research workspace %s, harness %s", ws, folder)
    return harness


def _write_harness(folder, data, target, ws, metric, task, budget_s, holdout, valid, seed):
    from assay.data import read_table
    from assay.data._task import parse_task
    from assay.data._validate import resolve_target
    from assay.features._encoder import as_strings

    frame = read_table(data)
    where = f"'{data}'" if isinstance(data, str | Path) else "the data"
    target = resolve_target(frame, target, where)
    if ROW in frame.columns:
        raise DataError(f"{where} has a column named {ROW!r}, which the harness uses for row ids")
    frame = frame[frame[target].notna()].reset_index(drop=True)
    y = frame[target]
    task = parse_task(task, y) if task is not None else _infer_task(y)
    metric = get_metric(metric, task)
    if task.is_classification:
        frame[target] = as_strings(y)
    parts = split_rows(frame[target], task, holdout, valid, seed)
    folder.mkdir(parents=True, mode=0o700)
    folder.chmod(0o700)
    train, valid_rows, hold = (frame.iloc[idx].reset_index(drop=True) for idx in parts)
    leakage = _leakage(frame, train, valid_rows, hold, target, task, where)
    valid_rows.insert(0, ROW, np.arange(len(valid_rows)))
    hold.insert(0, ROW, np.arange(len(hold)))
    files = {
        "train.csv": train,
        "valid.csv": valid_rows.drop(columns=[target]),
        "valid_labels.csv": valid_rows[[ROW, target]],
        "holdout.csv": hold,
    }
    for name, table in files.items():
        table.to_csv(folder / name, index=False)
        (folder / name).chmod(0o600)
    classes = (
        sorted(frame[target].unique().tolist(), key=class_key) if task.is_classification else []
    )
    spec = {
        "research_id": folder.name,
        "created_at": time.time(),
        "source": str(Path(data).resolve()) if isinstance(data, str | Path) else "DataFrame",
        "target": target,
        "task": task.value,
        "metric": metric.name,
        "greater_is_better": metric.greater_is_better,
        "classes": classes,
        "budget_per_exp_s": float(budget_s),
        "seed": int(seed),
        "seeds": {"split": int(seed), "run": int(seed)},
        "holdout_fraction": holdout,
        "valid_fraction": valid,
        "n_rows": {"train": len(train), "valid": len(valid_rows), "holdout": len(hold)},
        "workspace": str(ws),
        "leakage": leakage,
    }
    (folder / HARNESS_FILE).write_text(json.dumps(spec, indent=1))
    (folder / HARNESS_FILE).chmod(0o600)
    return Harness(folder)


def _leakage(frame, train, valid_rows, hold, target, task, where) -> list[str]:
    """Warnings about columns that give the target away, and about validation or holdout
    rows whose features are also training rows (their scores would reward memory)."""
    from assay.data import infer_schema
    from assay.data._leakage import leakage_warnings, row_fingerprints, seen_rows

    features = frame.drop(columns=[target])
    types = infer_schema(features).types
    messages = leakage_warnings(features, frame[target], task, types, where)
    known = np.unique(row_fingerprints(train.drop(columns=[target])))  # sorted
    for name, part in (("validation", valid_rows), ("holdout", hold)):
        n_seen = seen_rows(known, part[features.columns])
        if n_seen:
            messages.append(
                f"{n_seen} of the {len(part)} {name} rows of {where} have the same features "
                "as a training row, so their scores reward memorizing the training rows. "
                "Drop duplicated rows before `assay research init`."
            )
    for message in messages:
        logger.warning(message)
    return messages


def _infer_task(y: pd.Series) -> Task:
    from assay.data import infer_task

    return infer_task(y)


def split_rows(
    y: pd.Series, task: Task, holdout: float, valid: float, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row positions of (train, valid, holdout): stratified by class, a fixed seed."""
    from sklearn.model_selection import train_test_split

    for name, value in (("--holdout", holdout), ("--valid", valid)):
        if not 0 < value < 1:
            raise ConfigError(f"{name} {value!r}: give a fraction between 0 and 1, e.g. 0.2")
    if holdout + valid > 0.8:
        raise ConfigError(f"--holdout {holdout} + --valid {valid} leave too little to train on")
    n = len(y)
    if min(n * holdout, n * valid, n * (1 - holdout - valid)) < MIN_ROWS_PER_PART:
        raise DataError(
            f"{n} rows are too few to split into train, validation and holdout parts of at "
            f"least {MIN_ROWS_PER_PART} rows each; give more rows or larger fractions"
        )
    rows = np.arange(n)

    def split(idx: np.ndarray, size: float) -> list[np.ndarray]:
        labels = y.iloc[idx] if task.is_classification else None
        if labels is not None and labels.value_counts().min() < 2:
            logger.warning("a class has a single row: splitting without stratification")
            labels = None
        return train_test_split(idx, test_size=size, random_state=seed, stratify=labels)

    rest, hold = split(rows, holdout)
    train, val = split(rest, valid / (1 - holdout))
    return np.sort(train), np.sort(val), np.sort(hold)


def _write_workspace(ws: Path, harness: Harness, config: dict[str, Any]) -> None:
    repo = Repo.init(ws)
    metric = harness.metric
    program = string.Template(template(PROGRAM)).safe_substitute(
        target=harness.target,
        task=harness.task.value,
        metric=metric.name,
        direction="higher" if metric.greater_is_better else "lower",
        budget=f"{harness.budget_per_exp_s:g}",
    )
    (ws / PROGRAM).write_text(program)
    (ws / PIPELINE).write_text(write_config(template(PIPELINE), config))
    (ws / ".gitignore").write_text(GITIGNORE)
    pointer = {"research_id": harness.id, "harness": str(harness.folder)}
    (ws / POINTER).write_text(json.dumps(pointer, indent=1) + "\n")
    repo.git("add", PROGRAM, PIPELINE, ".gitignore", POINTER)
    repo.git("commit", "-q", "-m", "research init: the baseline pipeline")


# -- starting from a fitted predictor -----------------------------------------------------
def _literal(value: Any) -> Any:
    """Plain Python literals only (the config block is read with ast.literal_eval)."""
    if isinstance(value, bool | int | str) or value is None:
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, np.generic):
        return _literal(value.item())
    if isinstance(value, list | tuple):
        return [_literal(v) for v in value]
    return str(value)


def config_from_predictor(path: str | Path, task: Task | None = None) -> dict[str, Any]:
    """CONFIG from a predictor folder (`assay fit --out`): its best level-1 member as the
    tuned single model, and the families it ensembled as the AutoML setting."""
    from assay import load

    predictor = load(path)
    if task is not None and predictor.task is not task:
        raise ResearchError(
            f"--from {path}: the predictor does {predictor.task.value}, the data needs "
            f"{task.value}; give a predictor fitted for the same target"
        )
    metric = get_metric(predictor.metric, predictor.task)
    level1 = [m for m in predictor.members if m.level == 1]
    if not level1:
        raise ResearchError(f"--from {path}: the predictor has no level-1 member to start from")
    scored = [m for m in level1 if m.score is not None and math.isfinite(m.score)]
    best = min(scored, key=lambda m: metric.loss(m.score)) if scored else level1[0]
    config = copy.deepcopy(default_config())
    families = sorted({m.model for m in level1 if m.weight > 0}) or [best.model]
    config["automl"]["models"] = families
    n_folds = predictor.info.get("n_folds") or len(best.models)  # a forest out of bag has one
    config["automl"]["n_folds"] = n_folds if n_folds >= 2 else None
    params = {str(k): _literal(v) for k, v in best.config.items()}
    config["single_model"] = {"model": best.model, "params": params}
    return config

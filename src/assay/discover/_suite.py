"""The fixed suite a component is evaluated on: scikit-learn's bundled datasets, plus public
ones from the benchmark manifest when ASSAY_DATASETS holds them.

Each dataset becomes numeric arrays once (categories one-hot, missing values to the median,
at most MAX_ROWS rows drawn with a fixed seed), so every hypothesis sees the same rows. The
suite saves to one .npz file, which is how it reaches a sandboxed evaluation.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from assay._types import Task
from assay.errors import DataError
from assay.log import get_logger

logger = get_logger(__name__)

MAX_ROWS = 1500
SKLEARN = ("breast_cancer", "wine", "digits", "diabetes")
MANIFEST = ("phoneme", "kc1", "segment", "wine-quality-red", "abalone")


@dataclass(frozen=True)
class SuiteDataset:
    name: str
    task: Task
    X: np.ndarray  # float32, rows x features, not scaled
    y: np.ndarray  # int64 class codes, or float32 targets

    @property
    def n_classes(self) -> int:
        return int(self.y.max()) + 1 if self.task.is_classification else 1


def _sklearn(name: str) -> SuiteDataset:
    from sklearn import datasets

    bunch = getattr(datasets, f"load_{name}")()
    task = Task.REGRESSION if name == "diabetes" else Task.BINARY
    if name in ("wine", "digits"):
        task = Task.MULTICLASS
    return _finish(name, task, pd.DataFrame(bunch.data), pd.Series(bunch.target))


def _manifest(name: str, root: str | Path | None) -> SuiteDataset:
    from assay.data import load_benchmark

    frame, spec = load_benchmark(name, root)
    y = frame.pop(spec.target)
    return _finish(name, Task(spec.task), frame, y)


def _finish(name: str, task: Task, X: pd.DataFrame, y: pd.Series) -> SuiteDataset:
    rng = np.random.default_rng(0)
    if len(X) > MAX_ROWS:
        keep = np.sort(rng.choice(len(X), size=MAX_ROWS, replace=False))
        X, y = X.iloc[keep], y.iloc[keep]
    numeric = X.apply(pd.to_numeric, errors="coerce")
    text = [c for c in X.columns if numeric[c].isna().mean() > 0.5 and X[c].notna().any()]
    frame = numeric.drop(columns=text)
    if text:
        frame = pd.concat([frame, pd.get_dummies(X[text].astype(str), dtype=float)], axis=1)
    frame = frame.fillna(frame.median()).fillna(0.0)
    frame = frame.loc[:, frame.std() > 0]
    if task.is_classification:
        codes = pd.factorize(y.astype(str), sort=True)[0]
        target = codes.astype(np.int64)
    else:
        target = pd.to_numeric(y, errors="coerce").to_numpy(dtype=np.float32)
    return SuiteDataset(name, task, frame.to_numpy(dtype=np.float32), target)


def load_suite(
    names: tuple[str, ...] | None = None, root: str | Path | None = None
) -> list[SuiteDataset]:
    """The default suite (or `names`); manifest datasets that are absent are left out."""
    wanted = names or (*SKLEARN, *MANIFEST)
    suite = []
    for name in wanted:
        try:
            suite.append(_sklearn(name) if name in SKLEARN else _manifest(name, root))
        except DataError as exc:
            if names:  # asked for by name: say so
                raise
            logger.info("suite: %s left out (%s)", name, exc)
    if not suite:
        raise DataError("the evaluation suite is empty: give dataset names that exist.")
    return suite


def save_suite(suite: list[SuiteDataset], path: Path) -> Path:
    arrays: dict[str, Any] = {}  # np.savez's keyword arrays
    for i, ds in enumerate(suite):
        arrays[f"{i}:X"], arrays[f"{i}:y"] = ds.X, ds.y
    meta = np.array([f"{ds.name}|{ds.task.value}" for ds in suite])
    np.savez(path, meta=meta, **arrays)
    return path


def read_suite(path: Path) -> list[SuiteDataset]:
    with np.load(path, allow_pickle=False) as data:
        out = []
        for i, entry in enumerate(data["meta"]):
            name, task = str(entry).split("|")
            out.append(SuiteDataset(name, Task(task), data[f"{i}:X"], data[f"{i}:y"]))
    return out

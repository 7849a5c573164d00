"""The predictions file a candidate writes, read by trusted code that assumes nothing
about it; and the paired bootstrap that says how much a gain between two candidates'
predictions on the same rows could be luck of the draw."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from assay.errors import InvalidOutput
from assay.evaluate._metrics import Metric

ROW = "__row__"
PREDICTIONS = "predictions.csv"
OOF = "oof.csv"  # optional: out-of-fold predictions of the training rows
_MAX_BYTES_PER_CELL = 64  # a predictions file larger than this per expected cell is refused
_PROBA_TOLERANCE = 1e-3
N_BOOTSTRAP = 200


def read_predictions(
    path: Path, rows: pd.Index, columns: list[str], table: str = "valid.csv"
) -> pd.DataFrame:
    """A predictions file, checked defensively: size, exact row ids (one per row of
    `table`), the expected columns, finite numbers. Indexed by `__row__`."""
    name = path.name
    if not path.is_file():
        raise InvalidOutput(f"outputs/{name} was not written")
    cap = 4096 + _MAX_BYTES_PER_CELL * (len(rows) + 1) * (len(columns) + 2)
    size = path.stat().st_size
    if size > cap:
        raise InvalidOutput(f"outputs/{name} is {size} bytes, over the {cap} expected")
    try:
        frame = pd.read_csv(path)
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise InvalidOutput(f"outputs/{name} is not a readable CSV: {exc}") from exc
    names = [str(c) for c in frame.columns]
    missing = [c for c in [ROW, *columns] if c not in names]
    if missing:
        raise InvalidOutput(f"outputs/{name} lacks the column(s) {missing}")
    allowed = {ROW, "prediction", *columns}
    extra = [c for c in names if c not in allowed]
    if extra:
        raise InvalidOutput(f"outputs/{name} has unexpected column(s) {extra[:5]}")
    ids = pd.to_numeric(frame[ROW], errors="coerce")
    if ids.isna().any() or (ids != ids.round()).any():
        raise InvalidOutput(f"outputs/{name}: {ROW} must hold the integer row ids given")
    ids = ids.astype(np.int64)
    if ids.duplicated().any():
        raise InvalidOutput(f"outputs/{name} repeats {ROW} {int(ids[ids.duplicated()].iloc[0])}")
    expected = set(int(r) for r in rows)
    got = set(ids.tolist())
    if got != expected:
        lost, unknown = sorted(expected - got), sorted(got - expected)
        raise InvalidOutput(
            f"outputs/{name} must have one line per row of {table}: {len(lost)} "
            f"row(s) missing (e.g. {lost[:3]}), {len(unknown)} unknown (e.g. {unknown[:3]})"
        )
    values = frame[columns].apply(pd.to_numeric, errors="coerce").astype(float)
    bad = [c for c in columns if not np.isfinite(values[c].to_numpy()).all()]
    if bad:
        raise InvalidOutput(
            f"outputs/{name} has missing, non-numeric or infinite values in {bad[:5]}"
        )
    values.index = pd.Index(ids.to_numpy(), name=ROW)
    return values


def check_probabilities(proba: np.ndarray) -> None:
    if (proba < -1e-6).any() or (proba > 1 + 1e-6).any():
        raise InvalidOutput("class probabilities must lie between 0 and 1")
    sums = proba.sum(axis=1)
    off = np.abs(sums - 1.0) > _PROBA_TOLERANCE
    if off.any():
        raise InvalidOutput(
            f"the class probabilities of {int(off.sum())} row(s) do not sum to 1 "
            f"(e.g. {float(sums[off][0]):.4f})"
        )


def paired_gain_se(
    metric: Metric, y: np.ndarray, new: np.ndarray, best: np.ndarray, random_state: int = 0
) -> float:
    """Standard error of `new`'s gain over `best` (positive = better), both scored on the
    same rows, by resampling those rows: how large a gain luck alone can make."""
    rng = np.random.default_rng(random_state)
    gains = []
    for _ in range(N_BOOTSTRAP):
        idx = rng.integers(0, len(y), len(y))
        try:
            gain = metric.loss(metric(y[idx], best[idx])) - metric.loss(metric(y[idx], new[idx]))
        except ValueError:  # a resample with one class only
            continue
        if np.isfinite(gain):
            gains.append(gain)
    return float(np.std(gains, ddof=1)) if len(gains) >= 20 else 0.0

"""Small deterministic toy data, already encoded the three ways models consume it.

The target depends on numerics (linearly and through one interaction) and on a categorical
column, so every sane family can learn it, and there are missing values in both kinds.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from assay._types import Encoding, Task

_CATEGORIES = {"color": ["red", "green", "blue"], "size": ["s", "m", "l", "xl"]}
_COLOR_EFFECT = np.array([1.0, -0.5, 0.0])


def toy_frame(
    task: Task | str, n_rows: int = 300, seed: int = 0
) -> tuple[dict[Encoding, Any], np.ndarray]:
    """Return ({Encoding: X}, y): classes are labels 0..K-1 (K=2 or 3), regression is float."""
    task = Task(task)
    rng = np.random.default_rng(seed)
    numeric = rng.normal(size=(n_rows, 4))
    codes = {name: rng.integers(len(cats), size=n_rows) for name, cats in _CATEGORIES.items()}
    signal = (
        1.5 * numeric[:, 0]
        - numeric[:, 1]
        + 0.5 * numeric[:, 2] * numeric[:, 3]
        + _COLOR_EFFECT[codes["color"]]
    )
    # Missing values after the signal is computed: the models see less than the truth.
    numeric[rng.random(n_rows) < 0.05, 3] = np.nan
    codes["size"][rng.random(n_rows) < 0.1] = -1
    if task is Task.REGRESSION:
        y = signal + 0.1 * rng.normal(size=n_rows)
    else:
        n_classes = 2 if task is Task.BINARY else 3
        edges = np.quantile(signal, np.linspace(0, 1, n_classes + 1)[1:-1])
        y = np.searchsorted(edges, signal + 0.1 * rng.normal(size=n_rows)).astype(np.int64)
    return _encode(numeric, codes), y


def _encode(numeric: np.ndarray, codes: dict[str, np.ndarray]) -> dict[Encoding, Any]:
    """What assay.features would produce for these columns, without depending on it."""
    frame = pd.DataFrame(numeric, columns=[f"x{i}" for i in range(numeric.shape[1])])
    for name, cats in _CATEGORIES.items():
        frame[name] = pd.Categorical.from_codes(codes[name], categories=cats)
    medians = np.nanmedian(numeric, axis=0)
    imputed = np.where(np.isnan(numeric), medians, numeric)
    ordinal = np.column_stack([imputed, *(codes[n].astype(np.float64) for n in _CATEGORIES)])
    scaled = (imputed - imputed.mean(axis=0)) / imputed.std(axis=0)
    onehot = [
        (codes[name][:, None] == np.arange(len(cats))).astype(np.float64)
        for name, cats in _CATEGORIES.items()
    ]
    return {
        Encoding.NATIVE: frame,
        Encoding.ORDINAL: ordinal,
        Encoding.ONEHOT: np.column_stack([scaled, *onehot]),
    }

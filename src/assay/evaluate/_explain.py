"""What a fitted predictor learned, asked of held-out rows: which inputs matter
(permutation importance with bootstrap confidence intervals) and how the prediction moves
with one input (partial dependence, with individual curves).

Both work on raw columns through the whole predictor (derived text and pair features,
every ensemble member), so they describe what is deployed, not one model inside it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, overload

import numpy as np
import pandas as pd

from assay._types import FeatureType
from assay.errors import ConfigError, DataError
from assay.evaluate._metrics import get_metric
from assay.evaluate._weighted import weighted_scorer

BATCH_ROWS = 20_000  # rows per predictor call when shuffling columns


@overload
def read_rows(
    predictor: Any, data: Any, *, need_target: Literal[True], purpose: str = ...
) -> tuple[pd.DataFrame, np.ndarray]: ...
@overload
def read_rows(
    predictor: Any, data: Any, *, need_target: bool, purpose: str = ...
) -> tuple[pd.DataFrame, np.ndarray | None]: ...
def read_rows(
    predictor, data, *, need_target: bool, purpose: str = "explaining"
) -> tuple[pd.DataFrame, np.ndarray | None]:
    """The feature columns checked against the predictor's schema, and the target encoded
    as the predictor's models see it (class index, or float); rows without a target are
    left out. `purpose` names what needs the target, for the error when it is absent."""
    from assay.data import check_predict_frame, read_table

    where = "the data" if isinstance(data, pd.DataFrame) else str(data)
    frame = data if isinstance(data, pd.DataFrame) else read_table(data)
    y = None
    if predictor.target in frame.columns:
        labels = frame[predictor.target]
        keep = labels.notna().to_numpy()
        frame, labels = frame[keep], labels[keep]
        y = encode_target(predictor, labels, where)
    elif need_target:
        raise DataError(
            f"{where} has no column '{predictor.target}' (the target): {purpose} needs "
            "held-out rows with their true values."
        )
    X = check_predict_frame(
        frame.drop(columns=[predictor.target], errors="ignore"), predictor.schema
    )
    return X, y


def encode_target(predictor, labels: pd.Series, where: str) -> np.ndarray:
    if predictor.classes is None:
        values = pd.to_numeric(labels, errors="coerce")
        if values.isna().any():
            bad = labels[values.isna()].iloc[0]
            raise DataError(
                f"{where}: target '{predictor.target}' has a non-numeric value {bad!r}; "
                "a regression predictor needs numbers."
            )
        return values.to_numpy(dtype=float)
    index = {str(c): i for i, c in enumerate(predictor.classes)}
    codes = labels.map(lambda v: index.get(str(v), -1)).to_numpy()
    if (codes < 0).any():
        unknown = sorted({str(v) for v in labels[codes < 0]})[:5]
        raise DataError(
            f"{where}: target '{predictor.target}' has classes {unknown} the predictor never "
            f"saw (it knows {[str(c) for c in predictor.classes]}): drop those rows."
        )
    return codes.astype(int)


def used_columns(predictor) -> list[str]:
    return [
        c.name for c in predictor.schema.columns if c.type.is_used and c.name != predictor.target
    ]


def _sample(X, y, max_rows: int, random_state: int):
    if len(X) <= max_rows:
        return X, y
    rows = np.sort(np.random.default_rng(random_state).choice(len(X), max_rows, replace=False))
    return X.iloc[rows], None if y is None else y[rows]


def permutation_importance(
    predictor,
    data,
    *,
    metric: str | None = None,
    n_repeats: int = 5,
    n_boot: int = 200,
    max_rows: int = 5000,
    alpha: float = 0.05,
    random_state: int = 0,
) -> pd.DataFrame:
    """How much the metric worsens when one column's values are shuffled, on held-out rows.

    Each column is shuffled `n_repeats` times; the confidence interval comes from a
    bootstrap over rows of the score drop averaged over the shuffles, so it reflects the
    sampling of the held-out rows, not only the shuffling. `p_value` is the bootstrap share
    of drops at or below zero (one-sided: the column does not help)."""
    if n_repeats < 1 or n_boot < 10:
        raise ConfigError(
            f"n_repeats={n_repeats}, n_boot={n_boot}: give n_repeats >= 1, n_boot >= 10."
        )
    X, y = read_rows(predictor, data, need_target=True)
    X, y = _sample(X, y, max_rows, random_state)
    task_metric = get_metric(metric or predictor.metric, predictor.task).for_classes(
        predictor.classes
    )
    rng = np.random.default_rng(random_state)
    n = len(X)
    base = weighted_scorer(task_metric, y, predictor._raw(X))
    weights = [np.ones(n)] + [
        np.bincount(rng.integers(0, n, n), minlength=n).astype(float) for _ in range(n_boot)
    ]
    base_scores = np.array([base(w) for w in weights])
    sign = 1.0 if task_metric.greater_is_better else -1.0
    columns = used_columns(predictor)
    shuffled_raw = _predict_shuffled(predictor, X, columns, n_repeats, rng)
    rows = []
    for column in columns:
        raw = shuffled_raw[column]
        drops = np.zeros(len(weights))
        for r in range(n_repeats):
            scorer = weighted_scorer(task_metric, y, raw[r * n : (r + 1) * n])
            drops += sign * (base_scores - np.array([scorer(w) for w in weights]))
        drops /= n_repeats
        boot = drops[1:][np.isfinite(drops[1:])]
        low, high = np.quantile(boot, [alpha / 2, 1 - alpha / 2]) if len(boot) else (np.nan,) * 2
        rows.append(
            {
                "feature": column,
                "importance": float(drops[0]),
                "ci_low": float(low),
                "ci_high": float(high),
                "p_value": float(np.mean(boot <= 0)) if len(boot) else np.nan,
            }
        )
    table = pd.DataFrame(rows).sort_values("importance", ascending=False, ignore_index=True)
    table.attrs.update(metric=task_metric.name, n_rows=n, n_repeats=n_repeats, n_boot=n_boot)
    return table


def _predict_shuffled(predictor, X, columns, n_repeats, rng) -> dict[str, np.ndarray]:
    """Predictions with each column shuffled `n_repeats` times, several columns to one
    predictor call: every call runs each member's fold models once, so fewer, larger calls
    are several times faster than one call per column."""
    n = len(X)
    per_call = max(1, BATCH_ROWS // (n * n_repeats))
    out = {}
    for start in range(0, len(columns), per_call):
        group = columns[start : start + per_call]
        blocks = []
        for column in group:
            block = pd.concat([X] * n_repeats, ignore_index=True)
            block[column] = np.concatenate(
                [X[column].to_numpy()[rng.permutation(n)] for _ in range(n_repeats)]
            )
            blocks.append(block)
        raw = predictor._raw(pd.concat(blocks, ignore_index=True))
        size = n * n_repeats
        out.update({column: raw[i * size : (i + 1) * size] for i, column in enumerate(group)})
    return out


@dataclass(frozen=True)
class PartialDependence:
    feature: str
    grid: list
    outputs: list[str]  # what each column of `mean` is: a class's probability, or "prediction"
    mean: np.ndarray  # (len(grid), len(outputs))
    ice: np.ndarray  # (n_rows, len(grid)) for the first output: one curve per row

    def to_frame(self) -> pd.DataFrame:
        frame = pd.DataFrame(self.mean, columns=self.outputs)
        frame.insert(0, self.feature, self.grid)
        return frame


def _grid(column: pd.Series, ftype: FeatureType, size: int) -> list:
    if ftype is FeatureType.NUMERIC:
        values = pd.to_numeric(column, errors="coerce").dropna()
        if values.nunique() <= size:
            return sorted(values.unique().tolist())
        return np.unique(np.quantile(values, np.linspace(0.05, 0.95, size))).tolist()
    if ftype in (FeatureType.CATEGORICAL, FeatureType.BOOLEAN):
        return column.dropna().value_counts().index[:size].tolist()
    raise ConfigError(
        f"Partial dependence of '{column.name}' ({ftype.value}) is not supported: choose a "
        "numeric, categorical or boolean column."
    )


def partial_dependence(
    predictor,
    data,
    feature: str,
    *,
    grid_size: int = 20,
    max_rows: int = 300,
    random_state: int = 0,
) -> PartialDependence:
    """The mean prediction when every row's `feature` is set to each grid value in turn
    (binary: the positive class's probability; multiclass: every class's)."""
    types = {c.name: c.type for c in predictor.schema.columns}
    if feature not in used_columns(predictor):
        raise ConfigError(
            f"feature={feature!r} is not an input of this predictor; choose one of "
            f"{used_columns(predictor)[:20]}."
        )
    X, _ = read_rows(predictor, data, need_target=False)
    X, _ = _sample(X, None, max_rows, random_state)
    grid = _grid(X[feature], types[feature], grid_size)
    n = len(X)
    frame = pd.concat([X] * len(grid), ignore_index=True)
    frame[feature] = pd.Series(np.repeat(np.asarray(grid, dtype=object), n)).astype(
        X[feature].dtype
    )
    raw = predictor._raw(frame)
    if predictor.classes is None:
        raw, outputs = raw[:, None], ["prediction"]
    elif len(predictor.classes) == 2:
        raw, outputs = raw[:, 1:], [f"P({predictor.classes[1]})"]
    else:
        outputs = [f"P({c})" for c in predictor.classes]
    per_grid = raw.reshape(len(grid), n, -1)
    return PartialDependence(feature, grid, outputs, per_grid.mean(axis=1), per_grid[:, :, 0].T)

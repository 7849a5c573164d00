"""Feature operators: candidate features generated from the training rows, each a plain
`FeatureSpec` (an operator name and the columns it reads) that a person can read and that
pipeline.py or a predictor can apply.

    specs = generate(X, types, task)               # thousands of candidates, cheap to list
    features = GeneratedFeatures(specs[:20])
    new_train = features.fit_transform(X, y, folds) # learned from the training rows only
    new_valid = features.transform(X_valid)

What an operator learns (group means, category counts, bin edges, target means) comes from
the rows given to `fit_transform`; target means are out of fold there, so a training row's
value never saw its own label. Unseen groups and categories become missing values.
`fold_columns` gives the target means once more per fold, so that the model of fold k
trains on none of fold k's labels (cross_fit puts them in place); without it, out-of-fold
scores of a model that sees a group and its target mean are optimistic.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd

from assay._types import FeatureType, Task

ARITHMETIC = {"add": "+", "sub": "-", "mul": "*", "ratio": "/"}
GROUP_STATS = {"mean_by": "mean", "std_by": "std", "dev_by": "deviation", "rank_by": "rank"}
SINGLE = {"count": "count", "target_mean": "target mean", "bins": "bins"}
OPERATORS = (*ARITHMETIC, *GROUP_STATS, *SINGLE, "cross")
MAX_GROUP_KEYS = 64  # a numeric column with at most this many values can be a group key
N_BINS = 10
SMOOTHING = 10.0  # target means shrink to the overall mean by this many rows' weight
_RANK_POINTS = 21  # quantiles kept per group for rank_by


@dataclass(frozen=True)
class FeatureSpec:
    """One candidate: an operator and the columns it reads, e.g. ("ratio", ("a", "b"))."""

    op: str
    columns: tuple[str, ...]

    def __post_init__(self) -> None:
        arity = 2 if self.op in ARITHMETIC or self.op in GROUP_STATS or self.op == "cross" else 1
        if self.op not in OPERATORS or len(self.columns) != arity:
            raise ValueError(
                f"feature {self.op!r} of {list(self.columns)}: operators are "
                f"{', '.join(OPERATORS)}, with two columns for arithmetic, group statistics "
                "and crosses, one otherwise"
            )

    @classmethod
    def of(cls, item: Sequence[str] | FeatureSpec) -> FeatureSpec:
        """From a spec or its list form ["ratio", "a", "b"] (as pipeline.py writes it)."""
        if isinstance(item, FeatureSpec):
            return item
        op, *columns = item
        return cls(str(op), tuple(map(str, columns)))

    def to_list(self) -> list[str]:
        return [self.op, *self.columns]

    @property
    def name(self) -> str:
        """A column name without spaces or symbols other models choke on."""
        return "__".join((*self.columns[:1], self.op, *self.columns[1:]))

    @property
    def text(self) -> str:
        """What the feature is, in words: "a / b", "mean of x by g", "target mean of g"."""
        if self.op in ARITHMETIC:
            return f"{self.columns[0]} {ARITHMETIC[self.op]} {self.columns[1]}"
        if self.op in GROUP_STATS:
            return f"{GROUP_STATS[self.op]} of {self.columns[0]} by {self.columns[1]}"
        if self.op == "cross":
            return f"{self.columns[0]} x {self.columns[1]}"
        return f"{SINGLE[self.op]} of {self.columns[0]}"

    @property
    def categorical(self) -> bool:
        """Whether the values are categories (a cross), not numbers."""
        return self.op == "cross"

    @property
    def uses_target(self) -> bool:
        return self.op == "target_mean"


# -- generating candidates ------------------------------------------------------------------
def group_keys(X: pd.DataFrame, types: Mapping[str, FeatureType]) -> list[str]:
    """Columns whose values make groups: categoricals and booleans, and numerics with few
    distinct values (codes stored as numbers)."""

    def few_codes(col: str) -> bool:
        return 2 < X[col].nunique() <= MAX_GROUP_KEYS

    return [
        col
        for col, ftype in types.items()
        if ftype in (FeatureType.CATEGORICAL, FeatureType.BOOLEAN)
        or (ftype is FeatureType.NUMERIC and few_codes(col))
    ]


def generate(
    X: pd.DataFrame,
    types: Mapping[str, FeatureType],
    task: Task | str,
    *,
    max_candidates: int = 5_000,
) -> list[FeatureSpec]:
    """Every candidate of the operators over X's columns: first-order ones (counts, target
    means, bins), group statistics, then arithmetic on numeric pairs and crosses of
    categoricals, until `max_candidates`. Where pairs are too many, the numerics with the
    most distinct values come first (a stand-in for information that needs no labels)."""
    del task  # every operator applies to every task; kept for the operator interface
    numerics = [c for c, t in types.items() if t is FeatureType.NUMERIC and X[c].nunique() > 2]
    numerics.sort(key=lambda c: -X[c].nunique())
    keys = group_keys(X, types)
    counted = [
        c
        for c, t in types.items()
        if t in (FeatureType.CATEGORICAL, FeatureType.TEXT, FeatureType.DATETIME) or c in keys
    ]
    first = [FeatureSpec("count", (c,)) for c in counted]
    first += [FeatureSpec("target_mean", (c,)) for c in keys if types[c] is not FeatureType.BOOLEAN]
    first += [FeatureSpec("bins", (c,)) for c in numerics if c not in keys]
    grouped = [
        FeatureSpec(op, (x, g)) for x in numerics for g in keys if x != g for op in GROUP_STATS
    ]
    pairs = [FeatureSpec(op, (a, b)) for a, b in combinations(numerics, 2) for op in ARITHMETIC]
    pairs += [FeatureSpec("ratio", (b, a)) for a, b in combinations(numerics, 2)]
    crosses = [FeatureSpec("cross", (a, b)) for a, b in combinations(keys, 2)]
    ordered = first + grouped + _interleave(pairs, crosses)
    return ordered[:max_candidates]


def _interleave(a: list, b: list) -> list:
    out: list = []
    for i in range(max(len(a), len(b))):
        out += [x[i] for x in (a, b) if i < len(x)]
    return out


# -- computing them -------------------------------------------------------------------------
def _numbers(X: pd.DataFrame, col: str) -> np.ndarray:
    return pd.to_numeric(X[col], errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def _labels(X: pd.DataFrame, col: str) -> pd.Series:
    """A column as group labels: text, with missing values a group of their own (numbers
    as floats first, so 3 and 3.0 are one group whichever way a file was read)."""
    column = X[col]
    if pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column):
        column = column.astype(float)
    return column.astype("string").fillna("<missing>")


def _arithmetic(op: str, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if op == "add":
            out = a + b
        elif op == "sub":
            out = a - b
        elif op == "mul":
            out = a * b
        else:
            out = np.where(b != 0, a / np.where(b != 0, b, 1.0), np.nan)
    return np.where(np.isfinite(out), out, np.nan)


def _targets(y: np.ndarray, task: Task) -> np.ndarray:
    """What target means average: the value (regression), else one indicator column per
    class (one column only for two classes)."""
    if task is Task.REGRESSION:
        return np.asarray(y, dtype=float)[:, None]
    codes = np.asarray(y)
    classes = np.unique(codes)
    if len(classes) <= 2:
        return (codes == classes[-1]).astype(float)[:, None]
    return (codes[:, None] == classes[None, :]).astype(float)


def _smoothed_means(labels: pd.Series, targets: np.ndarray) -> dict[str, list[float]]:
    frame = pd.DataFrame(targets, index=labels.index).groupby(labels.to_numpy())
    sums, counts = frame.sum(), frame.size()
    prior = targets.mean(axis=0)
    means = (sums.to_numpy() + SMOOTHING * prior) / (counts.to_numpy()[:, None] + SMOOTHING)
    return {str(k): m.tolist() for k, m in zip(sums.index, means, strict=True)}


class GeneratedFeatures:
    """Computes a list of specs: `fit_transform` on training rows (target means out of
    fold over `folds`), `transform` on any rows with what fit learned. `state_` is plain
    JSON-able data, so a predictor can save it."""

    def __init__(self, specs: Sequence[FeatureSpec | Sequence[str]], task: Task | str):
        self.specs = [FeatureSpec.of(s) for s in specs]
        self.task = Task(task)

    def fit_transform(
        self,
        X: pd.DataFrame,
        y: np.ndarray | None = None,
        folds: Sequence[tuple[np.ndarray, np.ndarray]] | None = None,
    ) -> pd.DataFrame:
        self.state_: dict[str, dict[str, Any]] = {}
        out = {}
        for spec in self.specs:
            self.state_[spec.name] = state = self._fit(spec, X, y)
            if spec.uses_target:
                values = self._out_of_fold(spec, X, y, folds)
            else:
                values = self._apply(spec, state, X)
            out.update(self._columns(spec, values))
        return pd.DataFrame(out, index=X.index)

    def fold_columns(
        self,
        X: pd.DataFrame,
        y: np.ndarray,
        folds: Sequence[tuple[np.ndarray, np.ndarray]],
    ) -> list[pd.DataFrame] | None:
        """The target-using columns as each fold's model must see them (None: there are
        none). `fit_transform` gives a training row of fold m the target means of every
        other fold, the validated fold k included, so a model of fold k would learn from
        values that carry fold k's targets and score optimistically out of fold. Frame k
        holds, for the rows fold k trains on, target means of the rows both fold k and
        the row's own fold train on; for the other rows, the values `fit_transform` gave.
        Under a time split, where a row's means come only from earlier rows, this changes
        nothing."""
        specs = [spec for spec in self.specs if spec.uses_target]
        if not specs or not folds:
            return None
        plain = GeneratedFeatures(specs, self.task).fit_transform(X, y, folds)
        out = []
        for train_k, _ in folds:
            inner = [
                (np.intersect1d(fit_m, train_k), np.intersect1d(held_m, train_k))
                for fit_m, held_m in folds
            ]
            inner = [(fit, held) for fit, held in inner if len(held) and len(fit)]
            trains = np.zeros(len(X), dtype=bool)
            trains[train_k] = True
            frame = plain.copy()
            for spec in specs if inner else []:
                values = self._out_of_fold(spec, X, y, inner)
                for name, column in self._columns(spec, values).items():
                    frame[name] = np.where(trains, column, frame[name].to_numpy())
            out.append(frame)
        return out

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        if not hasattr(self, "state_"):
            raise RuntimeError("GeneratedFeatures.transform before fit_transform")
        out = {}
        for spec in self.specs:
            out.update(self._columns(spec, self._apply(spec, self.state_[spec.name], X)))
        return pd.DataFrame(out, index=X.index)

    def _columns(self, spec: FeatureSpec, values: Any) -> dict[str, Any]:
        if isinstance(values, np.ndarray) and values.ndim == 2:
            if values.shape[1] == 1:
                return {spec.name: values[:, 0]}
            return {f"{spec.name}_{i}": values[:, i] for i in range(values.shape[1])}
        return {spec.name: values}

    # -- what each operator learns and applies --------------------------------------------
    def _fit(self, spec: FeatureSpec, X: pd.DataFrame, y: np.ndarray | None) -> dict:
        op, cols = spec.op, spec.columns
        if op in GROUP_STATS:
            x = pd.Series(_numbers(X, cols[0]), index=X.index)
            groups = x.groupby(_labels(X, cols[1]).to_numpy())
            if op == "rank_by":
                points = np.linspace(0, 1, _RANK_POINTS)
                return {
                    "quantiles": {
                        str(k): np.nanquantile(v, points).tolist()
                        for k, v in groups
                        if v.notna().any()
                    }
                }
            stat = groups.std() if op == "std_by" else groups.mean()
            return {"values": {str(k): float(v) for k, v in stat.items() if pd.notna(v)}}
        if op == "count":
            share = _labels(X, cols[0]).value_counts(normalize=True)
            return {"values": {str(k): float(v) for k, v in share.items()}}
        if op == "bins":
            x = _numbers(X, cols[0])
            x = x[np.isfinite(x)]
            inner = np.linspace(0, 1, N_BINS + 1)[1:-1]
            edges = np.unique(np.quantile(x, inner)).tolist() if len(x) else []
            return {"edges": [float(e) for e in edges]}
        if op == "target_mean":
            if y is None:
                raise ValueError(f"the feature '{spec.text}' needs the target: pass y")
            targets = _targets(y, self.task)
            return {
                "means": _smoothed_means(_labels(X, cols[0]), targets),
                "prior": targets.mean(axis=0).tolist(),
                "width": targets.shape[1],
            }
        return {}

    def _apply(self, spec: FeatureSpec, state: dict, X: pd.DataFrame) -> Any:
        op, cols = spec.op, spec.columns
        if op in ARITHMETIC:
            return _arithmetic(op, _numbers(X, cols[0]), _numbers(X, cols[1]))
        if op == "cross":
            return (_labels(X, cols[0]) + " & " + _labels(X, cols[1])).astype(object).to_numpy()
        if op == "bins":
            x = _numbers(X, cols[0])
            return np.where(np.isnan(x), np.nan, np.searchsorted(state["edges"], x, "right"))
        if op == "target_mean":
            labels = _labels(X, cols[0]).to_numpy()
            prior = state["prior"]
            return np.array([state["means"].get(k, prior) for k in labels], dtype=float)
        labels = _labels(X, cols[-1]).to_numpy()
        if op == "rank_by":
            x, quantiles = _numbers(X, cols[0]), state["quantiles"]
            out = np.full(len(x), np.nan)
            for k in np.unique(labels):
                if k in quantiles:
                    rows = labels == k
                    out[rows] = np.interp(x[rows], quantiles[k], np.linspace(0, 1, _RANK_POINTS))
            return np.where(np.isnan(x), np.nan, out)
        stat = pd.Series(labels).map(state["values"]).to_numpy(dtype=float, na_value=np.nan)
        if op == "dev_by":
            return _numbers(X, cols[0]) - stat
        return stat

    def _out_of_fold(
        self,
        spec: FeatureSpec,
        X: pd.DataFrame,
        y: np.ndarray | None,
        folds: Sequence[tuple[np.ndarray, np.ndarray]] | None,
    ) -> np.ndarray:
        """Target means for training rows from the other folds' rows only."""
        if y is None or not folds:
            raise ValueError(f"the feature '{spec.text}' needs the target and folds when fitted")
        targets = _targets(y, self.task)
        labels = _labels(X, spec.columns[0])
        out = np.full(targets.shape, np.nan)
        for fit_rows, held_rows in folds:
            prior = targets[fit_rows].mean(axis=0)
            means = _smoothed_means(labels.iloc[fit_rows], targets[fit_rows])
            held = labels.iloc[held_rows].to_numpy()
            out[held_rows] = np.array([means.get(k, prior) for k in held], dtype=float)
        return out

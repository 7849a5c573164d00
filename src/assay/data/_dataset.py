"""`prepare`: from whatever the user has to a checked Dataset that models can use."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from assay._types import FeatureType, Task
from assay.data._builtin import PREFIX
from assay.data._groups import GROUPS, attach_groups
from assay.data._leakage import leakage_warnings
from assay.data._load import read_table
from assay.data._media import readable_rows
from assay.data._order import ORDER, attach_order, sort_key
from assay.data._pairs import check_text_pairs, detect_text_pairs
from assay.data._schema import Schema, infer_schema
from assay.data._task import infer_task, parse_task
from assay.data._validate import (
    check_target,
    coerce_numeric,
    drop_missing_target,
    note_huge,
    replace_inf,
    resolve_target,
    warn,
)
from assay.data._weights import WEIGHTS, attach_weights, check_weights_left
from assay.errors import DataError
from assay.log import get_logger

logger = get_logger(__name__)
MIN_ROWS = 2
MANY_CATEGORIES = 255  # the most categories an encoder keeps


@dataclass(frozen=True, eq=False)
class Dataset:
    """Features `X` (used columns only, original order) and a cleaned target `y`."""

    X: pd.DataFrame
    y: pd.Series
    schema: Schema
    task: Task
    target: str
    source: str
    n_dropped_rows: int = 0
    warnings: tuple[str, ...] = ()
    text_pairs: tuple[tuple[str, str], ...] = ()  # declared or detected, see _pairs
    groups: np.ndarray | None = None  # rows of one group stay in one fold (see make_folds)
    group_column: str | None = None  # where `groups` came from (None: given as values)
    weights: np.ndarray | None = None  # how much each row counts (None: all alike)
    weight_column: str | None = None  # where `weights` came from (None: given as values)
    order: np.ndarray | None = None  # each row's time as a number, for a time split
    n_bad_files: int = 0  # rows left out because a media file could not be read

    @property
    def n_rows(self) -> int:
        return len(self.X)

    @property
    def n_features(self) -> int:
        return self.X.shape[1]

    @property
    def classes(self) -> tuple[Any, ...]:
        """Sorted class labels (empty for regression)."""
        if not self.task.is_classification:
            return ()
        return tuple(sorted(self.y.unique(), key=lambda v: (str(type(v)), v)))


def _describe(source: object) -> tuple[str, str]:
    """(Dataset.source, how messages name it)."""
    if isinstance(source, str) and source.startswith(PREFIX):
        return source, source
    if isinstance(source, (str, os.PathLike)):
        return str(Path(source).resolve()), f"'{Path(source)}'"  # a run can find it again
    return "DataFrame", "the DataFrame"


def prepare(
    source: Any,
    target: str | int,
    *,
    task: Task | str | None = None,
    feature_types: Mapping[str, FeatureType | str] | None = None,
    read_options: Mapping[str, Any] | None = None,
    text_pairs: Iterable[Iterable[str]] | None = None,
    groups: str | Any = None,
    sample_weight: str | Any = None,
    order_by: str | None = None,
) -> Dataset:
    """Read `source`, check it, and split it into features and target.

    `text_pairs` declares pairs of text columns (else a pair is detected by name, see
    `_pairs`). `groups`: a column (never a feature then) or one value per row; the rows of
    a group (a person, a speaker, a customer) stay in one fold. `sample_weight`: a column
    (never a feature then) or one finite weight >= 0 per row. `order_by`: the column
    whose times order the rows for a time split (it stays a feature). Rows whose image or sound
    file cannot be read are left out, with a warning naming them. Raises
    DataError/TargetError with a message naming the file or column when the data cannot be
    used; softer problems are logged and listed in `Dataset.warnings`.
    """
    label, where = _describe(source)
    frame = read_table(source, **dict(read_options or {}))
    if len(frame) < MIN_ROWS:
        raise DataError(f"{where} has {len(frame)} row(s); at least {MIN_ROWS} are needed.")
    name = resolve_target(frame, target, where)
    frame, group_column = attach_groups(frame, groups, name, where)
    frame, weight_column = attach_weights(frame, sample_weight, name, where)
    frame = attach_order(frame, order_by, name, where)
    pairs = check_text_pairs(text_pairs, frame.columns, name)
    if pairs:  # a declared side is text whatever it looks like, unless typed explicitly
        forced = {side: FeatureType.TEXT for pair in pairs for side in pair}
        feature_types = {**forced, **dict(feature_types or {})}
    notes: list[str] = []
    frame, n_dropped = drop_missing_target(frame, name, where, notes)
    if len(frame) < MIN_ROWS:
        raise DataError(
            f"{where} has {len(frame)} row(s) with a target value; at least {MIN_ROWS} are needed."
        )
    group_values = None if group_column is None else frame.pop(GROUPS).to_numpy()
    weights = None if weight_column is None else frame.pop(WEIGHTS).to_numpy(dtype=float)
    order = None if order_by is None else sort_key(frame.pop(ORDER), order_by)
    y = frame[name]
    task = infer_task(y) if task is None else parse_task(task, y)
    y = check_target(y, task, name, notes)
    features = frame.drop(columns=[name])
    if features.shape[1] == 0:
        raise DataError(f"{where} has only the target column '{name}'; add feature columns.")
    features = replace_inf(features, where, notes)
    note_huge(features, where, notes)
    table = features.copy()
    table[name] = y
    table = table[list(frame.columns)]  # original order, target included
    schema = infer_schema(table, target=name, overrides=feature_types)
    for dropped, reason in schema.dropped.items():
        logger.info("Not using column '%s' of %s: %s.", dropped, where, reason)
    for column in schema.columns:
        if column.type is FeatureType.CATEGORICAL and column.n_unique > MANY_CATEGORIES:
            logger.info(
                "Column '%s' of %s has %d categories; the models encode the most frequent "
                "ones and treat the rest as one unknown value.",
                column.name,
                where,
                column.n_unique,
            )
    if not schema.features:
        dropped = "; ".join(f"'{c}': {r}" for c, r in list(schema.dropped.items())[:10])
        raise DataError(
            f"{where} has no usable feature columns ({dropped}). "
            "Add informative columns or force types with feature_types=."
        )
    for message in leakage_warnings(features, y, task, schema.types, where):
        warn(notes, message)
    used = {c: schema[c].type for c in schema.features}
    pairs = pairs or detect_text_pairs(used)
    X = features[list(schema.features)].copy()
    numeric = [c for c in schema.features if schema[c].type is FeatureType.NUMERIC]
    coerce_numeric(X, numeric, where, notes)
    readable = readable_rows(X, schema, where, notes)
    if not readable.all():
        X, y = X.loc[readable].reset_index(drop=True), y.loc[readable].reset_index(drop=True)
        group_values = None if group_values is None else group_values[readable.to_numpy()]
        weights = None if weights is None else weights[readable.to_numpy()]
        order = None if order is None else order[readable.to_numpy()]
    if weights is not None:
        check_weights_left(weights, weight_column)
    return Dataset(
        X=X,
        y=y.rename(name),
        schema=schema,
        task=task,
        target=name,
        source=label,
        n_dropped_rows=n_dropped,
        warnings=tuple(notes),
        text_pairs=tuple(pairs),
        groups=group_values,
        group_column=None if group_column in (None, GROUPS) else group_column,
        weights=weights,
        weight_column=None if weight_column in (None, WEIGHTS) else weight_column,
        order=order,
        n_bad_files=int((~readable).sum()),
    )

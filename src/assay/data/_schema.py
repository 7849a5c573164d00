"""The schema: one FeatureType per column, fixed at fit time and checked at predict time."""

from __future__ import annotations

import difflib
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from assay._types import FeatureType
from assay.data._detect import column_type, count_unique
from assay.data._load import bytes_as_text
from assay.errors import ArtifactError, ConfigError, DataError, TargetError

SCHEMA_VERSION = 1
_DROP_REASONS = {
    FeatureType.EMPTY: "all values are missing",
    FeatureType.CONSTANT: "it has a single distinct value",
    FeatureType.ID: "it looks like an identifier (every value unique)",
}


@dataclass(frozen=True)
class ColumnSchema:
    name: str
    type: FeatureType
    dtype: str
    n_unique: int
    n_missing: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type.value,
            "dtype": self.dtype,
            "n_unique": self.n_unique,
            "n_missing": self.n_missing,
        }


@dataclass(frozen=True)
class Schema:
    """Ordered columns of a table; `target` (if any) is never a feature."""

    columns: tuple[ColumnSchema, ...]
    target: str | None = None

    def __post_init__(self) -> None:
        names = [c.name for c in self.columns]
        if len(set(names)) != len(names):
            raise DataError("A schema cannot hold duplicate column names; rename the columns.")
        if self.target is not None and self.target not in names:
            raise TargetError(f"Target '{self.target}' is not a column of the schema.")

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def features(self) -> tuple[str, ...]:
        """Names of the columns models see, in their original order."""
        return tuple(c.name for c in self.columns if c.type.is_used and c.name != self.target)

    @property
    def types(self) -> dict[str, FeatureType]:
        """Type of every column except the target (what feature encoders consume)."""
        return {c.name: c.type for c in self.columns if c.name != self.target}

    @property
    def dropped(self) -> dict[str, str]:
        """Columns models never see, with the reason."""
        return {
            c.name: _DROP_REASONS[c.type]
            for c in self.columns
            if not c.type.is_used and c.name != self.target
        }

    def __getitem__(self, name: str) -> ColumnSchema:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(name)

    def __contains__(self, name: object) -> bool:
        return name in self.names

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form (plain strings and ints)."""
        return {
            "version": SCHEMA_VERSION,
            "target": self.target,
            "columns": [c.to_dict() for c in self.columns],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Schema:
        try:
            columns = tuple(
                ColumnSchema(
                    name=str(c["name"]),
                    type=FeatureType(c["type"]),
                    dtype=str(c["dtype"]),
                    n_unique=int(c["n_unique"]),
                    n_missing=int(c["n_missing"]),
                )
                for c in data["columns"]
            )
            target = data.get("target")
        except (KeyError, TypeError, ValueError) as exc:
            raise ArtifactError(
                f"The saved schema is malformed ({exc!r}); re-create it with infer_schema."
            ) from exc
        return cls(columns=columns, target=None if target is None else str(target))


def parse_feature_type(value: FeatureType | str, column: str) -> FeatureType:
    if isinstance(value, FeatureType):
        return value
    text = str(value).strip().lower()
    for member in FeatureType:
        if text in (member.value, member.name.lower()):
            return member
    valid = ", ".join(m.value for m in FeatureType)
    raise ConfigError(f"Feature type {value!r} for column '{column}' is not known. Use: {valid}.")


def _parse_overrides(
    overrides: Mapping[str, FeatureType | str] | None, names: list[str]
) -> dict[str, FeatureType]:
    if not overrides:
        return {}
    parsed = {str(k): parse_feature_type(v, str(k)) for k, v in overrides.items()}
    unknown = [k for k in parsed if k not in names]
    if unknown:
        hints = [
            f"'{k}' (did you mean '{close[0]}'?)" if close else f"'{k}'"
            for k in unknown
            for close in [difflib.get_close_matches(k, names, n=1)]
        ]
        raise ConfigError(
            f"feature_types names columns that are not in the data: {', '.join(hints)}. "
            "Use the exact column names."
        )
    return parsed


def infer_schema(
    frame: pd.DataFrame,
    *,
    target: str | None = None,
    overrides: Mapping[str, FeatureType | str] | None = None,
) -> Schema:
    """One FeatureType per column (see `_detect.column_type`); `overrides` win."""
    if not isinstance(frame, pd.DataFrame):
        raise DataError(f"infer_schema needs a pandas DataFrame, got {type(frame).__name__}.")
    names = [str(c) for c in frame.columns]
    duplicates = sorted(n for n, c in Counter(names).items() if c > 1)
    if duplicates:
        raise DataError(
            f"The data has duplicate column names: {', '.join(map(repr, duplicates))}. "
            "Rename them so every column has a unique name."
        )
    if target is not None and str(target) not in names:
        raise TargetError(f"Target column '{target}' is not in the data; columns: {names[:20]}.")
    forced = _parse_overrides(overrides, names)
    columns = []
    for name, (_, column) in zip(names, frame.items(), strict=True):
        column = bytes_as_text(column)  # typed as the text they hold
        columns.append(
            ColumnSchema(
                name=name,
                type=forced.get(name) or column_type(name, column),
                dtype=str(column.dtype),
                n_unique=count_unique(column.dropna()),
                n_missing=int(column.isna().sum()),
            )
        )
    return Schema(columns=tuple(columns), target=None if target is None else str(target))

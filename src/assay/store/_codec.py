"""How Python values become column values and back, including floats JSON cannot hold.

Non-finite floats:
- In JSON columns (`settings`, `config`, `fold_scores`) NaN, inf and -inf are written as the
  strings "NaN", "Infinity" and "-Infinity" so the text stays standard JSON any tool can read.
  On reading, those exact strings become floats again; the price is that a string value equal
  to one of them also comes back as a float. Tuples come back as lists, non-string keys as
  strings, numpy scalars and arrays are stored as plain numbers and lists.
- In float columns (`score`, `best_score`, ...) PostgreSQL stores NaN and inf natively.
  SQLite keeps inf but silently turns NaN into NULL, so on SQLite NaN is written as the text
  'NaN' (SQLite columns take any type) and read back as NaN, keeping NaN distinct from None.
"""

from __future__ import annotations

import json
import math
import os
from enum import Enum
from typing import Any

from sqlalchemy import Double
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine, UserDefinedType

_NON_FINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def _float_token(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"


def _to_jsonable(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else _float_token(value)
    if isinstance(value, (str, int, bool)) or value is None:
        return value
    if isinstance(value, Enum):
        return _to_jsonable(value.value)
    if isinstance(value, dict):
        return {k: _to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_to_jsonable(v) for v in value]
    if hasattr(value, "tolist"):  # numpy scalars and arrays, without importing numpy
        return _to_jsonable(value.tolist())
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    raise TypeError(f"{type(value).__name__} value {value!r} cannot be stored as JSON")


def _from_jsonable(value: Any) -> Any:
    if isinstance(value, str):
        return _NON_FINITE.get(value, value)
    if isinstance(value, dict):
        return {k: _from_jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_from_jsonable(v) for v in value]
    return value


def dumps_json(value: Any) -> str:
    """Standard JSON text for `value`; raises TypeError naming a value that has no JSON form."""
    return json.dumps(_to_jsonable(value), allow_nan=False)


def loads_json(text: str | None) -> Any:
    """Inverse of `dumps_json` (None for a NULL column)."""
    return None if text is None else _from_jsonable(json.loads(text))


class _SQLiteReal(UserDefinedType[float]):
    """REAL without SQLAlchemy's float conversion, which would turn the 'NaN' text back to NULL."""

    cache_ok = True

    def get_col_spec(self, **kw: Any) -> str:
        return "REAL"


class NaNSafeFloat(TypeDecorator[float]):
    """A double column that keeps NaN on SQLite too (see the module docstring)."""

    impl = Double
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(_SQLiteReal())
        return super().load_dialect_impl(dialect)

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        value = float(value)
        if dialect.name == "sqlite" and math.isnan(value):
            return "NaN"
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> float | None:
        return None if value is None else float(value)

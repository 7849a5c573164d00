"""How Python values become column values and back, including floats JSON cannot hold.

Non-finite floats:
- In JSON columns (`settings`, `config`, `fold_scores`): see `assay._json` (NaN, inf and
  -inf as the strings "NaN", "Infinity" and "-Infinity").
- In float columns (`score`, `best_score`, ...) PostgreSQL stores NaN and inf natively.
  SQLite keeps inf but silently turns NaN into NULL, so on SQLite NaN is written as the text
  'NaN' (SQLite columns take any type) and read back as NaN, keeping NaN distinct from None.
"""

from __future__ import annotations

import math
from typing import Any

from sqlalchemy import Double
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine, UserDefinedType

from assay._json import dumps_json, loads_json

__all__ = ["NaNSafeFloat", "dumps_json", "loads_json"]


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

"""How configs, settings and other Python values become JSON and back: the one codec for
the store's JSON columns, a model's params.json and a predictor's manifest.

Numpy scalars and arrays become plain numbers and lists, enums their values, tuples
lists, paths strings. Non-finite floats: with `finite=True` (the store) NaN, inf and -inf
are written as the strings "NaN", "Infinity" and "-Infinity", so the text stays standard
JSON any tool can read, and `loads_json` turns exactly those strings back into floats (the
price: a string value equal to one of them also comes back as a float). Without it
(files only assay reads) they stay Python's NaN/Infinity literals."""

from __future__ import annotations

import json
import math
import os
from enum import Enum
from typing import Any

_NON_FINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def _float_token(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"


def to_jsonable(value: Any, *, finite: bool = False) -> Any:
    """`value` with only JSON types inside; raises TypeError naming a value with no JSON form."""
    if isinstance(value, float):
        return value if not finite or math.isfinite(value) else _float_token(value)
    if isinstance(value, (str, int, bool)) or value is None:
        return value
    if isinstance(value, Enum):
        return to_jsonable(value.value, finite=finite)
    if isinstance(value, dict):
        return {k: to_jsonable(v, finite=finite) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v, finite=finite) for v in value]
    if hasattr(value, "tolist"):  # numpy scalars and arrays, without importing numpy
        return to_jsonable(value.tolist(), finite=finite)
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
    """Standard JSON text for `value` (non-finite floats as strings)."""
    return json.dumps(to_jsonable(value, finite=True), allow_nan=False)


def loads_json(text: str | None) -> Any:
    """Inverse of `dumps_json` (None for a NULL column)."""
    return None if text is None else _from_jsonable(json.loads(text))

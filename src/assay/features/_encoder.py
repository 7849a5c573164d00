"""One encoder per model family, fitted inside each fold so preprocessing never sees
the fold's validation rows. Its learned state is plain JSON, so a saved predictor needs
no pickle for preprocessing and reloads bit-identically."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import numpy as np
import pandas as pd

from assay._types import Encoding, FeatureType

_TRUE = {"1", "1.0", "true", "t", "yes", "y"}
_MAX_NATIVE_CATEGORIES = 255
_MAX_ONEHOT_CATEGORIES = 30
_DATE_PARTS = ("year", "month", "day", "day_of_week", "day_of_year", "hour")
# Cyclical parts as (sin, cos) so December sits next to January for distance-based models.
_CYCLES = {"month": 12, "day_of_week": 7, "day_of_year": 366, "hour": 24}


def as_strings(column: pd.Series) -> pd.Series:
    """Category values as strings, with integral floats written as ints ("1", not "1.0")."""
    if pd.api.types.is_bool_dtype(column):
        return column.astype("string").astype(object)
    if pd.api.types.is_numeric_dtype(column):
        values = pd.to_numeric(column, errors="coerce").astype(float)
        out = values.map(
            lambda v: None if np.isnan(v) else (f"{int(v)}" if v == int(v) else repr(v))
        )
        return out.astype(object)
    strings = column.astype("string")
    return strings.astype(object).where(strings.notna(), None)


def as_timestamps(column: pd.Series) -> pd.Series:
    """Naive timestamps (NaT where a value is not a date). Values with a time zone or an
    offset are taken in UTC, so offsets may differ row to row and any two columns subtract."""
    stamps = pd.to_datetime(column, errors="coerce", format="mixed", utc=True)
    return stamps if stamps.dt.tz is None else stamps.dt.tz_convert(None)  # None: all NaT


_SHARED: ContextVar[dict | None] = ContextVar("assay_encoder_shared", default=None)


@contextmanager
def shared_conversions() -> Iterator[None]:
    """Within it, encoders transforming the same frame (the folds of a bagged member, the
    members of an ensemble) convert each raw column once: for single rows that conversion,
    not the models, was most of the prediction time."""
    token = _SHARED.set({})
    try:
        yield
    finally:
        _SHARED.reset(token)


def _converted(X: pd.DataFrame, name: str, convert: Callable[[pd.Series], Any]) -> Any:
    """convert(X[name]), shared within `shared_conversions` (read-only: never modify it)."""
    cache = _SHARED.get()
    if cache is None:
        return convert(X[name])
    key = (id(X), name, convert)
    hit = cache.get(key)
    if hit is None or hit[0] is not X:  # the frame is kept, so its id is not reused
        hit = cache[key] = (X, convert(X[name]))
    return hit[1]


def _codes(X: pd.DataFrame, name: str, categories: list[str]) -> np.ndarray:
    return pd.Index(categories, dtype=object).get_indexer(_converted(X, name, as_strings))


def _to_float(column: pd.Series) -> np.ndarray:
    values = pd.to_numeric(column, errors="coerce").to_numpy(
        dtype=float, na_value=np.nan, copy=True
    )
    values[~np.isfinite(values)] = np.nan
    return values


class TabularEncoder:
    """Turns a typed DataFrame into what one model family wants (see Encoding)."""

    def __init__(self, encoding: Encoding, types: dict[str, FeatureType]):
        self.encoding = Encoding(encoding)
        self.types = {name: FeatureType(t) for name, t in types.items()}

    # fitting -----------------------------------------------------------------
    def fit(self, X: pd.DataFrame) -> TabularEncoder:
        state: dict[str, dict] = {}
        for name, ftype in self.types.items():
            if not ftype.is_used:
                continue
            col = X[name]
            if ftype is FeatureType.CATEGORICAL:
                counts = as_strings(col).value_counts()
                limit = (
                    _MAX_ONEHOT_CATEGORIES
                    if self.encoding is Encoding.ONEHOT
                    else _MAX_NATIVE_CATEGORIES
                )
                cats = sorted(counts.index[:limit].tolist(), key=str)
                state[name] = {"kind": "cat", "categories": cats}
            else:
                parts = self._numeric_parts(ftype, col)
                state[name] = {"kind": ftype.value, "parts": parts}
        self.state_ = state
        self._fit_numeric_stats(X)
        return self

    @staticmethod
    def _numeric_parts(ftype: FeatureType, col: pd.Series) -> Any:
        """What fit learns for a non-categorical column (None for plain numerics)."""
        if ftype is FeatureType.DATETIME:
            stamps = as_timestamps(col)
            has_time = bool((stamps.dt.hour.fillna(0) != 0).any())
            parts = [p for p in _DATE_PARTS if p != "hour" or has_time]
            cyclic = [f"{p}_{f}" for p in parts if p in _CYCLES for f in ("sin", "cos")]
            return [*parts, *cyclic, "days"]
        if ftype is FeatureType.TEXT:
            return ["chars", "words"]
        if ftype is FeatureType.BOOLEAN:
            values = as_strings(col).dropna().unique().tolist()
            truthy = sorted(v for v in values if v.strip().lower() in _TRUE)
            ordered = sorted(values, key=str)
            return {"true": truthy[0] if truthy else (ordered[-1] if ordered else "1")}
        return None

    def _numeric_block(self, X: pd.DataFrame) -> tuple[list[str], np.ndarray]:
        names, blocks = [], []
        for name, spec in self.state_.items():
            kind = spec["kind"]
            if kind == "cat":
                continue
            col = X[name]
            if kind == FeatureType.DATETIME.value:
                stamps = _converted(X, name, as_timestamps)
                for part in spec["parts"]:
                    if part == "days":  # elapsed time: trends and recency
                        days = (stamps - pd.Timestamp("1970-01-01")).dt.total_seconds() / 86400
                        blocks.append(_to_float(days))
                    elif part.endswith(("_sin", "_cos")):
                        base, func = part.rsplit("_", 1)
                        angle = 2 * np.pi * _to_float(getattr(stamps.dt, base)) / _CYCLES[base]
                        blocks.append(np.sin(angle) if func == "sin" else np.cos(angle))
                    else:
                        blocks.append(_to_float(getattr(stamps.dt, part)))
                    names.append(f"{name}__{part}")
            elif kind == FeatureType.TEXT.value:
                text = col.astype("string")
                blocks.append(_to_float(text.str.len()))
                blocks.append(_to_float(text.str.split().str.len()))
                names += [f"{name}__chars", f"{name}__words"]
            elif kind == FeatureType.BOOLEAN.value:
                strings = _converted(X, name, as_strings)
                values = np.where(strings.isna(), np.nan, (strings == spec["parts"]["true"]) * 1.0)
                blocks.append(values.astype(float))
                names.append(name)
            else:
                blocks.append(_converted(X, name, _to_float))
                names.append(name)
        matrix = np.column_stack(blocks) if blocks else np.empty((len(X), 0))
        return names, matrix

    def _fit_numeric_stats(self, X: pd.DataFrame) -> None:
        names, matrix = self._numeric_block(X)
        with np.errstate(all="ignore"):
            medians = np.nanmedian(matrix, axis=0) if matrix.size else np.empty(0)
            overflow = np.isinf(medians)  # a mean of two values near the float64 limit
            if overflow.any():
                peak = np.nanmax(np.abs(matrix[:, overflow]), axis=0)
                medians[overflow] = np.nanmedian(matrix[:, overflow] / peak, axis=0) * peak
        medians = np.where(np.isnan(medians), 0.0, medians)
        filled = np.where(np.isnan(matrix), medians, matrix)
        # scaled by each column's largest magnitude first, so values near 1e300 do not
        # overflow the squares of the standard deviation
        peak = np.abs(filled).max(axis=0) if len(filled) else np.ones(len(names))
        peak = np.where(np.isfinite(peak) & (peak > 0), peak, 1.0)
        means = (filled / peak).mean(axis=0) * peak if len(filled) else np.zeros(len(names))
        stds = (filled / peak).std(axis=0) * peak if len(filled) else np.ones(len(names))
        stds = np.where(np.isfinite(stds) & (stds > 0), stds, 1.0)
        has_missing = np.isnan(matrix).any(axis=0) if matrix.size else np.zeros(len(names), bool)
        self.numeric_ = {
            "names": names,
            "medians": medians.tolist(),
            "means": means.tolist(),
            "stds": stds.tolist(),
            "indicators": [n for n, m in zip(names, has_missing, strict=True) if m],
        }

    # transforming ------------------------------------------------------------
    def transform(self, X: pd.DataFrame) -> pd.DataFrame | np.ndarray:
        names, matrix = self._numeric_block(X)
        if self.encoding is Encoding.NATIVE:
            frame = pd.DataFrame(matrix, columns=names, index=X.index)
            for name, spec in self.state_.items():
                if spec["kind"] == "cat":
                    dtype = pd.CategoricalDtype(spec["categories"])
                    codes = _codes(X, name, spec["categories"])
                    frame[name] = pd.Categorical.from_codes(codes, dtype=dtype)
            return frame[self.feature_names_out()]
        medians = np.asarray(self.numeric_["medians"], dtype=float)
        missing = np.isnan(matrix)
        filled = np.where(missing, medians, matrix)
        if self.encoding is Encoding.ORDINAL:
            blocks = [filled]
            for name, spec in self.state_.items():
                if spec["kind"] == "cat":
                    codes = _codes(X, name, spec["categories"])
                    blocks.append(codes.astype(float)[:, None])
            return np.column_stack(blocks) if blocks else filled
        scaled = (filled - np.asarray(self.numeric_["means"])) / np.asarray(self.numeric_["stds"])
        scaled = np.clip(scaled, -10, 10)
        idx = [names.index(n) for n in self.numeric_["indicators"]]
        blocks = [scaled, missing[:, idx].astype(float)]
        for name, spec in self.state_.items():
            if spec["kind"] == "cat":
                cats = spec["categories"]
                codes = _codes(X, name, cats)
                onehot = np.zeros((len(X), len(cats)))
                rows = np.flatnonzero(codes >= 0)
                onehot[rows, codes[rows]] = 1.0
                blocks.append(onehot)
        return np.column_stack(blocks)

    def fit_transform(self, X: pd.DataFrame) -> pd.DataFrame | np.ndarray:
        return self.fit(X).transform(X)

    def feature_names_out(self) -> list[str]:
        names = list(self.numeric_["names"])
        cats = [(n, s["categories"]) for n, s in self.state_.items() if s["kind"] == "cat"]
        if self.encoding is Encoding.ONEHOT:
            names += [f"{n}__missing" for n in self.numeric_["indicators"]]
            names += [f"{n}=={c}" for n, values in cats for c in values]
        else:
            names += [n for n, _ in cats]
        return names

    # persistence -------------------------------------------------------------
    def to_dict(self) -> dict:
        return {
            "encoding": self.encoding.value,
            "types": {n: t.value for n, t in self.types.items()},
            "state": self.state_,
            "numeric": self.numeric_,
        }

    @classmethod
    def from_dict(cls, data: dict) -> TabularEncoder:
        enc = cls(Encoding(data["encoding"]), data["types"])
        enc.state_ = data["state"]
        enc.numeric_ = data["numeric"]
        return enc

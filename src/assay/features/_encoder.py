"""One encoder per model family, fitted inside each fold so preprocessing never sees
the fold's validation rows. Its learned state is plain JSON, so a saved predictor needs
no pickle for preprocessing and reloads bit-identically."""

from __future__ import annotations

import json
from collections.abc import Callable, Hashable, Iterator
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
    if isinstance(column.dtype, pd.StringDtype):  # already strings: only None for missing
        values = column.to_numpy(dtype=object, na_value=None)
        return pd.Series(values, index=column.index, name=column.name, dtype=object)
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
    """Within it, work on the same frame is done once and shared: each raw column is
    converted once, each distinct encoder output computed once (the fold encoders of a
    member usually differ only in statistics their encoding does not use), and callers may
    share their own results through `shared_result`. For single rows that repeated pandas
    work, not the models, was most of the prediction time."""
    token = _SHARED.set({})
    try:
        yield
    finally:
        _SHARED.reset(token)


def sharing() -> bool:
    """Whether `shared_result` shares, i.e. the caller runs within `shared_conversions`."""
    return _SHARED.get() is not None


def shared_result(owner: Any, key: Hashable, compute: Callable[[], Any]) -> Any:
    """compute(), shared within `shared_conversions` among callers that pass the same
    `owner` (the object it is computed from) and `key`; read-only, never modify it. Outside
    the context, computed on every call."""
    cache = _SHARED.get()
    if cache is None:
        return compute()
    full_key = (id(owner), key)
    hit = cache.get(full_key)
    if hit is None or hit[0] is not owner:  # the owner is kept, so its id is not reused
        hit = cache[full_key] = (owner, compute())
    return hit[1]


def converted_column(X: pd.DataFrame, name: str, convert: Callable[[pd.Series], Any]) -> Any:
    """convert(X[name]), shared within `shared_conversions` (read-only: never modify it)."""
    return shared_result(X, (name, convert), lambda: convert(X[name]))


def _text_lengths(column: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    text = column.astype("string")
    return _to_float(text.str.len()), _to_float(text.str.split().str.len())


def _to_float(column: pd.Series) -> np.ndarray:
    values = pd.to_numeric(column, errors="coerce").to_numpy(
        dtype=float, na_value=np.nan, copy=True
    )
    values[~np.isfinite(values)] = np.nan
    return values


def _numpy_numeric(X: pd.DataFrame, names: list[str]) -> dict[str, np.ndarray]:
    """`_to_float` of the columns among `names` that have a NumPy number or bool dtype,
    converted as one block (derived text features give hundreds of such columns, and
    one pandas call per column per row was most of a text prediction); others are left
    to `_to_float` one by one (strings holding numbers, nullable dtypes)."""
    dtypes = dict(zip(X.columns, X.dtypes, strict=True))
    chosen = tuple(n for n in names if isinstance(dtypes[n], np.dtype) and dtypes[n].kind in "fiub")
    if not chosen:
        return {}

    def convert() -> np.ndarray:
        values = X[list(chosen)].to_numpy(dtype=np.float64, na_value=np.nan, copy=True)
        values[~np.isfinite(values)] = np.nan
        return values

    matrix = shared_result(X, ("numpy numeric", chosen), convert)
    return {name: matrix[:, i] for i, name in enumerate(chosen)}


class TabularEncoder:
    """Turns a typed DataFrame into what one model family wants (see Encoding)."""

    def __init__(self, encoding: Encoding, types: dict[str, FeatureType]):
        self.encoding = Encoding(encoding)
        self.types = {name: FeatureType(t) for name, t in types.items()}

    # fitting -----------------------------------------------------------------
    def fit(self, X: pd.DataFrame) -> TabularEncoder:
        state: dict[str, dict] = {}
        raw = self.encoding is Encoding.RAW
        for name, ftype in self.types.items():
            if not ftype.is_used:
                continue
            if raw:  # the networks read files and texts themselves
                if ftype.is_media or ftype is FeatureType.TEXT:
                    state[name] = {"kind": ftype.value}
                continue
            if ftype.is_media:
                continue  # the other families see a file through its features
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
        if raw:
            keys = ("names", "medians", "means", "stds", "indicators")
            self.numeric_: dict[str, list] = {k: [] for k in keys}  # no numeric block
            return self
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
        """(names, matrix) of the non-categorical parts; it depends on `state_` alone, so
        encoders with the same state share it within `shared_conversions`."""
        return shared_result(X, ("block", self._block_key()), lambda: self._compute_block(X))

    def _compute_block(self, X: pd.DataFrame) -> tuple[list[str], np.ndarray]:
        names, blocks = [], []
        plain = _numpy_numeric(X, [n for n, s in self.state_.items() if s["kind"] == "numeric"])
        for name, spec in self.state_.items():
            kind = spec["kind"]
            if kind == "cat":
                continue
            if kind == FeatureType.DATETIME.value:
                stamps = converted_column(X, name, as_timestamps)
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
                blocks += converted_column(X, name, _text_lengths)
                names += [f"{name}__chars", f"{name}__words"]
            elif kind == FeatureType.BOOLEAN.value:
                strings = converted_column(X, name, as_strings)
                values = np.where(strings.isna(), np.nan, (strings == spec["parts"]["true"]) * 1.0)
                blocks.append(values.astype(float))
                names.append(name)
            else:
                column = plain.get(name)
                blocks.append(converted_column(X, name, _to_float) if column is None else column)
                names.append(name)
        matrix = np.column_stack(blocks) if blocks else np.empty((len(X), 0))
        return names, matrix

    def _block_key(self) -> str:
        """What the numeric block and the category codes depend on: the learned state
        (kept until the state is replaced)."""
        cached = getattr(self, "_cached_block_key", None)
        if cached is None or cached[0] is not self.state_:
            cached = self._cached_block_key = (self.state_, json.dumps(self.state_, sort_keys=True))
        return cached[1]

    def transform_key(self) -> str:
        """Equal for two fitted encoders whose `transform` gives the same output for any
        rows: the fold encoders of a bagged member usually have the same categories and
        differ only in statistics that their encoding may not use (NATIVE uses none)."""
        cached = getattr(self, "_cached_transform_key", None)
        if cached is None or cached[0] is not self.state_ or cached[1] is not self.numeric_:
            used = {
                Encoding.NATIVE: ["names"],
                Encoding.ORDINAL: ["names", "medians"],
                Encoding.ONEHOT: ["names", "medians", "means", "stds", "indicators"],
                Encoding.RAW: [],
            }[self.encoding]
            stats = json.dumps([self.numeric_[k] for k in used])
            key = f"{self.encoding.value}|{self._block_key()}|{stats}"
            cached = self._cached_transform_key = (self.state_, self.numeric_, key)
        return cached[2]

    def _categories(self, name: str) -> tuple[pd.Index, pd.CategoricalDtype]:
        """The learned categories of a column as an index (to look values up) and as the
        dtype of the NATIVE output, built once per learned state rather than per call."""
        built: tuple[dict, dict[str, Any]] | None = getattr(self, "_built_categories", None)
        if built is None or built[0] is not self.state_:
            built = (self.state_, {})
            self._built_categories = built
        if name not in built[1]:
            categories = self.state_[name]["categories"]
            built[1][name] = (pd.Index(categories, dtype=object), pd.CategoricalDtype(categories))
        return built[1][name]

    def _codes(self, X: pd.DataFrame, name: str) -> np.ndarray:
        """Positions of the column's values among the learned categories (-1: none)."""
        index = self._categories(name)[0]
        return shared_result(
            X,
            ("codes", name, self._block_key()),
            lambda: index.get_indexer(converted_column(X, name, as_strings)),
        )

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
        """What the model family wants from the rows of X (a DataFrame for NATIVE, else a
        float matrix). Within `shared_conversions` encoders with the same `transform_key`
        share one output: read it, never modify it."""
        if _SHARED.get() is None:  # fitting and cross-validation: no key to compute
            return self._transform(X)
        return shared_result(X, ("transform", self.transform_key()), lambda: self._transform(X))

    def _transform(self, X: pd.DataFrame) -> pd.DataFrame | np.ndarray:
        if self.encoding is Encoding.RAW:
            return pd.DataFrame({n: X[n].astype(object) for n in self.state_}, index=X.index)
        names, matrix = self._numeric_block(X)
        cats = [name for name, spec in self.state_.items() if spec["kind"] == "cat"]
        if self.encoding is Encoding.NATIVE:
            columns: dict[str, Any] = {name: matrix[:, i] for i, name in enumerate(names)}
            if len(columns) < len(names) or set(cats) & set(columns):
                return self._native_frame_by_insertion(X, names, matrix, cats)
            for name in cats:
                dtype = self._categories(name)[1]
                columns[name] = pd.Categorical.from_codes(self._codes(X, name), dtype=dtype)
            return pd.DataFrame(columns, index=X.index)
        medians = np.asarray(self.numeric_["medians"], dtype=float)
        missing = np.isnan(matrix)
        filled = np.where(missing, medians, matrix)
        if self.encoding is Encoding.ORDINAL:
            blocks = [filled]
            for name in cats:
                blocks.append(self._codes(X, name).astype(float)[:, None])
            return np.column_stack(blocks) if blocks else filled
        scaled = (filled - np.asarray(self.numeric_["means"])) / np.asarray(self.numeric_["stds"])
        scaled = np.clip(scaled, -10, 10)
        idx = [names.index(n) for n in self.numeric_["indicators"]]
        blocks = [scaled, missing[:, idx].astype(float)]
        for name in cats:
            codes = self._codes(X, name)
            onehot = np.zeros((len(X), len(self.state_[name]["categories"])))
            rows = np.flatnonzero(codes >= 0)
            onehot[rows, codes[rows]] = 1.0
            blocks.append(onehot)
        return np.column_stack(blocks)

    def _native_frame_by_insertion(
        self, X: pd.DataFrame, names: list[str], matrix: np.ndarray, cats: list[str]
    ) -> pd.DataFrame:
        """The NATIVE frame when output names repeat (a category column named like a
        derived part): built column by column, as a frame with repeated names is."""
        frame = pd.DataFrame(matrix, columns=names, index=X.index)
        for name in cats:
            dtype = self._categories(name)[1]
            frame[name] = pd.Categorical.from_codes(self._codes(X, name), dtype=dtype)
        return frame[self.feature_names_out()]

    def fit_transform(self, X: pd.DataFrame) -> pd.DataFrame | np.ndarray:
        return self.fit(X).transform(X)

    def feature_names_out(self) -> list[str]:
        if self.encoding is Encoding.RAW:
            return list(self.state_)
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

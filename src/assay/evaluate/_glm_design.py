"""From a table to a design matrix for `fit_glm`: numbers as they are, categories as treatment
dummies against a reference level, complete cases only. Every column left out is noted with
the reason, because a test result is only readable next to what was (not) in the model."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from assay._types import FeatureType
from assay.data import Schema
from assay.data._detect import TRUE_TOKENS, _is_real_number
from assay.errors import ConfigError, DataError

INTERCEPT = "Intercept"
_MODELLED = (FeatureType.NUMERIC, FeatureType.BOOLEAN, FeatureType.CATEGORICAL)
_SKIP_REASONS = {
    FeatureType.TEXT: "it is free text (a GLM needs numbers or categories)",
    FeatureType.DATETIME: "it holds dates or times (derive numbers such as the year to use it)",
}


@dataclass
class Design:
    """The model matrix (intercept first) on the complete rows, and where each term came from."""

    matrix: np.ndarray
    terms: list[str]
    variables: dict[str, list[str]]  # column -> its terms, in column order
    kinds: dict[str, FeatureType]
    values: dict[str, np.ndarray]  # column -> numbers or category labels on the kept rows
    references: dict[str, str]
    keep: np.ndarray  # mask over the input rows
    n_dropped: int
    notes: list[str] = field(default_factory=list)

    @property
    def n_rows(self) -> int:
        return int(self.matrix.shape[0])

    def drop_terms(self, terms: list[str]) -> None:
        """Leave terms out (exactly collinear or separating); a column with no term left goes."""
        gone = set(terms)
        index = [i for i, term in enumerate(self.terms) if term not in gone]
        self.matrix = self.matrix[:, index]
        self.terms = [self.terms[i] for i in index]
        for column in list(self.variables):
            self.variables[column] = [t for t in self.variables[column] if t not in gone]
            if not self.variables[column]:
                del self.variables[column]
                self.references.pop(column, None)


def select_columns(schema: Schema, target: str, where: str) -> tuple[list[str], list[str]]:
    """The columns a GLM can use, and a note for each column it cannot."""
    used, notes = [], []
    reasons = schema.dropped
    for name, kind in schema.types.items():
        if kind in _MODELLED:
            used.append(name)
        else:
            reason = reasons.get(name) or _SKIP_REASONS[kind]
            notes.append(f"column '{name}' skipped: {reason}")
    if not used:
        skipped = "; ".join(notes) or "there are no other columns"
        raise DataError(
            f"No numeric, boolean or categorical column in {where} can explain '{target}' "
            f"({skipped}). Add such columns, or derive numbers from the text or dates first."
        )
    return used, notes


def _booleans(name: str, column: pd.Series) -> tuple[np.ndarray, str | None]:
    """True-like values (1, true, yes, ...) as 1.0; a note says which string became 1."""
    present = column.dropna().unique()
    mapping = {}
    for value in present:
        if isinstance(value, (bool, np.bool_)) or _is_real_number(value):
            mapping[value] = float(value)
        else:
            mapping[value] = 1.0 if str(value).strip().lower() in TRUE_TOKENS else 0.0
    numbers = column.map(mapping).to_numpy(dtype="float64", na_value=np.nan)
    strings = {v: c for v, c in mapping.items() if isinstance(v, str)}
    if not strings:
        return numbers, None
    one = next((v for v, c in strings.items() if c == 1.0), "?")
    zero = next((v for v, c in strings.items() if c == 0.0), "?")
    return numbers, f"'{name}' is used as 1 for {one!r} and 0 for {zero!r}"


def _numbers(column: pd.Series) -> np.ndarray:
    if ptypes.is_timedelta64_dtype(column.dtype):
        column = column.dt.total_seconds()
    numbers = pd.to_numeric(column, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    numbers = numbers.copy()
    numbers[~np.isfinite(numbers)] = np.nan  # infinities cannot be fitted: treat as missing
    return numbers


def _labels(column: pd.Series) -> np.ndarray:
    missing = column.isna().to_numpy()
    labels = column.astype(object).map(str).to_numpy(dtype=object)
    labels[missing] = None
    return labels


def _sorted_levels(levels: list[str]) -> list[str]:
    """Numeric order when every level is a number (so '10' follows '9'), else text order."""
    try:
        return sorted(levels, key=float)
    except ValueError:
        return sorted(levels)


def _check_references(
    reference: Mapping[str, str], kinds: dict[str, FeatureType], where: str
) -> None:
    for column in reference:
        if column not in kinds:
            raise ConfigError(
                f"reference names column '{column}', which is not a feature of {where}; "
                "give COLUMN=LEVEL for one of its categorical columns."
            )
        if kinds[column] is not FeatureType.CATEGORICAL:
            raise ConfigError(
                f"reference names '{column}', which is used as {kinds[column].value}, not as "
                "categories; only categorical columns have a reference level."
            )


def _missing_note(frame_rows: int, n_dropped: int, missing: dict[str, int]) -> str:
    worst = max(missing, key=lambda c: missing[c], default=None)
    most = f"; most in '{worst}' ({missing[worst]} missing)" if worst and missing[worst] else ""
    return (
        f"{n_dropped} of {frame_rows} rows dropped for missing values (complete-case "
        f"analysis){most}"
    )


def build_design(
    frame: pd.DataFrame,
    schema: Schema,
    used: list[str],
    target_ok: np.ndarray,
    reference: Mapping[str, str],
    where: str,
) -> Design:
    """Dummy-code categories, drop incomplete rows, and note every choice made."""
    kinds = {name: schema.types[name] for name in used}
    _check_references(reference, kinds, where)
    notes: list[str] = []
    raw: dict[str, np.ndarray] = {}
    for name in used:
        if kinds[name] is FeatureType.CATEGORICAL:
            raw[name] = _labels(frame[name])
        elif kinds[name] is FeatureType.BOOLEAN:
            raw[name], note = _booleans(name, frame[name])
            notes += [note] if note else []
        else:
            raw[name] = _numbers(frame[name])
    missing = {name: pd.isna(values) for name, values in raw.items()}
    keep = np.asarray(target_ok, dtype=bool).copy()
    for mask in missing.values():
        keep &= ~mask
    n_dropped = int(len(frame) - keep.sum())
    if n_dropped:
        counts = {name: int(mask.sum()) for name, mask in missing.items()}
        notes.append(_missing_note(len(frame), n_dropped, counts))
    if not keep.any():
        raise DataError(
            f"No row of {where} is complete over the target and the columns {used}; "
            "drop the mostly-empty columns from the file and try again."
        )
    n_rows = int(keep.sum())
    terms, blocks, variables, values, references = [INTERCEPT], [np.ones(n_rows)], {}, {}, {}
    for name in used:
        kept = raw[name][keep]
        levels = (
            _sorted_levels(list(Counter(kept))) if kinds[name] is FeatureType.CATEGORICAL else None
        )
        if len(pd.unique(kept)) < 2:
            notes.append(f"column '{name}' skipped: it is constant on the complete rows")
            continue
        values[name] = kept
        if levels is None:
            terms.append(name)
            blocks.append(kept.astype("float64"))
            variables[name] = [name]
            continue
        counts = Counter(kept)
        chosen = reference.get(name)
        if chosen is not None and str(chosen) not in counts:
            raise ConfigError(
                f"reference level {chosen!r} is not a level of '{name}' on the complete rows; "
                f"levels: {', '.join(map(repr, levels[:20]))}."
            )
        ref = str(chosen) if chosen is not None else max(levels, key=lambda lv: counts[lv])
        how = "as asked" if chosen is not None else "the most frequent"
        notes.append(f"'{name}': reference level {ref!r} ({how}, {counts[ref]} rows)")
        references[name] = ref
        variables[name] = []
        for level in levels:
            if level != ref:
                terms.append(f"{name}[T.{level}]")
                blocks.append((kept == level).astype("float64"))
                variables[name].append(terms[-1])
    return Design(
        matrix=np.column_stack(blocks),
        terms=terms,
        variables=variables,
        kinds=kinds,
        values=values,
        references=references,
        keep=keep,
        n_dropped=n_dropped,
        notes=notes,
    )

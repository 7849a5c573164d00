"""Rows of a prediction request, checked against the predictor's schema before any model
sees them. JSON is held to the schema's JSON types (a number column takes numbers or null);
a CSV body is text by nature, so its numbers are parsed and a value that is not one is
refused. Every refusal names the column and a row, and says what to send instead."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from assay._types import FeatureType
from assay.data import Schema
from assay.errors import RequestError

MAX_ROWS = 100_000


@dataclass(frozen=True)
class Rows:
    """The feature columns to predict, and the request's columns that were ignored."""

    frame: pd.DataFrame
    ignored: list[str]


def is_numeric(schema: Schema, name: str) -> bool:
    """Columns the predictor reads as numbers (as `check_predict_frame` decides)."""
    column = schema[name]
    return column.type is FeatureType.NUMERIC or column.dtype.lower().startswith(
        ("int", "uint", "float")
    )


def json_types(schema: Schema, name: str) -> list[str]:
    """The JSON types a column accepts (null is always allowed: a missing value)."""
    if is_numeric(schema, name):
        return ["number", "null"]
    if schema[name].type in (FeatureType.TEXT, FeatureType.DATETIME):
        return ["string", "null"]
    return ["string", "number", "boolean", "null"]


def record_schema(schema: Schema) -> dict[str, Any]:
    """JSON Schema of one record: every feature column required, others allowed (ignored)."""
    properties: dict[str, dict] = {}
    for name in schema.features:
        properties[name] = {"type": json_types(schema, name)}
        if schema[name].type is FeatureType.DATETIME:  # dates alone are taken too
            properties[name]["format"] = "date-time"
    return {
        "type": "object",
        "properties": properties,
        "required": list(schema.features),
        "additionalProperties": True,
    }


def media_columns(schema: Schema) -> list[str]:
    return [name for name in schema.features if schema[name].type.is_media]


def refuse_media_paths(schema: Schema) -> None:
    """Image and sound columns come as uploaded files, never as paths: a path in a request
    would have the service read any file of its machine."""
    media = media_columns(schema)
    if media:
        raise RequestError(415, f"Column(s) {_names(media)} hold image or sound files: send "
                                "them as multipart/form-data uploads (a field 'file' per "
                                "file, other columns as fields), not as paths.")  # fmt: skip


def rows_from_files(
    paths: list[str], names: list[str], fields: dict[str, str], schema: Schema
) -> Rows:
    """One row per uploaded file (saved at `paths`, sent as `names`) of the predictor's one
    media column; its other feature columns from the form's fields, the same for every
    file and read as CSV text is."""
    from assay.data._media import media_kind

    media = media_columns(schema)
    if len(media) != 1:
        raise RequestError(415, "Uploads are taken by predictors of one image or sound "
                                "column; send JSON or CSV records.")  # fmt: skip
    column = media[0]
    if not paths:
        raise RequestError(422, f"The upload holds no file: send the {schema[column].type.value} "
                                "files in fields named 'file'.")  # fmt: skip
    _check_count(len(paths))
    wanted = schema[column].type
    for name in names:
        if media_kind(name) is not wanted:
            raise RequestError(415, f"File {name!r} is not an {wanted.value} file this "
                                    f"predictor reads (column '{column}'); check its "
                                    "extension.")  # fmt: skip
    others = [name for name in schema.features if name != column]
    missing = [name for name in others if name not in fields]
    if missing:
        raise RequestError(422, f"The upload lacks field(s) {_names(missing)}: send every "
                                "feature column as a form field (GET /schema lists "
                                "them).")  # fmt: skip
    frame = pd.DataFrame({name: [fields[name]] * len(paths) for name in others}, dtype=object)
    frame.insert(0, column, pd.Series(paths, dtype=object))
    ignored = [name for name in fields if name not in set(schema.features)]
    return Rows(_typed_text(frame[list(schema.features)], schema), ignored)


def rows_from_json(body: bytes, schema: Schema) -> Rows:
    """`[{...}, ...]` or `{"records": [{...}, ...]}`."""
    refuse_media_paths(schema)
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RequestError(400, f"The body is not valid JSON ({exc}); send a list of records "
                                "such as [{\"column\": value, ...}].") from exc  # fmt: skip
    if isinstance(data, dict) and "records" in data:
        data = data["records"]
    if not isinstance(data, list):
        raise RequestError(422, "Send a JSON list of records ([{\"column\": value, ...}]) or "
                                "{\"records\": [...]}.")  # fmt: skip
    _check_count(len(data))
    features = schema.features
    seen: dict[str, None] = {}
    for i, record in enumerate(data):
        if not isinstance(record, dict):
            raise RequestError(422, f"Record {i} is a {type(record).__name__}, not an object "
                                    "of column: value pairs.")  # fmt: skip
        missing = [name for name in features if name not in record]
        if missing:
            raise RequestError(422, f"Record {i} lacks column(s) {_names(missing)}; send every "
                                    "feature column (null for a missing value); GET /schema "
                                    "lists them.")  # fmt: skip
        for name in record:
            seen.setdefault(str(name))
    for name in features:
        allowed = json_types(schema, name)
        for i, record in enumerate(data):
            _check_json_value(record[name], allowed, name, i)
    ignored = [name for name in seen if name not in set(features)]
    frame = pd.DataFrame.from_records(
        [[record[name] for name in features] for record in data], columns=list(features)
    )
    for name in features:
        if not is_numeric(schema, name):
            frame[name] = frame[name].astype(object)  # mixed JSON types stay as sent
    _check_dates(frame, schema, iso=True)
    return Rows(frame, ignored)


def rows_from_csv(body: bytes, schema: Schema) -> Rows:
    """A CSV body with a header line; every value read as text, numbers parsed here."""
    refuse_media_paths(schema)
    try:
        frame = pd.read_csv(io.BytesIO(body), dtype=str, keep_default_na=True)
    except pd.errors.EmptyDataError as exc:
        raise RequestError(422, "The CSV body is empty: send a header line and rows.") from exc
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise RequestError(400, f"The CSV body cannot be read ({first}); send comma-separated "
                                "UTF-8 text with a header line.") from exc  # fmt: skip
    _check_count(len(frame))
    frame.columns = [str(c) for c in frame.columns]
    duplicated = sorted({c for c in frame.columns if list(frame.columns).count(c) > 1})
    if duplicated:
        raise RequestError(422, f"The CSV header repeats column(s) {_names(duplicated)}.")
    missing = [name for name in schema.features if name not in frame.columns]
    if missing:
        raise RequestError(422, f"The CSV body lacks column(s) {_names(missing)}; send every "
                                "feature column (an empty value is a missing one); GET /schema "
                                "lists them.")  # fmt: skip
    ignored = [name for name in frame.columns if name not in set(schema.features)]
    return Rows(_typed_text(frame[list(schema.features)].copy(), schema), ignored)


def _typed_text(frame: pd.DataFrame, schema: Schema) -> pd.DataFrame:
    """Text values (CSV, form fields) of the feature columns with the numbers parsed and
    the dates checked; a value that is not what its column takes is refused by name."""
    for name in schema.features:
        if is_numeric(schema, name):
            text = frame[name]
            numbers = pd.to_numeric(text, errors="coerce")
            bad = numbers.isna() & text.notna()
            if bad.any():
                row = int(np.flatnonzero(bad.to_numpy())[0])
                raise RequestError(422, f"Column '{name}' takes numbers; row {row} has "
                                        f"{text.iloc[row]!r}. Send a number or leave it "
                                        "empty.")  # fmt: skip
            frame[name] = numbers.astype("float64")
    _check_dates(frame, schema)
    return frame


def _check_json_value(value: Any, allowed: list[str], column: str, row: int) -> None:
    if value is None:
        return
    if isinstance(value, bool):
        kind = "boolean"
    elif isinstance(value, int | float):
        kind = "number"
    elif isinstance(value, str):
        kind = "string"
    else:
        kind = "array" if isinstance(value, list) else "object"
    if kind not in allowed:
        wanted = " or ".join(t for t in allowed if t != "null")
        raise RequestError(422, f"Column '{column}' takes a {wanted} (or null); record {row} "
                                f"has {_show(value)} ({kind}).")  # fmt: skip


def _check_dates(frame: pd.DataFrame, schema: Schema, *, iso: bool = False) -> None:
    """A date column's values must read as dates: a typo would otherwise predict as if
    the date were missing. JSON holds them to ISO 8601 (its schema says date-time)."""
    for name in schema.features:
        if schema[name].type is not FeatureType.DATETIME:
            continue
        text = frame[name]
        stamps = pd.to_datetime(text, errors="coerce", format="ISO8601" if iso else "mixed",
                                utc=True)  # fmt: skip
        bad = stamps.isna() & text.notna()  # "" too: null is the missing date
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise RequestError(422, f"Column '{name}' takes dates; row {row} has "
                                    f"{_show(text.iloc[row])}, which is not one. Send a date "
                                    "such as 2024-05-31 or 2024-05-31T12:00:00.")  # fmt: skip


def _check_count(n_rows: int) -> None:
    if n_rows > MAX_ROWS:
        raise RequestError(413, f"The request has {n_rows} rows; send at most {MAX_ROWS} per "
                                "request (split the batch).")  # fmt: skip


def _names(names: list[str], limit: int = 10) -> str:
    shown = ", ".join(repr(n) for n in names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."

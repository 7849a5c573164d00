"""A fitted scikit-learn estimator as data: a JSON header and its fitted arrays, one .npy
record after another, written and read without pickle or skops.

Linear models and k-nearest neighbours were saved with skops. Importing `skops.io` lists
every scikit-learn estimator to name the types it trusts, which imports all of
scikit-learn, pytest, dask and torch: 2.4 s and 210 MB in a fresh process, paid by a fit
at its first linear model. These files hold numbers only (`allow_pickle=False` both ways),
so loading one cannot run code; the estimator's class must be one the caller expects, and
a fitted value is set only under a fitted attribute's name (a trailing underscore).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from assay.errors import ArtifactError

FORMAT = 1
_FITTED = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*_$")  # coef_, n_features_in_, classes_


def write_records(path: Path, arrays: Sequence[np.ndarray]) -> None:
    """Plain .npy records one after another (not an .npz: zipfile checksums every byte
    both ways, 10x slower to read a 128 MB forest)."""
    with Path(path).open("wb") as handle:
        for array in arrays:
            np.lib.format.write_array(handle, array, allow_pickle=False)


def read_records(path: Path, n_records: int | None = None) -> list[np.ndarray]:
    """The arrays `write_records` wrote (`n_records` of them, or all there are); ValueError
    for anything else (an object array, a cut file, data after the last record)."""
    arrays: list[np.ndarray] = []
    with Path(path).open("rb") as handle:
        while len(arrays) != n_records and (n_records is not None or handle.peek(1)):
            arrays.append(np.lib.format.read_array(handle, allow_pickle=False))
        if handle.read(1):
            raise ValueError("data after the last array")
    return arrays


def header_record(header: dict[str, Any]) -> np.ndarray:
    return np.frombuffer(json.dumps(header, default=plain).encode(), dtype=np.uint8)


def read_header(record: np.ndarray) -> dict[str, Any]:
    header = json.loads(bytes(record).decode())
    if not isinstance(header, dict):
        raise ValueError("the header is not a JSON object")
    return header


def plain(value: Any) -> Any:
    """A numpy scalar among the params (a tuned max_features, say) as its Python value."""
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"cannot save a param of type {type(value).__name__}")


def save_estimator(estimator: Any, path: Path, arrays: dict[str, np.ndarray] | None = None) -> None:
    """Write `estimator`'s class, params and fitted attributes to `path`: numpy values
    (arrays and scalars) as records, plain Python values in the header. `arrays`, when
    given, replaces the fitted attributes (what `load_estimator(..., refit=True)` returns
    for the caller to fit on)."""
    values: dict[str, Any] = dict(arrays or {})
    python: dict[str, Any] = {}
    if arrays is None:
        for name, value in vars(estimator).items():
            if _FITTED.match(name):
                numpy = isinstance(value, np.ndarray | np.generic)
                (values if numpy else python)[name] = value
    for name, value in values.items():
        if np.asarray(value).dtype.kind not in "biuf":
            raise ArtifactError(f"cannot save {name} of dtype {np.asarray(value).dtype}")
    header = {
        "format": FORMAT,
        "class": type(estimator).__name__,
        "params": estimator.get_params(deep=False),
        "python": python,
        "arrays": list(values),
        "scalars": [k for k, v in values.items() if isinstance(v, np.generic)],
    }
    write_records(path, [header_record(header), *(np.asarray(v) for v in values.values())])


def load_estimator(
    path: Path, expected: tuple[type, ...], refit: bool = False
) -> tuple[Any, dict[str, np.ndarray]]:
    """(estimator, arrays) from a file `save_estimator` wrote; the class must be one of
    `expected`. With `refit`, the estimator comes back unfitted with the saved arrays, for
    the caller to fit on; otherwise its fitted attributes are set from the file."""
    try:
        first, *records = read_records(path)
        header = read_header(first)
        names = list(header["arrays"])
        cls = {c.__name__: c for c in expected}.get(header["class"])
        if header["format"] != FORMAT or cls is None:
            raise ValueError(f"format {header['format']} of a {header['class']}")
        estimator = cls(**header["params"])
        scalars = set(header["scalars"])
        arrays = {n: a[()] if n in scalars else a for n, a in zip(names, records, strict=True)}
        fitted = {**header["python"], **arrays}
        if not refit and not all(isinstance(k, str) and _FITTED.match(k) for k in fitted):
            raise ValueError(f"unexpected fitted entries {sorted(fitted)}")
    except (OSError, ValueError, KeyError, TypeError) as exc:  # JSON, arrays, params
        raise ArtifactError(f"{path} is not a readable estimator file: {exc}") from exc
    if not refit:
        for name, value in fitted.items():
            setattr(estimator, name, value)
    return estimator, arrays

"""The project's benchmark tables, described by `manifest.json` in the datasets folder."""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from assay._types import Task
from assay.config import settings
from assay.data._load import read_table
from assay.errors import DataError

MANIFEST = "manifest.json"
SECTION = "tabular"  # where defaults are checked
DESIGN_SECTION = "tabular_design"  # where defaults are learned; never judged on


@dataclass(frozen=True)
class BenchmarkSpec:
    """One manifest entry. `target` is a string even for headerless files ("11")."""

    name: str
    path: Path
    target: str
    task: Task
    metric: str
    rows: int
    features: int = 0
    ref: dict[str, float] = field(default_factory=dict, hash=False, compare=False)


def _root(root: str | Path | None) -> Path:
    folder = Path(root) if root is not None else settings().datasets
    if not (folder / MANIFEST).is_file():
        raise DataError(
            f"No benchmark datasets at '{folder}' (no {MANIFEST} there). Set ASSAY_DATASETS "
            "to the folder that holds manifest.json."
        )
    return folder


def _spec(entry: dict[str, Any], folder: Path) -> BenchmarkSpec:
    try:
        return BenchmarkSpec(
            name=str(entry["name"]),
            path=folder / entry["path"],
            target=str(entry["target"]),
            task=Task(entry["task"]),
            metric=str(entry["metric"]),
            rows=int(entry["rows"]),
            features=int(entry.get("features", 0)),
            ref=dict(entry.get("ref", {})),
        )
    except (KeyError, ValueError, TypeError) as exc:
        raise DataError(
            f"Entry {entry.get('name', '?')!r} of {folder / MANIFEST} is malformed ({exc!r}). "
            "Fix the manifest."
        ) from exc


def benchmark_datasets(
    root: str | Path | None = None, section: str = SECTION
) -> list[BenchmarkSpec]:
    """The datasets of one manifest section (`tabular`, where defaults are judged, or
    `tabular_design`, where they are learned), in manifest order (root: ASSAY_DATASETS by
    default)."""
    folder = _root(root)
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DataError(f"Could not read {folder / MANIFEST}: {exc}. Fix the manifest.") from exc
    return [_spec(entry, folder) for entry in manifest.get(section, [])]


def load_benchmark(name: str, root: str | Path | None = None) -> tuple[pd.DataFrame, BenchmarkSpec]:
    """The table (read without the manifest's read hints) and its spec, from either tabular
    section."""
    specs = {
        spec.name: spec
        for section in (SECTION, DESIGN_SECTION)
        for spec in benchmark_datasets(root, section)
    }
    if name not in specs:
        close = difflib.get_close_matches(name, list(specs), n=3)
        hint = f" Did you mean: {', '.join(close)}?" if close else ""
        raise DataError(f"No benchmark dataset named '{name}'.{hint} Known: {', '.join(specs)}.")
    spec = specs[name]
    return read_table(spec.path), spec

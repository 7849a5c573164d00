"""Result rows of the benchmarks: CSV files appended a row at a time as each measurement
finishes, so a killed run keeps what it finished and resumes from what is there.

A file written before a column was added is rewritten under the current header (the new
column blank in its old rows) before the next row is appended, so one file never mixes two
headers. Keys of a row that are not among the columns are left out."""

from __future__ import annotations

import csv
import subprocess
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def code_version() -> str:
    """The short commit of the checkout these scripts run from (what a row measured, when
    run from a worktree of that commit); empty outside a git checkout."""
    done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True)
    return done.stdout.decode().strip()


def read_rows(path: Path) -> list[dict]:
    """The rows of a results CSV (every value a string); none if the file is not there."""
    if not path.exists():
        return []
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def append_rows(path: Path, fields: list[str], rows: Iterable[dict]) -> None:
    """Append `rows` under the header `fields`, writing the header to a new or empty file
    and rewriting an older file's rows under it first."""
    new = not path.exists() or path.stat().st_size == 0
    if not new:
        with path.open(newline="") as handle:
            header = next(csv.reader(handle), [])
        if header != fields:
            _write(path, fields, read_rows(path), mode="w")
    _write(path, fields, rows, mode="w" if new else "a")


def append_row(path: Path, fields: list[str], row: dict) -> None:
    """Append one row (see `append_rows`)."""
    append_rows(path, fields, [row])


def _write(path: Path, fields: list[str], rows: Iterable[dict], mode: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open(mode, newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields, extrasaction="ignore")
        if mode == "w":
            writer.writeheader()
        writer.writerows(rows)

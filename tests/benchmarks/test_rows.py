"""benchmarks/_rows.py: result rows appended as they finish, a new file with its header, an
older file (written before a column was added) rewritten under the current header."""

import re
import sys
from pathlib import Path

import pandas as pd

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCH))

from _rows import append_row, append_rows, code_version, read_rows  # noqa: E402

FIELDS = ["dataset", "score", "version"]


def test_rows_are_appended_under_one_header_and_read_back(tmp_path):
    out = tmp_path / "results" / "new.csv"  # the folder is made too
    assert read_rows(out) == []
    append_row(out, FIELDS, {"dataset": "a", "score": 0.5, "version": "v1", "extra": "left out"})
    append_rows(out, FIELDS, [{"dataset": "b", "score": 0.25}, {"dataset": "c", "score": 1}])
    assert out.read_text().splitlines()[0] == "dataset,score,version"
    assert read_rows(out) == [
        {"dataset": "a", "score": "0.5", "version": "v1"},
        {"dataset": "b", "score": "0.25", "version": ""},
        {"dataset": "c", "score": "1", "version": ""},
    ]


def test_rows_appended_to_an_older_file_gain_the_new_columns(tmp_path):
    out = tmp_path / "old.csv"
    out.write_text("dataset,score\nx,0.1\n")
    append_row(out, FIELDS, {"dataset": "y", "score": 0.2, "version": "lightgbm 4.7.0"})
    rows = pd.read_csv(out, keep_default_na=False)
    assert list(rows.columns) == FIELDS
    assert rows.version.tolist() == ["", "lightgbm 4.7.0"] and rows.dataset.tolist() == ["x", "y"]
    empty = tmp_path / "empty.csv"
    empty.touch()  # a file a killed run created but never wrote: it gets the header
    append_row(empty, FIELDS, {"dataset": "z"})
    assert read_rows(empty) == [{"dataset": "z", "score": "", "version": ""}]


def test_rows_name_the_commit_they_measured():
    assert re.fullmatch(r"[0-9a-f]{7,40}", code_version())  # this checkout's HEAD

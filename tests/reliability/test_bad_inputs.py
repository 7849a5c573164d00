"""The bad-input suite: each case is a file or frame a user may really hand us, with what
must happen: an error (an AssayError whose message names the problem and the fix) or a
handling (the right result, and a log line that says what was done). The outcomes seen
here are written to docs/reliability.md (`make reliability-doc`)."""

from __future__ import annotations

import gzip
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from assay import FeatureType
from assay.automl import AutoML
from assay.cli import main as cli_main
from assay.data import read_table
from assay.errors import AssayError

SECTION = "bad_input"
N = 200


def _base(n: int = N, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    c = rng.choice(["a", "b", "c"], n)
    signal = x1 + (c == "a") + rng.normal(scale=0.7, size=n)
    return pd.DataFrame({"x1": x1, "x2": x2, "c": c, "y": np.where(signal > 0.5, "yes", "no")})


BASE = _base()


def fit(frame: pd.DataFrame, target="y", **options) -> AutoML:
    options = {"models": ["linear"], "n_trials": 1, "n_folds": 2, "store": False, **options}
    return AutoML(**options).fit(frame, target=target)


def write(folder: Path, name: str, content: str | bytes, encoding: str = "utf-8") -> Path:
    path = folder / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding=encoding)
    return path


def types_of(model: AutoML) -> dict[str, FeatureType]:
    return {c.name: c.type for c in model._fitted().schema.columns}


@pytest.fixture(scope="module")
def fitted() -> AutoML:
    return fit(BASE)


@dataclass(frozen=True)
class Case:
    name: str
    expected: str  # "error" or "handled"
    says: str | None  # a regex the error message or a log line must match (None: no log
    # line is needed, as the result is what the user meant)
    run: Callable[..., object]  # (tmp_path, fitted) -> result
    check: Callable[[object], object] | None = None  # handled: the result is right


def _csv(frame: pd.DataFrame = BASE) -> str:
    return frame.to_csv(index=False)


def _mixed_dates(n: int) -> list[str]:
    forms = ("2024-01-{:02d}", "{:02d}/02/2024", "March {}, 2024")
    return [forms[i % 3].format(1 + i % 27) for i in range(n)]


def _cli(capsys, *args: str) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exit_info:
        cli_main(list(args))
    return int(exit_info.value.code or 0), capsys.readouterr().err


CASES = [
    # -- reading files ---------------------------------------------------------------
    Case(
        "an empty file (0 bytes)",
        "error",
        r"is empty.*Give a file",
        lambda p, m: read_table(write(p, "empty.csv", "")),
    ),
    Case(
        "a header only",
        "error",
        r"header row but no data rows",
        lambda p, m: read_table(write(p, "h.csv", "x1,x2,c,y\n")),
    ),
    Case(
        "a semicolon-delimited CSV",
        "handled",
        r"sep=';'",
        lambda p, m: read_table(write(p, "semi.csv", _csv().replace(",", ";"))),
        lambda r: r.shape == (N, 4) and r["x1"].dtype == float,
    ),
    Case(
        "a UTF-8 byte order mark",
        "handled",
        r"Read .*bom\.csv",
        lambda p, m: read_table(write(p, "bom.csv", "\ufeff" + _csv())),
        lambda r: list(r.columns) == ["x1", "x2", "c", "y"],
    ),
    Case(
        "Latin-1 text",
        "handled",
        r"not valid UTF-8; reading it as latin-1",
        lambda p, m: read_table(write(p, "l1.csv", "name,y\ncafé,1\nniño,0\n", "latin-1")),
        lambda r: r["name"].tolist() == ["café", "niño"],
    ),
    Case(
        "a tab-separated file named .csv",
        "handled",
        r"sep='\\t'",
        lambda p, m: read_table(write(p, "tabs.csv", _csv().replace(",", "\t"))),
        lambda r: r.shape == (N, 4),
    ),
    Case(
        "Windows line endings",
        "handled",
        r"Read .*crlf\.csv",
        lambda p, m: read_table(write(p, "crlf.csv", _csv().replace("\n", "\r\n"))),
        lambda r: list(r.columns) == ["x1", "x2", "c", "y"] and r.shape == (N, 4),
    ),
    Case(
        "a gzip-compressed CSV",
        "handled",
        r"Read .*\.csv\.gz",
        lambda p, m: read_table(write(p, "z.csv.gz", gzip.compress(_csv().encode()))),
        lambda r: r.shape == (N, 4),
    ),
    Case(
        "quoted fields with line breaks inside",
        "handled",
        r"2 rows x 2 columns",
        lambda p, m: read_table(write(p, "nl.csv", 'a,y\n"line one\nline two",1\nb,0\n')),
        lambda r: r["a"].iloc[0] == "line one\nline two",
    ),
    Case(
        "duplicated headers",
        "error",
        r"duplicate column names: 'a'.*Rename",
        lambda p, m: read_table(write(p, "dup.csv", "a,a,y\n1,2,3\n4,5,6\n")),
    ),
    Case(
        "rows with more fields than the header",
        "error",
        r"line 4 has 4 fields.*fix that line",
        lambda p, m: read_table(write(p, "rag.csv", "a,b,y\n1,2,3\n4,5,6\n6,7,8,9\n")),
    ),
    Case(
        "a missing file",
        "error",
        r"File not found.*Did you mean",
        lambda p, m: (write(p, "train.csv", "a\n1\n"), read_table(p / "trian.csv")),
    ),
    Case(
        "an Excel file",
        "error",
        r"zip archive \(xlsx\?\).*Save it as CSV",
        lambda p, m: read_table(write(p, "book.xlsx", b"PK\x03\x04" + b"\0" * 64)),
    ),
    Case(
        "a truncated Parquet file",
        "error",
        r"as Parquet.*Check that the file is complete",
        lambda p, m: read_table(write(p, "t.parquet", b"PAR1" + b"\x15" * 40)),
    ),
    Case(
        "a malformed ARFF file",
        "error",
        r"as ARFF.*@attribute and @data",
        lambda p, m: read_table(
            write(p, "m.arff", "@relation r\n@attribute a numeric\n@data\n1,2,3\n")
        ),
    ),
    # -- columns ---------------------------------------------------------------------
    Case(
        "an all-missing column",
        "handled",
        r"Not using column 'm'.*all values are missing",
        lambda p, m: fit(BASE.assign(m=np.nan)),
        lambda r: "m" not in r._fitted().schema.features,
    ),
    Case(
        "a constant column",
        "handled",
        r"Not using column 'k'.*single distinct value",
        lambda p, m: fit(BASE.assign(k=5)),
        lambda r: types_of(r)["k"] is FeatureType.CONSTANT,
    ),
    Case(
        "an id column with unique values",
        "handled",
        r"Not using column 'id'.*identifier",
        lambda p, m: fit(BASE.assign(id=np.arange(N) * 7 + 1000)),
        lambda r: types_of(r)["id"] is FeatureType.ID,
    ),
    Case(
        "numbers stored as text (with thousands separators)",
        "handled",
        r"Column 'n' of .* should be numeric; 1 values \('n/a!'\)",
        lambda p, m: fit(BASE.assign(n=[f"{1000 * i:,}" for i in range(N - 1)] + ["n/a!"])),
        lambda r: types_of(r)["n"] is FeatureType.NUMERIC,
    ),
    Case(
        "mixed numbers and text in a column",
        "handled",
        r"Column 'mx' mixes numbers .* categorical",
        lambda p, m: fit(BASE.assign(mx=[str(i) if i % 3 else "abc" for i in range(N)])),
        lambda r: types_of(r)["mx"] is FeatureType.CATEGORICAL,
    ),
    Case(
        "dates in several formats",
        "handled",
        r"Column 'dt' holds dates in several formats",
        lambda p, m: fit(BASE.assign(dt=_mixed_dates(N))),
        lambda r: types_of(r)["dt"] is FeatureType.DATETIME,
    ),
    Case(
        "10,000 categories",
        "handled",
        r"Column 'k' .* has \d{4} categories; .* most frequent",
        lambda p, m: fit(_many_categories()),
        lambda r: (
            types_of(r)["k"] is FeatureType.CATEGORICAL and r._fitted().info["ensemble_score"] > 0.8
        ),
    ),
    Case(
        "extremely large values (1e300)",
        "handled",
        r"Column 'x1' .* as large as 2.+e\+300",
        lambda p, m: fit(BASE.assign(x1=BASE.x1 * 1e300)),
        lambda r: np.isfinite(
            r._fitted().predict_proba(BASE.assign(x1=BASE.x1 * 1e300)).to_numpy()
        ).all(),
    ),
    Case(
        "infinite values in a feature",
        "handled",
        r"Replaced infinite values with missing.*'x2'",
        lambda p, m: fit(BASE.assign(x2=np.where(BASE.x2 > 1, np.inf, BASE.x2))),
        lambda r: r._fitted().info["ensemble_score"] > 0.7,
    ),
    Case(
        "a trailing separator on every line",
        "handled",
        r"Not using column 'Unnamed: 4'",
        lambda p, m: fit(read_table(write(p, "td.csv", _csv().replace("\n", ",\n")))),
        lambda r: r._fitted().schema.features == ("x1", "x2", "c"),
    ),
    Case(
        "no usable feature column",
        "error",
        r"no usable feature columns.*'k'.*single distinct",
        lambda p, m: fit(pd.DataFrame({"k": [1] * 40, "m": [np.nan] * 40, "y": [0, 1] * 20})),
    ),
    # -- the target --------------------------------------------------------------------
    Case(
        "a target that is not a column",
        "error",
        r"Target column 'Y' is not in .*Columns: 'x1'",
        lambda p, m: fit(BASE, target="Y"),
    ),
    Case(
        "a target with missing values",
        "handled",
        r"Dropped 10 rows .* target 'y' is missing",
        lambda p, m: fit(BASE.assign(y=BASE.y.where(BASE.index >= 10))),
        lambda r: r._fitted().info["n_rows"] == N - 10,
    ),
    Case(
        "a target with only missing values",
        "error",
        r"'y' .* has no values \(all missing\)",
        lambda p, m: fit(BASE.assign(y=np.nan)),
    ),
    Case(
        "a target with inf",
        "error",
        r"'y' has 1 infinite values.*Replace or drop",
        lambda p, m: fit(BASE.assign(y=np.where(BASE.index == 3, np.inf, BASE.x1))),
    ),
    Case(
        "one class",
        "error",
        r"single class \('yes'\).*Choose another target",
        lambda p, m: fit(BASE.assign(y="yes")),
    ),
    Case(
        "a class with one row",
        "handled",
        r"classes with a single row: 'maybe'",
        lambda p, m: fit(BASE.assign(y=np.where(BASE.index == 0, "maybe", BASE.y))),
        lambda r: "maybe" in r._fitted().classes,
    ),
    Case(
        "labels that differ by case or spaces",
        "handled",
        r"differ only by case or spaces",
        lambda p, m: fit(BASE.assign(y=np.where(BASE.index < 6, "Yes", BASE.y))),
        lambda r: set(r._fitted().classes) == {"Yes", "no", "yes"},
    ),
    Case(
        "text labels with task=regression",
        "error",
        r"task='regression' needs numbers.*'no'",
        lambda p, m: fit(BASE, task="regression"),
    ),
    Case("too few rows", "error", r"has 6 rows .* at least 10", lambda p, m: fit(BASE.head(6))),
    # -- arguments -------------------------------------------------------------------
    Case(
        "an unknown metric",
        "error",
        r"Unknown metric 'accuracyy'.*Choose one of",
        lambda p, m: fit(BASE, metric="accuracyy"),
    ),
    Case(
        "a metric for another task",
        "error",
        r"Metric 'rmse' does not apply to a binary task",
        lambda p, m: fit(BASE, metric="rmse"),
    ),
    Case(
        "a negative time limit",
        "error",
        r"time_limit_s=-1: give a positive",
        lambda p, m: fit(BASE, time_limit_s=-1),
    ),
    Case(
        "an unknown model name",
        "error",
        r"unknown \['lgbmm'\]; choose from",
        lambda p, m: fit(BASE, models=["lgbmm"]),
    ),
    Case(
        "a portfolio file that is not JSON",
        "error",
        r"portfolio .*mine\.json: not valid JSON \(.* at line 2, column 3\)",
        lambda p, m: fit(BASE, portfolio=str(write(p, "mine.json", "{\n  classification: []}"))),
    ),
    Case(
        "a portfolio naming a model assay does not have",
        "error",
        r"entry 1 of 'classification' names model 'lightgmb', which assay does not have",
        lambda p, m: fit(
            BASE,
            portfolio=str(
                write(
                    p,
                    "mine.json",
                    '{"classification": [{"model": "linear", "config": {}}, '
                    '{"model": "lightgmb", "config": {}}]}',
                )
            ),
        ),
    ),
    Case(
        "a portfolio without a list for the task",
        "error",
        r"has no 'classification' list for this binary task; add one",
        lambda p, m: fit(
            BASE,
            portfolio=str(write(p, "mine.json", '{"regression": [{"model": "linear"}]}')),
        ),
    ),
    Case(
        "a portfolio whose large-data threshold is not a number",
        "error",
        r"'large_from_rows' is '10k'; give the number of training rows",
        lambda p, m: fit(
            BASE,
            portfolio=str(
                write(
                    p,
                    "mine.json",
                    '{"large_from_rows": "10k", "classification": [], '
                    '"classification_large": [{"model": "lightgbm", "config": {}}]}',
                )
            ),
        ),
    ),
    # -- predict time ------------------------------------------------------------------
    Case(
        "a column renamed at predict time",
        "error",
        r"lacks 1 feature column.*'x1'.*Add them",
        lambda p, m: m.predict(BASE.rename(columns={"x1": "X1"}).head()),
    ),
    Case(
        "a column missing at predict time",
        "error",
        r"lacks 1 feature column.*'x2'",
        lambda p, m: m.predict(BASE.drop(columns="x2").head()),
    ),
    Case(
        "extra columns at predict time",
        "handled",
        r"Ignoring columns not seen at fit time: 'z'",
        lambda p, m: m.predict(BASE.assign(z=1).head(20)),
        lambda r: True,
    ),
    Case(
        "reordered columns at predict time",
        "handled",
        None,
        lambda p, m: (m.predict(BASE[["c", "x2", "x1"]].head(20)), m.predict(BASE.head(20))),
        lambda r: (r[0] == r[1]).all(),
    ),
    Case(
        "numbers as text at predict time",
        "handled",
        None,
        lambda p, m: (
            m.predict(BASE.assign(x1=BASE.x1.astype(str)).head(20)),
            m.predict(BASE.head(20)),
        ),
        lambda r: (r[0] == r[1]).all(),
    ),
    Case(
        "a numeric column holding text at predict time",
        "handled",
        r"Column 'x1' .* should be numeric; 5 values \('abc'\) .* set to missing",
        lambda p, m: m.predict(BASE.assign(x1="abc").head()),
        lambda r: len(r) == 5,
    ),
    Case(
        "unseen categories at predict time",
        "handled",
        r"Column 'c': 5 values .*\('zzz'\) are not categories",
        lambda p, m: m.predict_proba(BASE.assign(c="zzz").head()),
        lambda r: np.allclose(r.to_numpy().sum(axis=1), 1),
    ),
    Case(
        "predict on an empty frame",
        "handled",
        r"No rows to predict",
        lambda p, m: m.predict_proba(BASE.head(0)),
        lambda r: r.shape == (0, 2),
    ),
    Case(
        "predict on a missing file",
        "error",
        r"File not found",
        lambda p, m: m.predict(p / "new.csv"),
    ),
]


def _many_categories() -> pd.DataFrame:
    rng = np.random.default_rng(1)
    n = 12_000
    k = rng.integers(0, 10_000, n)
    x = rng.normal(size=n)
    return pd.DataFrame(
        {"x": x, "k": [f"k{i}" for i in k], "y": np.where(x + rng.normal(size=n) > 0, 1, 0)}
    )


def test_there_are_at_least_36_cases():
    assert len(CASES) >= 36
    assert len({c.name for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=lambda c: re.sub(r"\W+", "-", c.name))
def test_bad_input(case: Case, tmp_path, fitted, caplog, reliability):
    caplog.set_level(logging.INFO, logger="assay")
    if case.expected == "error":
        with pytest.raises(AssayError) as raised:
            case.run(tmp_path, fitted)
        message = str(raised.value)
        assert re.search(case.says, message, re.S), message
        assert "\n" not in message, "an error message is one line"
        reliability.record(case.name, "error", f"error: {type(raised.value).__name__}", message)
        return
    result = case.run(tmp_path, fitted)
    lines = [r.getMessage() for r in caplog.records if r.name.startswith("assay")]
    said = [line for line in lines if case.says and re.search(case.says, line, re.S)]
    assert case.check(result), f"{case.name}: wrong result {result!r}"
    if case.says is None:
        reliability.record(case.name, "handled", "handled (same predictions)", "no log line needed")
        return
    assert said, f"{case.name}: no log line matches {case.says!r} in {lines}"
    reliability.record(case.name, "handled", "handled, logged", said[0])


def test_the_cli_prints_one_line_and_exits_3_on_bad_data(tmp_path, capsys, reliability):
    empty = write(tmp_path, "empty.csv", "")
    code, err = _cli(capsys, "fit", str(empty), "--target", "y", "--trials", "1")
    errors = [line for line in err.splitlines() if line.startswith("assay: error: ")]
    assert code == 3 and len(errors) == 1 and "is empty (0 bytes)" in errors[0]
    assert "Traceback" not in err
    reliability.record(
        "`assay fit` on an empty file", "error", f"exit {code}, one error line", errors[0]
    )

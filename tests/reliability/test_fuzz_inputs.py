"""Property-based fuzzing of everything between a user's file and a probability: the loader,
schema and task inference, `prepare`, the predict-time check, the tabular encoder and a
whole (tiny) AutoML fit. The one property everywhere: nothing raises anything but an
AssayError; and the fitted predictor's probabilities are a distribution per input row.

Examples that once broke something are kept as explicit @example so they stay covered.
ASSAY_FUZZ_EXAMPLES=500 explores longer locally (never in CI, which runs the counts below).
"""

from __future__ import annotations

import codecs
import gzip
import io
import itertools
import os
import re
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from hypothesis.extra import pandas as hpd

from assay._types import FeatureType
from assay.automl import AutoML
from assay.data import check_predict_frame, infer_schema, infer_task, prepare, read_table
from assay.errors import AssayError, DataError
from assay.features import Encoding, TabularEncoder

SECTION = "fuzzing"
_LONG = int(os.environ.get("ASSAY_FUZZ_EXAMPLES", "0"))
_NAMES = itertools.count()
_MASK = re.compile(r"'[^']*'|\"[^\"]*\"|\d+")


def fuzz(n_examples: int, *, slow: bool = False):
    """Reproducible settings (CI sees the same examples every run). ASSAY_FUZZ_EXAMPLES
    raises the count for a local exploration, with fresh random examples each time.
    `slow`: whole mixed frames are drawn per example, which a slower machine may take long
    enough over to fail Hypothesis' generation-speed and data-size health checks."""
    checks = [HealthCheck.too_slow, HealthCheck.data_too_large] if slow else []
    return settings(
        max_examples=max(n_examples, _LONG),
        deadline=None,
        derandomize=not _LONG,
        suppress_health_check=checks,
    )


class Tally:
    """What a property saw: results, AssayErrors (with a few messages), checked claims.
    `expected`: the AssayError subclass the inputs may cause (with valid arguments and
    fuzzed data, a DataError: a ConfigError there would blame an argument that is fine)."""

    def __init__(self, expected: type[AssayError] = AssayError) -> None:
        self.expected = expected
        self.counts: Counter[str] = Counter()
        self.messages: Counter[str] = Counter()  # by kind: quoted parts and numbers masked
        self.first: dict[str, str] = {}
        self.last_message = ""
        self.last_error: AssayError | None = None

    def run(self, fn, *args, **kwargs):
        """fn's result, or None after an AssayError; any other exception propagates."""
        try:
            result = fn(*args, **kwargs)
        except AssayError as exc:
            self.counts["error"] += 1
            self.last_error, message = exc, str(exc)
            self.last_message = message
            assert message.strip(), f"{type(exc).__name__} without a message"
            assert isinstance(exc, self.expected), f"{type(exc).__name__}: {message}"
            kind = _MASK.sub("_", message)[:80]
            self.messages[kind] += 1
            self.first.setdefault(kind, message)
            return None
        self.counts["ok"] += 1
        return result

    @property
    def n(self) -> int:
        return self.counts["ok"] + self.counts["error"]

    def detail(self, n_kinds: int = 2) -> str:
        """The most frequent kinds of AssayError message, one full example of each."""
        common = [self.first[kind] for kind, _ in self.messages.most_common(n_kinds)]
        return ("most common: " + " / ".join(common)) if common else ""


def new_path(tmp_path, suffix: str):
    return tmp_path / f"f{next(_NAMES)}{suffix}"


# --- values users put in tables ---------------------------------------------------------
WORDS = st.sampled_from(
    ["a", "b", "c", "A", " a", "yes", "no", "?", "", "NA", "null", "None", "nan", "1", "0",
     "true", "False", "é", "日本", "x y", "a,b", '"q"', "'s'", "\t", "inf", "-", "1e999"]
)  # fmt: skip
TEXT = st.lists(WORDS, max_size=8).map(" ".join)
DATES = st.one_of(
    st.datetimes(datetime(1, 1, 1), datetime(9999, 12, 31)).map(str),
    st.datetimes(datetime(1900, 1, 1), datetime(2100, 1, 1)).map(lambda d: d.isoformat()),
    st.datetimes(datetime(1900, 1, 1), datetime(2100, 1, 1)).map(lambda d: f"{d:%d/%m/%Y}"),
    st.sampled_from(
        ["2024-02-30", "13/13/2024", "2024-01-01T25:00", "0000-00-00", "2024-01-01 10:00+02:00",
         "2024-01-01 10:00-05:00", "1e10", "20240101", "Jan 5 2024", "12:30"]
    ),
)  # fmt: skip
FLOATS = st.floats(allow_nan=True, allow_infinity=True)
HUGE = st.sampled_from([1e308, -1e308, 1.7976931348623157e308, 5e-324, 2.0**63, -(2.0**63)])
INTS = st.integers(-(2**63), 2**63 - 1)
NUM_TEXT = st.one_of(
    FLOATS.map(str),
    st.integers(-(10**30), 10**30).map(str),
    st.sampled_from(["1,5", "1 000", "+3", ".5", "5.", "0x10", "1_000", "−2", "inf", "NaN"]),
)
# What a DataFrame built in Python may hold in an object column. A signalling Decimal NaN
# is left out: pandas itself raises on it (even in repr).
PY_OBJECTS = st.one_of(
    st.integers(-(2**80), 2**80), st.datetimes(), st.dates(), st.timedeltas(),
    st.decimals(allow_nan=False, places=3), st.just(Decimal("NaN")), st.binary(max_size=3),
    st.fractions(),
)  # fmt: skip
ANY = st.one_of(FLOATS, HUGE, INTS, WORDS, TEXT, DATES, NUM_TEXT, st.booleans(), st.none())


def _astype(dtype: str):
    return lambda column: column.astype(dtype)


def _utc(column: pd.Series) -> pd.Series:
    return column.dt.tz_localize("UTC")


# kind -> (dtype for hypothesis.extra.pandas, elements or None for the dtype's own, converter)
KINDS = {
    "float": (float, st.one_of(FLOATS, HUGE), None),
    "small_int": (np.int64, st.integers(-3, 3), None),
    "int": (np.int64, INTS, None),
    "bool": (bool, None, None),
    "bool_obj": (object, st.one_of(st.booleans(), st.none()), None),
    "boolean": (object, st.one_of(st.booleans(), st.none()), _astype("boolean")),
    "Int64": (object, st.one_of(st.integers(-(2**40), 2**40), st.none()), _astype("Int64")),
    "Float64": (object, st.one_of(st.floats(allow_nan=False), st.none()), _astype("Float64")),
    "category": (object, st.one_of(WORDS, st.none()), _astype("category")),
    "cat": (object, st.one_of(WORDS, st.none()), None),
    "str": (object, st.one_of(WORDS, TEXT, st.none()), _astype("str")),
    "string": (object, st.one_of(WORDS, NUM_TEXT, st.none()), _astype("string")),
    "text": (object, st.one_of(TEXT, st.none()), None),
    "date_str": (object, st.one_of(DATES, st.none()), None),
    "datetime64": ("datetime64[ns]", None, None),
    "tz_datetime": ("datetime64[ns]", None, _utc),
    "timedelta": ("timedelta64[ns]", None, None),
    "num_text": (object, st.one_of(NUM_TEXT, st.none()), None),
    "py_objects": (object, st.one_of(PY_OBJECTS, st.none()), None),
    "mixed": (object, ANY, None),
}
_MANY_VALUES = {"float", "int", "Int64", "text", "date_str", "num_text", "mixed", "datetime64"}
COLUMN_NAMES = st.one_of(
    st.sampled_from(["x", "id", "user_id", "Unnamed: 0", "", " ", "1", "2.5", "a,b", "é", "date"]),
    st.text(min_size=0, max_size=6),
    st.sampled_from([0, 2.5]),  # names a DataFrame built in code may have
)


@st.composite
def mixed_frames(draw, min_rows=1, max_rows=12, max_cols=5, kinds=tuple(KINDS), names=None):
    """A frame of mixed column kinds (see KINDS) with unique column names."""
    n_cols = draw(st.integers(1, max_cols))
    names = names or draw(st.lists(COLUMN_NAMES, min_size=n_cols, max_size=n_cols, unique=True))
    chosen = [draw(st.sampled_from(kinds)) for _ in names]
    columns = [  # some columns all-distinct, else Hypothesis favours near-constant ones
        hpd.column(
            name,
            dtype=KINDS[kind][0],
            elements=KINDS[kind][1],
            unique=kind in _MANY_VALUES and draw(st.booleans()),
        )
        for name, kind in zip(names, chosen, strict=True)
    ]
    frame = draw(hpd.data_frames(columns, index=hpd.range_indexes(min_rows, max_rows)))
    for name, kind in zip(names, chosen, strict=True):
        if KINDS[kind][2] is not None:
            frame[name] = KINDS[kind][2](frame[name])
    if draw(st.booleans()) and len(frame):  # duplicate rows
        frame = pd.concat([frame, frame.iloc[: draw(st.integers(1, len(frame)))]])
        frame = frame.reset_index(drop=True)
    return frame


# --- 1. read_table on well-formed files: written by pandas, by hand, or as ARFF ---------
@dataclass(frozen=True)
class Written:
    """A file's bytes, and the shape and names read_table must give back (None when the
    file is legal but ambiguous, e.g. a one-column CSV, so an AssayError is acceptable)."""

    raw: bytes
    suffix: str
    sep: str | None = None  # the separator it was written with (text files)
    shape: tuple[int, int] | None = None
    names: tuple[str, ...] | None = None


ROUND_TRIP_KINDS = ("float", "small_int", "int", "bool", "cat", "text", "date_str", "num_text")
IDENTIFIERS = st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,5}", fullmatch=True)
SIMPLE_CELLS = st.one_of(
    IDENTIFIERS, st.integers(-(10**6), 10**6).map(str), st.floats(-1e6, 1e6).map(repr)
)


def _plain(frame: pd.DataFrame) -> bool:
    """Rows, and two or more columns named by distinct, non-numeric, unpadded, printable
    names: nothing for the sniffer to guess, so a CSV must keep its shape and names. (Not
    so with a bare carriage return in a name: pandas writes it unquoted, a line break.)"""
    names = [str(c) for c in frame.columns]
    return (
        frame.shape[1] >= 2
        and len(frame) > 0
        and all(n and n == n.strip() and n.isprintable() and not _number(n) for n in names)
    )


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


@st.composite
def pandas_files(draw) -> Written:
    """A fuzzed frame as pandas writes it: CSV, TSV, gzipped CSV, TXT or Parquet."""
    frame = draw(mixed_frames(min_rows=0, max_rows=15, kinds=ROUND_TRIP_KINDS))
    suffix = draw(st.sampled_from([".csv", ".tsv", ".parquet", ".csv.gz", ".txt"]))
    sep = "\t" if suffix == ".tsv" else draw(st.sampled_from([",", ";", "|", "\t"]))
    if suffix == ".parquet":
        buffer = io.BytesIO()
        try:
            frame.to_parquet(buffer, index=False)
        except Exception as exc:  # pyarrow cannot store some object columns at all
            assume(not type(exc).__module__.startswith("pyarrow"))
            raise
        raw, must_read = buffer.getvalue(), len(frame) > 0
    else:
        raw, must_read = frame.to_csv(index=False, sep=sep).encode(), _plain(frame)
        raw = gzip.compress(raw, mtime=0) if suffix.endswith(".gz") else raw
    names = tuple(str(c) for c in frame.columns)
    must_read = must_read and len(set(names)) == len(names)  # 2.5 and '2.5' are one name
    return Written(raw, suffix, sep, frame.shape if must_read else None, names)


@st.composite
def hand_written_tables(draw) -> Written:
    """A plain table with any separator a user may pass (multi-character ones included);
    nothing in it needs quoting."""
    n_cols, n_rows = draw(st.integers(2, 5)), draw(st.integers(1, 8))
    names = draw(st.lists(IDENTIFIERS, min_size=n_cols, max_size=n_cols, unique=True))
    rows = draw(st.lists(st.lists(SIMPLE_CELLS, min_size=n_cols, max_size=n_cols),
                         min_size=n_rows, max_size=n_rows))  # fmt: skip
    sep = draw(st.sampled_from([",", ";", "|", "\t", "::", " ; "]))
    text = "\n".join(sep.join(row) for row in [names, *rows]) + "\n"
    return Written(text.encode(), ".csv", sep, (n_rows, n_cols), tuple(names))


# attribute type -> a strategy for its well-formed values
ARFF_VALUES = {
    "numeric": st.one_of(st.floats(allow_nan=False, allow_infinity=False).map(repr),
                         st.integers(-(10**20), 10**20).map(str), st.just("?")),
    "integer": st.one_of(st.integers(-1000, 1000).map(str), st.just("?")),
    "string": st.one_of(TEXT.map(lambda t: "'" + t.replace("'", "") + "'"), st.just("?")),
    "date": st.one_of(DATES.map(lambda d: f'"{d}"'), st.just("?")),
    "date 'yyyy-MM-dd'": st.one_of(DATES.map(lambda d: f'"{d}"'), st.just("?")),
    "{a,b,c}": st.sampled_from(["a", "b", "c", "?"]),
    "{'x y',z}": st.sampled_from(["'x y'", "z", "?"]),
}  # fmt: skip


@st.composite
def arff_files(draw) -> Written:
    """Well-formed ARFF: each row's values fit their attribute's type."""
    n_attrs, n_rows = draw(st.integers(1, 4)), draw(st.integers(1, 6))
    kinds = [draw(st.sampled_from(list(ARFF_VALUES))) for _ in range(n_attrs)]
    lines = draw(st.lists(st.sampled_from(["% comment", "", "%"]), max_size=2))
    lines.append(draw(st.sampled_from(["@relation r", "@RELATION 'x y'"])))
    lines += [f"@attribute c{i} {kind}" for i, kind in enumerate(kinds)]
    lines.append(draw(st.sampled_from(["@data", "@DATA"])))
    lines += [",".join(draw(ARFF_VALUES[k]) for k in kinds) for _ in range(n_rows)]
    text = "\n".join(lines) + "\n"
    raw = text.encode(draw(st.sampled_from(["utf-8", "latin-1", "utf-16"])), errors="replace")
    return Written(raw, ".arff", None, (n_rows, n_attrs), tuple(f"c{i}" for i in range(n_attrs)))


READ_BACK = Tally(DataError)


@fuzz(400)
@given(st.one_of(pandas_files(), hand_written_tables(), arff_files()), st.booleans())
@example(Written(b"a::b\n1::2\n3::4\n", ".csv", "::", (2, 2), ("a", "b")), True)  # refused
@example(  # a UTF-16 ARFF file was decoded as latin-1 and refused
    Written("@relation r\n@attribute c0 numeric\n@data\n0.0\n".encode("utf-16"), ".arff",
            None, (1, 1), ("c0",)), False
)  # fmt: skip
def _read_back(tmp_path, written, pass_sep):
    path = new_path(tmp_path, written.suffix)
    path.write_bytes(written.raw)
    sep = written.sep
    options = {"sep": sep} if sep and (pass_sep or len(sep) > 1) else {}
    out = READ_BACK.run(read_table, path, **options)
    if out is None:
        assert written.shape is None, f"a well-formed file (sep={sep!r}) was refused"
        return
    assert isinstance(out, pd.DataFrame) and len(out) > 0
    assert all(isinstance(c, str) for c in out.columns)
    if written.shape is not None:
        assert out.shape == written.shape, f"wrote {written.shape}, read {out.shape}"
        assert tuple(out.columns) == written.names
        READ_BACK.counts["same_shape"] += 1


def test_read_table_reads_back_well_formed_files(tmp_path, reliability):
    _read_back(tmp_path)
    counts = READ_BACK.counts
    assert counts["same_shape"] > 0
    reliability.record(
        case="read_table on well-formed files: fuzzed frames written by pandas (CSV, TSV, "
        "CSV.gz, TXT, Parquet), hand-written tables with any separator (sniffed or sep=), "
        "ARFF with typed attributes",
        expected="a frame or an AssayError naming the file; Parquet, hand-written, ARFF and "
        "plainly named CSV files are read with their shape and names",
        outcome=f"{READ_BACK.n} examples: {counts['ok']} read ({counts['same_shape']} checked "
        f"for shape and names), {counts['error']} AssayError, 0 other",
        detail=READ_BACK.detail(),
    )


# --- 2. read_table on arbitrary bytes and messy text -----------------------------------
SUFFIXES = st.sampled_from(
    [".csv", ".tsv", ".arff", ".parquet", ".txt", ".dat", ".csv.gz", ".arff.gz", ".pq", ""]
)
ENCODINGS = st.sampled_from(
    ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "latin-1", "cp1252", "utf-32"]
)
CELL = st.one_of(
    WORDS, NUM_TEXT, DATES, st.text(max_size=6),
    st.text(alphabet=",;\t|'\"\r\n \ufeff\x00", max_size=4),
)  # fmt: skip


@st.composite
def messy_text(draw) -> bytes:
    """Rows of cells with a chosen delimiter, quoting, ragged lengths, line endings, BOM
    and encoding; optionally gzipped."""
    sep = draw(st.sampled_from([",", ";", "\t", "|", " ", "::", ":"]))
    quote = draw(st.sampled_from(['"', "'", ""]))
    n_fields = draw(st.integers(1, 5))
    rows = draw(st.lists(st.lists(CELL, min_size=0, max_size=n_fields + 2), max_size=12))
    eol = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    lines = []
    for row in rows:
        quoted = draw(st.booleans())
        lines.append(sep.join(f"{quote}{c}{quote}" if quoted else c for c in row))
    text = eol.join(lines) + draw(st.sampled_from(["", eol]))
    encoding = draw(ENCODINGS)
    raw = text.encode(encoding, errors="replace")
    if draw(st.booleans()) and not encoding.endswith("-sig"):
        raw = draw(st.sampled_from([codecs.BOM_UTF8, codecs.BOM_UTF16_LE, b""])) + raw
    if draw(st.integers(0, 9)) == 0:
        raw = gzip.compress(raw, mtime=0)
    return raw


ARFF_TYPES = st.sampled_from(
    [*ARFF_VALUES, "relational", "blob", "{}", "NUMERIC", "real", "{a,a}", "date 'bad"]
)
ARFF_NAMES = st.one_of(
    st.sampled_from(["a", "b", "'x y'", '"q"', "class", "a"]), st.text(max_size=4)
)


@st.composite
def messy_arff(draw) -> bytes:
    """ARFF-like text: a well-formed file with lines dropped, doubled or garbled, or a
    header and rows made of odd names, types and cells (ragged and sparse rows)."""
    if draw(st.booleans()):
        lines = _arff_lines(draw(arff_files()))
        for _ in range(draw(st.integers(1, 3))):
            i = draw(st.integers(0, len(lines) - 1))
            how = draw(st.sampled_from(["drop", "double", "garble"]))
            lines[i : i + 1] = {"drop": [], "double": [lines[i]] * 2}.get(how, [draw(CELL)])
        return "\n".join(lines).encode("utf-8", errors="replace")
    lines = draw(st.lists(st.sampled_from(["% comment", "", "%"]), max_size=2))
    lines.append(draw(st.sampled_from(["@relation r", "@RELATION 'x y'", "@relation", "@rel"])))
    n_attrs = draw(st.integers(0, 4))
    lines += [f"@attribute {draw(ARFF_NAMES)} {draw(ARFF_TYPES)}" for _ in range(n_attrs)]
    lines.append(draw(st.sampled_from(["@data", "@DATA", "", "@d"])))
    for _ in range(draw(st.integers(0, 6))):
        if draw(st.integers(0, 5)) == 0:  # sparse row
            cells = draw(st.lists(st.tuples(st.integers(-1, 5), CELL), max_size=3))
            lines.append("{" + ", ".join(f"{i} {v}" for i, v in cells) + "}")
        else:
            cells = draw(st.lists(st.one_of(CELL, ARFF_NAMES), max_size=n_attrs + 1))
            lines.append(",".join(cells))
    text = "\n".join(lines) + "\n"
    return text.encode(draw(st.sampled_from(["utf-8", "latin-1", "utf-16"])), errors="replace")


def _arff_lines(written: Written) -> list[str]:
    """The lines of a generated ARFF file (UTF-16 by its byte order mark, else latin-1)."""
    raw = written.raw
    encoding = "utf-16" if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) else None
    return raw.decode(encoding or "latin-1").splitlines()


def _parquet_bytes() -> bytes:
    buffer = io.BytesIO()
    pd.DataFrame({"a": [1.0, 2.0, None], "b": ["x", "y", "z"]}).to_parquet(buffer)
    return buffer.getvalue()


PARQUET = _parquet_bytes()


@st.composite
def broken_parquet(draw) -> bytes:
    raw = bytearray(PARQUET)
    how = draw(st.sampled_from(["truncate", "flip", "magic_only"]))
    if how == "truncate":
        return bytes(raw[: draw(st.integers(0, len(raw) - 1))])
    if how == "flip":
        for _ in range(draw(st.integers(1, 8))):
            i = draw(st.integers(0, len(raw) - 1))
            raw[i] = draw(st.integers(0, 255))
        return bytes(raw)
    return b"PAR1" + draw(st.binary(max_size=64)) + b"PAR1"


READ_OPTIONS = st.fixed_dictionaries(
    {},
    optional={
        "sep": st.sampled_from([None, ",", ";", "\t", "::", "", " ", "ab"]),
        "header": st.sampled_from(["infer", None, 0, 1, 5, -1, "first", True, 1.5]),
        "quotechar": st.sampled_from([None, '"', "'", "", "ab"]),
        "na_values": st.sampled_from([None, [], ["x"], ["?", ""]]),
        "format": st.sampled_from([None, "csv", "tsv", "arff", "parquet", "xlsx"]),
    },
)
RAW_TALLIES: dict[str, Tally] = {}


@fuzz(600)
@given(
    st.one_of(st.binary(max_size=300), messy_text(), messy_arff(), broken_parquet()),
    SUFFIXES,
    st.one_of(st.just({}), READ_OPTIONS),
)
@example(b"a,b\n1,2\n", ".csv", {})
@example(b"\x00", ".csv", {"quotechar": "ab"})  # was a TypeError from the csv module
@example(b"\x00", ".csv", {"header": -1})  # was an IndexError in the sniffer
@example(b"a,b\n1,2\n", ".csv", {"header": True})  # a bool is not a row number
@example(b"\x1f\x8b\x08\x00", ".arff", {})  # a cut gzip stream was an EOFError
def _read_raw(tmp_path, raw, suffix, options):
    path = new_path(tmp_path, suffix)
    path.write_bytes(raw)
    tally = RAW_TALLIES.setdefault(suffix or "(no suffix)", Tally())
    out = tally.run(read_table, path, **options)
    if out is None:
        message = tally.last_message
        assert path.name in message or any(f"{k}=" in message for k in options), (
            f"the message names neither the file nor the argument: {message}"
        )
        assert options or isinstance(tally.last_error, DataError), message  # no argument
        return
    assert isinstance(out, pd.DataFrame) and len(out) > 0 and out.shape[1] > 0
    assert len(set(out.columns)) == out.shape[1]
    assert all(isinstance(c, str) for c in out.columns)


def test_read_table_on_arbitrary_bytes_and_messy_text(tmp_path, reliability):
    _read_raw(tmp_path)
    assert sum(t.n for t in RAW_TALLIES.values()) > 0
    for kind, tally in sorted(RAW_TALLIES.items()):
        counts = tally.counts
        reliability.record(
            case=f"read_table on arbitrary bytes / messy text / broken files named *{kind}",
            expected="a non-empty frame with unique names, or an AssayError naming the file "
            "or the argument",
            outcome=f"{tally.n} examples: {counts['ok']} read, {counts['error']} AssayError, "
            "0 other",
            detail=tally.detail(),
        )


# --- 3. schema and task inference, prepare, the predict-time check ---------------------
TARGET = "__target__"
LABELS = st.sampled_from(
    [("a", "b"), ("a", "b", "c"), (0, 1), (1, 2, 3), (True, False), ("yes", "no"), (0.5, 1.5),
     (" a", "a", "A"), ("x", 1)]
)  # fmt: skip


@st.composite
def training_cases(draw, min_rows=2, max_rows=12, max_cols=5, fresh_target=0.7):
    """(frame, target, predict): a fuzzed frame, its target (a label column, else one of
    the fuzzed columns), and a fuzzed frame with the same columns to predict (sometimes
    one missing or one extra, sometimes with the target)."""
    frame = draw(mixed_frames(min_rows=min_rows, max_rows=max_rows, max_cols=max_cols))
    if fresh_target >= 1 or draw(st.floats(0, 1)) < fresh_target:
        labels, n = draw(LABELS), len(frame)
        y = draw(st.lists(st.sampled_from(labels), min_size=n, max_size=n))
        y[: min(n, 2)] = labels[: min(n, 2)]  # at least two classes when there are rows
        column = pd.Series(y, dtype=object)
        if n and draw(st.booleans()):  # a missing label
            column[draw(st.integers(0, n - 1))] = None
        frame.insert(draw(st.integers(0, frame.shape[1])), TARGET, column)
        target = TARGET
    else:
        target = draw(st.sampled_from(list(frame.columns)))
    names = [c for c in frame.columns if c != target or draw(st.booleans())]
    how = draw(st.sampled_from(["same", "same", "same", "drop", "extra"]))
    if how == "drop" and len(names) > 1:
        names.remove(draw(st.sampled_from(names)))
    elif how == "extra":
        names.append(draw(COLUMN_NAMES.filter(lambda n: n not in names)))
    predict = draw(mixed_frames(min_rows=1, max_rows=8, names=names))
    return frame, target, predict


SCHEMA = Tally(DataError)
TASK = Tally(DataError)
PREPARE = Tally(DataError)
PREDICT_CHECK = Tally(DataError)


def _blobs(*values: bytes) -> pd.Series:
    return pd.Series(list(values), dtype=object)


BYTES_CASE = (  # bytes cells that are not UTF-8 were a UnicodeDecodeError in infer_schema
    pd.DataFrame({TARGET: ["a", "b"], "x": [0.0, 1.0], "blob": _blobs(b"\x80", b"\x81")}),
    TARGET,
    pd.DataFrame({"x": [0.0], "blob": _blobs(b"\x81")}),
)


@fuzz(200, slow=True)
@given(training_cases(), st.sampled_from([None, "classification"]))
@example(BYTES_CASE, None)
@example((pd.DataFrame({TARGET: [], "x": []}), TARGET, pd.DataFrame({"x": [1.0]})), None)
@example((pd.DataFrame({TARGET: ["a"], "x": [1]}), TARGET, pd.DataFrame({"x": [1.0]})), None)
def _prepare_and_check(case, task):
    frame, target, predict = case
    schema = SCHEMA.run(infer_schema, frame, target=target)
    if schema is not None:
        assert schema.names == tuple(str(c) for c in frame.columns)
        assert target not in schema.features
    TASK.run(infer_task, frame[target])
    dataset = PREPARE.run(prepare, frame, target, task=task)
    if dataset is None:
        return
    assert len(dataset.X) == len(dataset.y) >= 2
    assert list(dataset.X.columns) == list(dataset.schema.features)
    assert dataset.y.notna().all()
    out = PREDICT_CHECK.run(check_predict_frame, predict, dataset.schema)
    if out is not None:
        assert list(out.columns) == list(dataset.schema.features)
        assert out.index.equals(predict.index)
    out = check_predict_frame(dataset.X, dataset.schema)  # the training rows must pass
    assert out.index.equals(dataset.X.index)


def test_schema_task_prepare_and_predict_check(reliability):
    _prepare_and_check()
    for case, tally in [
        ("infer_schema on fuzzed mixed frames", SCHEMA),
        ("infer_task on a fuzzed column", TASK),
        ("prepare on fuzzed mixed frames", PREPARE),
        ("check_predict_frame on a fuzzed frame with the training columns", PREDICT_CHECK),
    ]:
        assert tally.counts["ok"] > 0
        reliability.record(
            case=case,
            expected="a result or an AssayError",
            outcome=f"{tally.n} examples: {tally.counts['ok']} ok, "
            f"{tally.counts['error']} AssayError, 0 other",
            detail=tally.detail(),
        )


# --- 4. the tabular encoder, at fit and predict time -----------------------------------
ENCODER = Tally(DataError)  # prepare on the training frame
ENCODER_PREDICT = Tally(DataError)  # check_predict_frame on the frame to predict


ZONED = pd.Series(pd.to_datetime(["2024-01-01", "2024-03-01", "2024-06-01", "2025-01-01"]))
DATES_CASE = (  # a time-zone aware column, then offsets that differ row to row at predict
    # time: both were a TypeError or ValueError in the encoder's days since 1970
    pd.DataFrame(
        {
            TARGET: ["a", "b", "a", "b"],
            "zoned": ZONED.dt.tz_localize("UTC"),
            "offset": [f"2024-0{i}-01 10:00+02:00" for i in range(1, 5)],
        }
    ),
    TARGET,
    pd.DataFrame(
        {
            "zoned": ZONED[:2].dt.tz_localize("UTC"),
            "offset": ["2024-01-01", "2024-01-01 10:00-05:00"],
        }
    ),
)


@fuzz(120, slow=True)
@given(training_cases(max_cols=4))
@example(DATES_CASE)
@example((DATES_CASE[0], TARGET, pd.DataFrame({"zoned": [None], "offset": [np.nan]})))
@example(  # the median of values near the float64 limit overflowed to inf (ordinal, one-hot)
    (
        pd.DataFrame({"x": [1e308, 0, 0, 1e308, 0, 1e308], "y": ["a", "a", "a", "", None, "a"]}),
        "y",
        pd.DataFrame({"x": [None]}),
    )
)
def _encode(case):
    frame, target, predict = case
    dataset = ENCODER.run(prepare, frame, target)
    if dataset is None:
        return
    types = {c: dataset.schema[c].type for c in dataset.schema.features}
    predict = ENCODER_PREDICT.run(check_predict_frame, predict, dataset.schema)
    if predict is None:
        return
    for encoding in Encoding:
        encoder = TabularEncoder(encoding, types).fit(dataset.X)
        for X in (dataset.X, predict):
            out = encoder.transform(X)
            names = encoder.feature_names_out()
            assert len(out) == len(X) and out.shape[1] == len(names)
            if encoding is Encoding.RAW:  # the text and media columns, as they are
                assert list(out.columns) == names
                raw = (FeatureType.TEXT, FeatureType.IMAGE, FeatureType.AUDIO)
                assert all(dataset.schema[n].type in raw for n in names)
            elif encoding is Encoding.NATIVE:
                numbers = out.select_dtypes("number").to_numpy(dtype=float)
                assert not np.isinf(numbers).any()
            else:
                assert np.isfinite(out).all(), f"{encoding.value} output is not finite"
        ENCODER.counts[f"encoded_{encoding.value}"] += 1


def test_encoder_fit_and_predict_time_transform(reliability):
    _encode()
    counts = ENCODER.counts
    assert counts["encoded_native"] > 0
    reliability.record(
        case="TabularEncoder fit/transform (3 encodings) on fuzzed prepared frames, then on "
        "a second fuzzed frame with the same columns",
        expected="finite output (NaN only in native numerics), one row per input row",
        outcome=f"{ENCODER.n} fuzzed frames: {counts['ok']} prepared, {counts['error']} "
        f"AssayError; {ENCODER_PREDICT.counts['error']} frames to predict refused "
        f"(AssayError); {counts['encoded_native']} encoded in all 3 encodings at fit and "
        "predict time, 0 other errors",
        detail=ENCODER.detail(1),
    )


# --- 5. end to end: AutoML fit, then predict_proba on another fuzzed frame -------------
FIT = Tally(DataError)
PREDICT = Tally(DataError)


@fuzz(15, slow=True)
@given(training_cases(min_rows=10, max_rows=30, max_cols=4, fresh_target=1.0))
@example(  # labels mixing text and numbers: np.unique could not sort them (TypeError)
    (
        pd.DataFrame({TARGET: ["x", 1, "x", "x", 1] * 2, "x": [0.0, 0, 0, 1, 2] * 2}),
        TARGET,
        pd.DataFrame({"x": [0.0, None]}),
    )
)
@example(  # a class on one row has no score on one of 2 folds: the leaderboard's t-test
    # raised "needs scores on 2 or more folds" and the whole fit failed
    (
        pd.DataFrame({TARGET: ["a"] * 9 + ["b"], "x": np.arange(10.0)}),
        TARGET,
        pd.DataFrame({"x": [1.0]}),
    )
)
@example(  # dates 580 years apart: their difference overflowed int64 nanoseconds
    (
        pd.DataFrame(
            {
                TARGET: ["a", "b"] * 5,
                "start": pd.date_range("1680-01-01", periods=10, freq="D", unit="ns"),
                "end": pd.date_range("2260-01-01", periods=10, freq="D", unit="ns"),
            }
        ),
        TARGET,
        pd.DataFrame({"start": [datetime(58, 6, 17)], "end": ["2024-01-01"]}),
    )
)
@example(  # a text column with no word of two letters: TF-IDF's "empty vocabulary" error
    (
        pd.DataFrame(
            {TARGET: ["a", "b"] * 5, "txt": ["a", "a a a a a", "a a a a a a"] + [None] * 7}
        ),
        TARGET,
        pd.DataFrame({"txt": ["a a", None]}),
    )
)
@example(  # the text column's linear score: a fold whose training rows hold a single class
    (
        pd.DataFrame(
            {
                TARGET: ["a", "b"] + ["a"] * 8,
                "txt": ["a", "a a a a a", "a a a a a true"] + [None] * 7,
            }
        ),
        TARGET,
        pd.DataFrame({"txt": ["true", ""]}),
    )
)
def _fit_predict(case):
    frame, target, predict = case
    model = FIT.run(
        AutoML(models=["linear"], n_trials=1, n_folds=2, store=False).fit, frame, target=target
    )
    if model is None:
        return
    classes = list(model.predictor_.classes)
    proba = PREDICT.run(model.predict_proba, predict)  # SchemaMismatchError: a column is gone
    if proba is None:
        return
    values = proba.to_numpy(dtype=float)
    assert values.shape == (len(predict), len(classes))
    assert list(proba.columns) == classes
    assert np.isfinite(values).all()
    assert ((values >= 0) & (values <= 1)).all()
    assert np.abs(values.sum(axis=1) - 1).max() <= 1e-6
    labels = model.predict(predict)
    assert len(labels) == len(predict) and all(label in classes for label in labels.tolist())
    PREDICT.counts["rows"] += len(predict)


def test_automl_fit_and_predict_proba_on_fuzzed_frames(reliability):
    _fit_predict()
    fit, predict = FIT.counts, PREDICT.counts
    assert fit["ok"] > 0 and predict["ok"] > 0
    reliability.record(
        case="AutoML(linear, 1 trial, 2 folds) fit on fuzzed mixed classification frames "
        "(missing labels, inf, huge values, duplicate rows), predict_proba and predict on "
        "another fuzzed frame with the same columns",
        expected="only AssayError; one row per input row of finite probabilities in [0,1] "
        "summing to 1 (within 1e-6), labels from the training classes",
        outcome=f"{FIT.n} fits: {fit['ok']} fitted, {fit['error']} AssayError, 0 other; "
        f"{PREDICT.n} predictions: {predict['ok']} made ({predict['rows']} rows, all valid "
        f"distributions), {predict['error']} AssayError, 0 other",
        detail=f"fit: {FIT.detail(1) or 'no error'}; predict: {PREDICT.detail(1) or 'no error'}",
    )

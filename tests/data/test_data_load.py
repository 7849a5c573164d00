"""read_table: every source kind, the sniffing, and the errors users hit first."""

from __future__ import annotations

import gzip
import logging

import numpy as np
import pandas as pd
import pytest

from assay.data import BUILTINS, FileFormat, read_table
from assay.errors import DataError


def write(path, text: str, encoding: str = "utf-8"):
    path.write_bytes(text.encode(encoding))
    return path


def test_csv_comma_and_question_mark_is_missing(tmp_path):
    frame = read_table(write(tmp_path / "a.csv", "x,y,z\n1,?,a\n2,3.5,\n"))
    assert list(frame.columns) == ["x", "y", "z"]
    assert frame["y"].isna().tolist() == [True, False]
    assert frame["z"].isna().tolist() == [False, True]
    assert frame["y"].dtype == np.float64


def test_utf8_bom_is_stripped_from_first_column(tmp_path):
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbfname,value\nx,1\ny,2\n")
    frame = read_table(path)
    assert list(frame.columns) == ["name", "value"]


def test_latin1_fallback_logs_a_warning(tmp_path, caplog):
    path = write(tmp_path / "l1.csv", "city,n\nMünchen,1\nKöln,2\n", encoding="latin-1")
    with caplog.at_level(logging.WARNING, logger="assay"):
        frame = read_table(path)
    assert frame["city"].tolist() == ["München", "Köln"]
    assert "latin-1" in caplog.text and "l1.csv" in caplog.text


def test_latin1_after_the_sniffed_sample_is_still_read(tmp_path, caplog):
    path = tmp_path / "late.csv"
    path.write_bytes(b"a,b\n" + b"x,1\n" * 20000 + "München,2\n".encode("latin-1"))
    with caplog.at_level(logging.WARNING, logger="assay"):
        frame = read_table(path)
    assert frame.shape == (20001, 2) and frame["a"].iloc[-1] == "München"
    assert "late.csv" in caplog.text


def test_utf16_with_bom(tmp_path):
    frame = read_table(write(tmp_path / "u16.csv", "a;b\nä;1\nö;2\n", encoding="utf-16"))
    assert frame["a"].tolist() == ["ä", "ö"] and frame["b"].tolist() == [1, 2]


@pytest.mark.parametrize("sep", ["\t", ";", "|"])
def test_delimiter_is_sniffed(tmp_path, sep):
    text = sep.join(["a", "b", "c"]) + "\n" + sep.join(["1,5", "x y", "3"]) + "\n"
    text += sep.join(["2,5", "z", "4"]) + "\n"
    frame = read_table(write(tmp_path / "f.txt", text))
    assert list(frame.columns) == ["a", "b", "c"]
    assert frame["a"].tolist() == ["1,5", "2,5"]


def test_gzipped_tsv(tmp_path):
    path = tmp_path / "t.tsv.gz"
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        fh.write("A1\tA2\ttarget\n1\t2.5\t0\n3\t4.5\t1\n")
    frame = read_table(path)
    assert frame.shape == (2, 3)
    assert frame["A2"].tolist() == [2.5, 4.5]


def test_single_quoted_values_and_header(tmp_path):
    text = (
        "'checking status',duration,purpose,class\n"
        "'<0',6,'radio, tv',good\n"
        "'0<=X<200',48,'?',bad\n"
        "'no checking',12,education,good\n"
    )
    frame = read_table(write(tmp_path / "q.csv", text))
    assert list(frame.columns) == ["checking status", "duration", "purpose", "class"]
    assert frame["checking status"].tolist() == ["<0", "0<=X<200", "no checking"]
    assert frame["purpose"].iloc[0] == "radio, tv"
    assert pd.isna(frame["purpose"].iloc[1])
    assert frame["duration"].dtype.kind == "i"


def test_double_quotes_still_work(tmp_path):
    frame = read_table(write(tmp_path / "d.csv", 'a,b\n"x, y",1\n"it\'s",2\n'))
    assert frame["a"].tolist() == ["x, y", "it's"]


def test_tsv_with_a_lone_quote_in_a_sentence(tmp_path):
    """MRPC-style: quotes are part of the text, and one opens without closing."""
    rows = [
        "label\tsentence1\tsentence2",
        '1\t"Yes, he said.\tHe agreed.',
        '0\tPrices rose\tThe "index" fell',
        "1\tIt rained\tRain fell",
    ]
    path = tmp_path / "pairs.tsv"
    path.write_text("\n".join(rows) + "\n")
    frame = read_table(path)
    assert frame.shape == (3, 3)
    assert frame["sentence1"].tolist()[0] == '"Yes, he said.'
    assert frame["sentence2"].tolist()[2] == "Rain fell"


def test_headerless_numeric_file_gets_position_names(tmp_path):
    frame = read_table(write(tmp_path / "w.csv", "7.4,0.7,0,5\n7.8,0.88,0,6\n"))
    assert list(frame.columns) == ["0", "1", "2", "3"]
    assert len(frame) == 2
    assert frame["3"].tolist() == [5, 6]


def test_header_none_forces_no_header(tmp_path):
    frame = read_table(write(tmp_path / "h.csv", "a,b\nc,d\n"), header=None)
    assert list(frame.columns) == ["0", "1"] and len(frame) == 2


def test_parquet_round_trip(tmp_path):
    original = pd.DataFrame({"x": [1.5, np.nan, 3.0], "c": ["a", None, "b"], "n": [1, 2, 3]})
    path = tmp_path / "p.parquet"
    original.to_parquet(path)
    frame = read_table(path)
    assert frame.shape == (3, 3)
    assert frame["x"].isna().tolist() == [False, True, False]
    assert frame["c"].iloc[0] == "a" and pd.isna(frame["c"].iloc[1])


ARFF = """% a comment line
% another one
@relation  'tiny'

@attribute   'sex'   { M, F, I}
@attribute  length   real
@attribute  rings    integer
@attribute  when     date "yyyy-MM-dd"
@attribute  note     string

@data
M,0.455,15,2020-01-01,'hello world'
F,?,7,2020-02-01,plain
?,0.53,9,2020-03-01,x
"""


def test_arff_nominal_as_strings_numeric_as_float(tmp_path):
    frame = read_table(write(tmp_path / "tiny.arff", ARFF))
    assert list(frame.columns) == ["sex", "length", "rings", "when", "note"]
    assert frame["sex"].iloc[0] == "M" and pd.isna(frame["sex"].iloc[2])
    assert frame["length"].dtype == np.float64 and pd.isna(frame["length"].iloc[1])
    assert frame["rings"].tolist() == [15.0, 7.0, 9.0]
    assert frame["when"].iloc[0] == "2020-01-01"
    assert frame["note"].iloc[0] == "hello world"


def test_arff_detected_by_content_without_extension(tmp_path):
    frame = read_table(write(tmp_path / "noext", ARFF))
    assert frame.shape == (3, 5)


def test_polars_dataframe():
    pl = pytest.importorskip("polars")
    frame = read_table(pl.DataFrame({"a": [1, 2], "b": ["x", None]}))
    assert isinstance(frame, pd.DataFrame)
    assert frame["a"].tolist() == [1, 2] and pd.isna(frame["b"].iloc[1])


def test_pandas_dataframe_is_copied_and_names_become_strings():
    original = pd.DataFrame({0: [1, 2], "b": [3, 4]})
    frame = read_table(original)
    frame.loc[0, "b"] = 99
    assert original.loc[0, "b"] == 3
    assert list(frame.columns) == ["0", "b"]


def test_builtin_breast_cancer():
    frame = read_table("builtin:breast_cancer")
    assert frame.shape == (569, 31)
    assert set(frame["target"]) == {"malignant", "benign"}
    assert "breast_cancer" in BUILTINS


def test_builtin_diabetes_is_numeric_target():
    frame = read_table("builtin:diabetes")
    assert frame["target"].dtype == np.float64 and len(frame) == 442


def test_format_argument_overrides_extension(tmp_path):
    frame = read_table(write(tmp_path / "data.arff", "a,b\n1,2\n"), format=FileFormat.CSV)
    assert frame.shape == (1, 2)
    frame = read_table(write(tmp_path / "data2.arff", "a,b\n1,2\n"), format="tsv")
    assert frame.shape == (1, 2)


# ---- errors: each names the file or column and says what to do --------------------------


def test_missing_file_suggests_similar_names(tmp_path):
    write(tmp_path / "train.csv", "a\n1\n")
    with pytest.raises(DataError) as info:
        read_table(tmp_path / "trian.csv")
    message = str(info.value)
    assert "trian.csv" in message and "train.csv" in message and "not found" in message


def test_empty_file(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    with pytest.raises(DataError, match=r"empty\.csv.*empty"):
        read_table(path)


def test_whitespace_only_file(tmp_path):
    with pytest.raises(DataError, match=r"blank\.csv.*empty"):
        read_table(write(tmp_path / "blank.csv", "\n\n  \n"))


def test_header_without_rows(tmp_path):
    with pytest.raises(DataError, match=r"header\.csv.*no data rows"):
        read_table(write(tmp_path / "header.csv", "a,b,c\n"))


def test_duplicate_columns_in_csv_are_named(tmp_path):
    with pytest.raises(DataError) as info:
        read_table(write(tmp_path / "dup.csv", "a,b,a\n1,2,3\n"))
    assert "dup.csv" in str(info.value) and "'a'" in str(info.value)


def test_duplicate_columns_in_dataframe_are_named():
    frame = pd.DataFrame([[1, 2]], columns=["x", "x"])
    with pytest.raises(DataError, match="duplicate column names: 'x'"):
        read_table(frame)


def test_excel_file_is_refused_with_advice(tmp_path):
    path = tmp_path / "book.xlsx"
    path.write_bytes(b"PK\x03\x04" + b"\x00" * 100)
    with pytest.raises(DataError, match=r"book\.xlsx.*CSV or Parquet"):
        read_table(path)


def test_unknown_binary_file(tmp_path):
    path = tmp_path / "blob.bin"
    path.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(DataError, match=r"blob\.bin.*unknown format"):
        read_table(path)


def test_corrupt_parquet(tmp_path):
    path = tmp_path / "bad.parquet"
    path.write_bytes(b"not parquet at all")
    with pytest.raises(DataError, match=r"bad\.parquet.*Parquet"):
        read_table(path)


def test_broken_arff(tmp_path):
    path = write(tmp_path / "bad.arff", "@relation x\n@attribute a weird_type\n@data\n1\n")
    with pytest.raises(DataError, match=r"bad\.arff.*ARFF"):
        read_table(path)


def test_unknown_builtin_lists_the_known_ones():
    with pytest.raises(DataError, match=r"builtin:iriss.*builtin:iris"):
        read_table("builtin:iriss")


def test_unknown_format_argument(tmp_path):
    with pytest.raises(DataError, match="format='xls'"):
        read_table(write(tmp_path / "a.csv", "a\n1\n"), format="xls")


def test_unsupported_source_type():
    with pytest.raises(DataError, match="Cannot read a list"):
        read_table([1, 2, 3])


def test_folder_instead_of_file(tmp_path):
    with pytest.raises(DataError, match="is a folder"):
        read_table(tmp_path)

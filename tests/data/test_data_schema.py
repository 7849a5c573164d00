"""infer_schema: the typing rules, overrides, the JSON round trip, and robustness."""

from __future__ import annotations

import json
import string
from datetime import datetime

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assay import FeatureType
from assay.data import ColumnSchema, Schema, infer_schema
from assay.errors import ArtifactError, ConfigError, DataError, TargetError

N = 40


def types_of(frame: pd.DataFrame, **kwargs) -> dict[str, FeatureType]:
    return infer_schema(frame, **kwargs).types


def test_rules_on_a_mixed_frame():
    rng = np.random.default_rng(0)
    words = ["the quick brown fox jumps", "over the lazy dog today", "a b c d e f"]
    frame = pd.DataFrame(
        {
            "customer_id": np.arange(N),
            "amount": rng.normal(size=N),
            "count": rng.integers(0, 5, N),
            "flag": [True, False] * (N // 2),
            "yes_no": ["Yes", "no"] * (N // 2),
            "zero_one": [0, 1] * (N // 2),
            "color": ["red", "green", "blue", "red"] * (N // 4),
            "when": pd.date_range("2020-01-01", periods=N).astype(str),
            "stamp": pd.date_range("2020-01-01", periods=N),
            "review": [f"{words[i % 3]} number {i}" for i in range(N)],
            "code": [f"X{i:05d}" for i in range(N)],
            "empty": [np.nan] * N,
            "same": ["k"] * N,
            "cat": pd.Categorical(["a", "b"] * (N // 2)),
        }
    )
    assert types_of(frame) == {
        "customer_id": FeatureType.ID,
        "amount": FeatureType.NUMERIC,
        "count": FeatureType.NUMERIC,
        "flag": FeatureType.BOOLEAN,
        "yes_no": FeatureType.BOOLEAN,
        "zero_one": FeatureType.BOOLEAN,
        "color": FeatureType.CATEGORICAL,
        "when": FeatureType.DATETIME,
        "stamp": FeatureType.DATETIME,
        "review": FeatureType.TEXT,
        "code": FeatureType.ID,
        "empty": FeatureType.EMPTY,
        "same": FeatureType.CONSTANT,
        "cat": FeatureType.CATEGORICAL,
    }


@pytest.mark.parametrize("name", ["id", "user_id", "customerId", "CustomerID", "uuid", "key"])
def test_id_names_with_unique_integers(name):
    assert types_of(pd.DataFrame({name: range(5)}))[name] is FeatureType.ID


def test_unique_integers_without_id_name_stay_numeric():
    assert types_of(pd.DataFrame({"price": range(50)}))["price"] is FeatureType.NUMERIC


def test_repeated_ids_are_not_ids():
    assert types_of(pd.DataFrame({"id": [1, 1, 2, 3]}))["id"] is FeatureType.NUMERIC


def test_numbers_as_text_are_not_datetimes():
    frame = pd.DataFrame({"zip": [f"{10000 + i * 7}" for i in range(30)] * 2})
    assert types_of(frame)["zip"] is FeatureType.CATEGORICAL


def test_two_arbitrary_strings_are_categorical_not_boolean():
    frame = pd.DataFrame({"side": ["left", "right"] * 5})
    assert types_of(frame)["side"] is FeatureType.CATEGORICAL


def test_counts_and_missing_are_recorded():
    schema = infer_schema(pd.DataFrame({"a": [1.0, None, 1.0, 2.0], "b": ["x", "y", None, None]}))
    assert schema["a"] == ColumnSchema("a", FeatureType.NUMERIC, "float64", 2, 1)
    assert schema["b"].n_missing == 2 and schema["b"].n_unique == 2


def test_features_dropped_and_target():
    frame = pd.DataFrame({"id": range(6), "x": [1, 2, 3, 1, 2, 3], "k": [0] * 6, "y": [0, 1] * 3})
    schema = infer_schema(frame, target="y")
    assert schema.features == ("x",)
    assert set(schema.dropped) == {"id", "k"}
    assert "identifier" in schema.dropped["id"] and "single" in schema.dropped["k"]
    assert schema.target == "y" and "y" not in schema.dropped and "y" not in schema.types
    assert schema["y"].type is FeatureType.BOOLEAN


def test_overrides_win_and_accept_strings():
    frame = pd.DataFrame({"zip": [1, 2, 3, 1], "n": [1.5, 2.5, 3.5, 4.5]})
    schema = infer_schema(frame, overrides={"zip": "categorical", "n": FeatureType.ID})
    assert schema.types == {"zip": FeatureType.CATEGORICAL, "n": FeatureType.ID}


def test_override_of_unknown_column_names_it():
    frame = pd.DataFrame({"colour": [1, 2]})
    with pytest.raises(ConfigError) as info:
        infer_schema(frame, overrides={"color": "categorical"})
    assert "'color'" in str(info.value) and "'colour'" in str(info.value)


def test_override_with_unknown_type_names_column():
    with pytest.raises(ConfigError, match=r"'weird'.*column 'a'"):
        infer_schema(pd.DataFrame({"a": [1, 2]}), overrides={"a": "weird"})


def test_unknown_target_names_it():
    with pytest.raises(TargetError, match="'label'"):
        infer_schema(pd.DataFrame({"a": [1, 2]}), target="label")


def test_duplicate_columns_are_refused():
    with pytest.raises(DataError, match="'a'"):
        infer_schema(pd.DataFrame([[1, 2]], columns=["a", "a"]))


def test_from_dict_rejects_garbage():
    with pytest.raises(ArtifactError, match="malformed"):
        Schema.from_dict({"columns": [{"name": "a", "type": "nope"}]})


# ---- properties ------------------------------------------------------------------------

NAMES = st.lists(
    st.one_of(
        st.sampled_from(["id", "user_id", "Key", "x", "y", "flag", "when", "Unnamed: 0"]),
        st.text(string.ascii_letters + "_ ", min_size=1, max_size=8),
    ),
    min_size=1,
    max_size=6,
    unique=True,
)
WORDS = st.sampled_from(
    ["yes", "no", "YES", "t", "f", "a", "b", "2020-01-02", "1/2/2021 10:00", "3.5", "", " ", "?"]
)
SCALARS = st.one_of(
    st.none(),
    st.just(pd.NA),
    st.integers(-5, 5),
    st.floats(allow_nan=True, allow_infinity=True, width=32),
    st.booleans(),
    WORDS,
    st.text(max_size=12),
)


def column_strategy(n_rows: int):
    def values(element):
        return st.lists(element, min_size=n_rows, max_size=n_rows)

    return st.one_of(
        values(st.one_of(st.none(), st.integers(-3, 3))).map(lambda v: pd.Series(v, dtype="Int64")),
        values(st.integers(-(2**40), 2**40)).map(lambda v: pd.Series(v, dtype="int64")),
        values(st.floats(allow_nan=True, allow_infinity=True)).map(
            lambda v: pd.Series(v, dtype="float64")
        ),
        values(st.booleans()).map(lambda v: pd.Series(v, dtype="bool")),
        values(st.one_of(st.none(), WORDS, st.text(max_size=20))).map(
            lambda v: pd.Series(v, dtype="str")
        ),
        values(SCALARS).map(lambda v: pd.Series(v, dtype="object")),
        values(st.one_of(st.none(), st.sampled_from(["a", "b", "c"]))).map(
            lambda v: pd.Series(v, dtype="category")
        ),
        values(st.one_of(st.none(), st.datetimes(datetime(1900, 1, 1), datetime(2200, 1, 1)))).map(
            lambda v: pd.Series(v, dtype="datetime64[ns]")
        ),
    )


@st.composite
def frames(draw):
    n_rows = draw(st.integers(0, 25))
    names = draw(NAMES)
    columns = {name: draw(column_strategy(n_rows)).reset_index(drop=True) for name in names}
    return pd.DataFrame(columns, index=range(n_rows))


@settings(max_examples=80, deadline=None)
@given(frames())
def test_infer_schema_never_crashes_and_round_trips(frame):
    target = frame.columns[-1]
    schema = infer_schema(frame, target=target)
    assert schema.names == tuple(frame.columns)
    for column in schema.columns:
        assert isinstance(column.type, FeatureType)
        values = frame[column.name]
        assert column.n_missing == int(values.isna().sum())
        assert (column.type is FeatureType.EMPTY) == bool(values.isna().all())
        if column.n_unique == 1:
            assert column.type is FeatureType.CONSTANT
    assert set(schema.features) | set(schema.dropped) | {target} == set(frame.columns)
    assert not set(schema.features) & set(schema.dropped)
    assert target not in schema.features
    data = json.loads(json.dumps(schema.to_dict()))
    assert Schema.from_dict(data) == schema

"""prepare and check_predict_frame: every bad input gets a precise error or warning."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest

from assay import FeatureType, Task
from assay.data import Dataset, check_predict_frame, prepare
from assay.errors import ConfigError, DataError, SchemaMismatchError, TargetError

N = 30


def frame(**extra) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    columns = {
        "age": rng.integers(18, 80, N).astype(float),
        "city": ["paris", "rome", "oslo"] * (N // 3),
        "label": ["yes", "no"] * (N // 2),
    }
    columns.update(extra)
    return pd.DataFrame(columns)


def write_csv(tmp_path, data: pd.DataFrame, name: str = "data.csv"):
    path = tmp_path / name
    data.to_csv(path, index=False)
    return path


def test_happy_path_from_file(tmp_path):
    path = write_csv(tmp_path, frame())
    ds = prepare(path, "label")
    assert isinstance(ds, Dataset)
    assert ds.task is Task.BINARY
    assert list(ds.X.columns) == ["age", "city"]
    assert ds.y.name == "label" and len(ds.y) == N
    assert ds.source == str(path)
    assert ds.n_dropped_rows == 0 and ds.warnings == ()
    assert ds.schema.types["city"] is FeatureType.CATEGORICAL
    assert ds.classes == ("no", "yes")


def test_dataframe_source_and_positional_target():
    ds = prepare(frame(), -1)
    assert ds.target == "label" and ds.source == "DataFrame"
    assert prepare(frame(), 2).target == "label"


def test_headerless_file_target_as_int_or_digits(tmp_path):
    path = tmp_path / "w.csv"
    rows = [f"{i * 0.1:.2f},{i % 7},{3 + i % 6}" for i in range(40)]
    path.write_text("\n".join(rows) + "\n")
    by_int = prepare(path, 2, task="regression")
    by_text = prepare(path, "2", task="regression")
    assert by_int.target == by_text.target == "2"
    assert by_int.task is Task.REGRESSION and by_int.y.dtype == np.float64
    assert list(by_int.X.columns) == ["0", "1"]
    assert prepare(path, 2).task is Task.MULTICLASS  # 6 integer scores: guessed as classes


def test_builtin_source():
    ds = prepare("builtin:iris", "target")
    assert ds.task is Task.MULTICLASS and ds.X.shape == (150, 4) and ds.source == "builtin:iris"
    assert prepare("builtin:diabetes", "target").task is Task.REGRESSION


def test_missing_target_suggests_close_names(tmp_path):
    path = write_csv(tmp_path, frame())
    with pytest.raises(TargetError) as info:
        prepare(path, "lable")
    message = str(info.value)
    assert "'lable'" in message and "'label'" in message and "data.csv" in message


def test_target_position_out_of_range():
    with pytest.raises(TargetError, match="'7'"):
        prepare(frame(), 7)


def test_target_all_missing(tmp_path):
    path = write_csv(tmp_path, frame(label=[None] * N))
    with pytest.raises(TargetError, match=r"'label'.*all missing"):
        prepare(path, "label")


def test_rows_with_missing_target_are_dropped_and_warned(caplog):
    data = frame()
    data.loc[[0, 5], "label"] = None
    with caplog.at_level(logging.WARNING, logger="assay"):
        ds = prepare(data, "label")
    assert ds.n_dropped_rows == 2 and len(ds.X) == len(ds.y) == N - 2
    assert ds.X.index.equals(ds.y.index)
    assert any("2 rows" in w and "'label'" in w for w in ds.warnings)
    assert "'label' is missing" in caplog.text


def test_single_class(tmp_path):
    path = write_csv(tmp_path, frame(label=["yes"] * N))
    with pytest.raises(TargetError, match=r"'label'.*single class"):
        prepare(path, "label")


def test_class_with_one_row_is_a_warning():
    ds = prepare(frame(label=["a", "b"] * 14 + ["b", "c"]), "label")
    assert ds.task is Task.MULTICLASS
    assert any("single row" in w and "'c'" in w for w in ds.warnings)


def test_labels_differing_by_case_or_space_are_warned_not_merged():
    labels = ["Yes", "yes ", "YES", "no"] * 7 + ["no", "no"]
    ds = prepare(frame(label=labels), "label")
    assert len(ds.classes) == 4
    warning = next(w for w in ds.warnings if "case or spaces" in w)
    assert "'Yes'" in warning and "'yes '" in warning and "'YES'" in warning


def test_duplicate_columns_in_file(tmp_path):
    path = tmp_path / "dup.csv"
    path.write_text("a,label,a\n1,x,2\n3,y,4\n")
    with pytest.raises(DataError, match=r"dup\.csv.*'a'"):
        prepare(path, "label")


def test_duplicate_columns_in_dataframe():
    data = pd.DataFrame([[1, "x", 2], [3, "y", 4]], columns=["a", "label", "a"])
    with pytest.raises(DataError, match="duplicate column names: 'a'"):
        prepare(data, "label")


def test_empty_constant_and_id_columns_are_dropped(caplog):
    data = frame(empty=[np.nan] * N, same=[7] * N, row_id=range(N))
    with caplog.at_level(logging.INFO, logger="assay"):
        ds = prepare(data, "label")
    assert list(ds.X.columns) == ["age", "city"]
    types = ds.schema.types
    assert types["empty"] is FeatureType.EMPTY
    assert types["same"] is FeatureType.CONSTANT
    assert types["row_id"] is FeatureType.ID
    assert set(ds.schema.dropped) == {"empty", "same", "row_id"}
    assert "'row_id'" in caplog.text


def test_inf_in_feature_becomes_missing_with_warning():
    data = frame(score=[np.inf, -np.inf] + [i + 0.5 for i in range(N - 2)])
    ds = prepare(data, "label")
    assert ds.X["score"].isna().sum() == 2
    assert any("infinite" in w and "'score'" in w for w in ds.warnings)


def test_inf_in_regression_target(tmp_path):
    path = write_csv(tmp_path, frame(y=[np.inf] + [float(i) + 0.5 for i in range(N - 1)]))
    with pytest.raises(TargetError, match=r"'y'.*infinite"):
        prepare(path, "y")


def test_no_usable_features(tmp_path):
    path = write_csv(tmp_path, pd.DataFrame({"k": [1] * 5, "e": [None] * 5, "t": [0, 1] * 2 + [0]}))
    with pytest.raises(DataError, match=r"data\.csv.*no usable feature.*'k'"):
        prepare(path, "t")


def test_only_target_column():
    with pytest.raises(DataError, match="only the target column 'label'"):
        prepare(pd.DataFrame({"label": [0, 1, 0]}), "label")


def test_fewer_than_two_rows(tmp_path):
    path = tmp_path / "one.csv"
    path.write_text("a,label\n1,x\n")
    with pytest.raises(DataError, match=r"one\.csv.*1 row"):
        prepare(path, "label")


def test_regression_on_text_target():
    with pytest.raises(TargetError, match=r"regression.*'label'.*'yes'"):
        prepare(frame(), "label", task="regression")


def test_regression_on_numeric_text_is_coerced():
    ds = prepare(frame(y=[str(i + 0.5) for i in range(N)]), "y", task="regression")
    assert ds.y.dtype == np.float64 and ds.y.iloc[0] == 0.5


def test_binary_with_three_classes():
    with pytest.raises(TargetError, match=r"binary.*'city'.*3 classes.*multiclass"):
        prepare(frame(), "city", task="binary")


def test_task_strings_and_classification_alias():
    assert prepare(frame(), "label", task="classification").task is Task.BINARY
    assert prepare(frame(), "city", task="classification").task is Task.MULTICLASS
    assert prepare(frame(), "city", task=Task.MULTICLASS).task is Task.MULTICLASS
    with pytest.raises(ConfigError, match="task='clasification'"):
        prepare(frame(), "city", task="clasification")


def test_feature_type_overrides_reach_the_schema():
    ds = prepare(frame(), "label", feature_types={"age": "categorical"})
    assert ds.schema.types["age"] is FeatureType.CATEGORICAL
    with pytest.raises(ConfigError, match="'agee'"):
        prepare(frame(), "label", feature_types={"agee": "numeric"})


def test_numeric_override_coerces_text_with_warning():
    data = frame(amount=["1.5", "oops"] + ["2"] * (N - 2))
    ds = prepare(data, "label", feature_types={"amount": FeatureType.NUMERIC})
    assert ds.X["amount"].dtype == np.float64 and ds.X["amount"].isna().sum() == 1
    assert any("'amount'" in w and "oops" in w for w in ds.warnings)


def test_read_options_are_passed_to_read_table(tmp_path):
    path = tmp_path / "odd.csv"
    path.write_text("a:b:label\n1:2:x\n3:4:y\n5:6:x\n")
    ds = prepare(path, "label", read_options={"sep": ":"})
    assert list(ds.X.columns) == ["a", "b"]


# ---- predict-time checks -----------------------------------------------------------------


@pytest.fixture
def fitted() -> Dataset:
    return prepare(frame(score=np.linspace(0, 1, N)), "label")


def test_predict_frame_missing_columns(fitted):
    with pytest.raises(SchemaMismatchError, match=r"'city'.*'score'"):
        check_predict_frame(pd.DataFrame({"age": [1.0]}), fitted.schema)


def test_predict_frame_reorders_ignores_extras_and_drops_target(fitted):
    incoming = pd.DataFrame(
        {"extra": [1], "score": [0.5], "label": ["yes"], "city": ["rome"], "age": [30.0]}
    )
    out = check_predict_frame(incoming, fitted.schema)
    assert list(out.columns) == ["age", "city", "score"]
    assert out.loc[0, "city"] == "rome"


def test_predict_frame_coerces_numeric_text_and_inf(fitted, caplog):
    incoming = pd.DataFrame(
        {"age": ["41", "n/a!", "x"], "city": ["oslo"] * 3, "score": [np.inf, 0.2, -np.inf]}
    )
    with caplog.at_level(logging.WARNING, logger="assay"):
        out = check_predict_frame(incoming, fitted.schema)
    assert out["age"].tolist()[0] == 41.0 and out["age"].isna().sum() == 2
    assert out["score"].isna().tolist() == [True, False, True]
    assert "'age'" in caplog.text and "'score'" in caplog.text

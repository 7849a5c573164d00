"""ONNX export: one graph from raw columns that predicts what assay predicts, and refusals
that name what ONNX cannot hold."""

from __future__ import annotations

import copy
import json
from dataclasses import replace

import numpy as np
import onnxruntime as ort
import pandas as pd
import pytest

from assay import AutoML, FeatureType
from assay.errors import ExportError
from assay.serve._onnx import export_onnx, onnx_feed

TOLERANCE = 1e-4
FAMILIES = ["lightgbm", "xgboost", "linear", "random_forest", "extra_trees"]


def houses(n_rows: int, random_state: int, unseen: bool = False) -> pd.DataFrame:
    """Numbers with missing values, a category (missing, and unseen when asked), a yes/no
    flag with missing values and a bool column; a 3-class target and a price."""
    rng = np.random.default_rng(random_state)
    cities = ["paris", "lyon", "nice", "lille"] + (["brest"] if unseen else [])
    frame = pd.DataFrame(
        {
            "size": rng.normal(60, 15, n_rows).round(1),
            "rooms": rng.integers(1, 6, n_rows).astype(float),
            "city": rng.choice(np.array(cities, dtype=object), n_rows),
            "garden": rng.choice(np.array(["yes", "no"], dtype=object), n_rows),
            "new": rng.choice([True, False], n_rows),
        }
    )
    frame.loc[rng.random(n_rows) < 0.15, "size"] = np.nan
    frame.loc[rng.random(n_rows) < 0.1, "city"] = None
    frame.loc[rng.random(n_rows) < 0.1, "garden"] = None
    paris, garden = (frame["city"] == "paris") * 1.0, (frame["garden"] == "yes") * 1.0
    score = (frame["size"].fillna(60) - 60) / 15 + 1.5 * paris + garden + 0.5 * frame["new"]
    score += rng.normal(0, 0.3, n_rows)
    frame["segment"] = np.select([score > 1.2, score > 0], ["high", "mid"], "low")
    frame["price"] = 3 * frame["size"].fillna(60) + 80 * paris + 20 * frame["rooms"]
    frame["price"] += 15 * garden + rng.normal(0, 5, n_rows)
    return frame


TARGETS = {"segment": "price", "price": "segment"}  # target -> the other column, dropped


@pytest.fixture(scope="module")
def train() -> pd.DataFrame:
    return houses(360, 0)


@pytest.fixture(scope="module")
def held_out() -> pd.DataFrame:
    return houses(150, 1, unseen=True)


@pytest.fixture(scope="module")
def fit(train):
    """fit(target, models, n_trials) -> Predictor, each fitted once for the module."""
    fitted = {}

    def get(target: str, models: tuple[str, ...], n_trials: int = 1):
        key = (target, models, n_trials)
        if key not in fitted:
            automl = AutoML(n_trials=n_trials, models=list(models), stack="off", store=False,
                            random_state=0, n_folds=3)  # fmt: skip
            fitted[key] = automl.fit(train.drop(columns=TARGETS[target]), target).predictor_
        return fitted[key]

    return get


def run_onnx(path, predictor, rows: pd.DataFrame) -> dict[str, np.ndarray]:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(None, onnx_feed(predictor, rows)), strict=True))


def assay_says(predictor, rows: pd.DataFrame) -> np.ndarray:
    if predictor.task.is_classification:
        return predictor.predict_proba(rows).to_numpy()
    return np.asarray(predictor.predict(rows))[:, None]


def agreement(predictor, rows: pd.DataFrame, path) -> float:
    """Export, then the largest difference onnxruntime shows on `rows` (regression: over
    the largest |prediction|, as the export measures it)."""
    report = export_onnx(predictor, path, check_rows=rows, tolerance=TOLERANCE)
    outputs = run_onnx(path, predictor, rows)
    want = assay_says(predictor, rows)
    got = outputs[report.outputs[0]]
    scale = 1.0 if predictor.task.is_classification else max(1.0, np.abs(want).max())
    # onnxruntime adds trees up in a thread-dependent order: the last bits may differ
    return max(float(np.abs(got - want).max() / scale), report.max_abs_diff)


def only(predictor, members, weights=None):
    """A copy of `predictor` predicting with `members` (weights equal unless given)."""
    weights = weights or [1 / len(members)] * len(members)
    clone = copy.copy(predictor)
    clone.members = [replace(m, weight=w) for m, w in zip(members, weights, strict=True)]
    return clone


def categorical_splits(model) -> bool:
    """Whether a booster splits on a set of categories (the converters unfold those)."""
    if model.name == "lightgbm":
        return '"decision_type": "=="' in json.dumps(model.model_.dump_model())
    return any('"split_condition": [' in tree for tree in model.model_.get_dump(dump_format="json"))


@pytest.mark.parametrize("target", ["segment", "price"])
def test_onnx_export_of_each_model_family_matches_assay(fit, held_out, tmp_path, target):
    rows = held_out.drop(columns=["segment", "price"])
    for family in FAMILIES:
        predictor = fit(target, (family,))
        assert [m.model for m in predictor.members if m.weight > 0] == [family]
        if target == "price" and family in ("lightgbm", "xgboost"):
            assert categorical_splits(predictor.members[0].models[0]), family
        diff = agreement(predictor, rows, tmp_path / f"{family}.onnx")
        print(f"{target} {family}: max difference {diff:.2g}")  # shown with pytest -s
        assert diff <= TOLERANCE, family


def test_onnx_export_of_a_fitted_ensemble_gives_probabilities_and_labels(fit, held_out, tmp_path):
    import assay

    fitted = fit("segment", ("lightgbm", "xgboost", "linear"), 3)
    assert len({m.model for m in fitted.members if m.weight > 0}) >= 2, fitted
    predictor = assay.load(fitted.save(tmp_path / "predictor"))  # as `assay export` has it
    rows = held_out.drop(columns=["segment", "price"])
    report = export_onnx(predictor, tmp_path / "model.onnx", check_rows=rows)
    assert report.path == tmp_path / "model.onnx" and report.path.is_file()
    assert report.n_rows_checked == len(rows) and report.max_abs_diff <= TOLERANCE
    assert report.outputs == ["probabilities", "label"]
    assert report.inputs == [("size", "float"), ("rooms", "float"), ("city", "string"),
                             ("garden", "string"), ("new", "string")]  # fmt: skip
    assert predictor.schema["garden"].type is FeatureType.BOOLEAN
    outputs = run_onnx(report.path, predictor, rows)
    np.testing.assert_allclose(outputs["probabilities"], assay_says(predictor, rows), atol=1e-4)
    assert (outputs["label"] == predictor.predict(rows)).all()
    assert not list(tmp_path.glob(".*.tmp"))  # the staged file was moved into place
    print(f"fitted ensemble {fitted}: max difference {report.max_abs_diff:.2g}")


def test_onnx_export_weights_members_of_every_family(fit, held_out, tmp_path):
    rows = held_out.drop(columns=["segment", "price"])
    for target in TARGETS:
        members = [fit(target, (family,)).members[0] for family in FAMILIES]
        weights = [0.3, 0.25, 0.2, 0.15, 0.1]
        mixed = only(fit(target, ("linear",)), members, weights)
        assert agreement(mixed, rows, tmp_path / f"{target}.onnx") <= TOLERANCE


def test_onnx_export_agrees_on_missing_and_unseen_values_fed_by_hand(fit, tmp_path):
    """The documented input contract, without onnx_feed: float32 NaN for a missing number,
    "" for a missing category or flag; an unseen category is encoded like a missing one."""
    predictor = fit("segment", ("lightgbm",))
    path = tmp_path / "model.onnx"
    rows = pd.DataFrame(
        {
            "size": [np.nan, 55.0, 80.0, np.nan],
            "rooms": [2.0, np.nan, 4.0, 1.0],
            "city": [None, "brest", "paris", "lyon"],
            "garden": ["yes", None, "no", None],
            "new": [True, False, True, False],
        }
    )
    export_onnx(predictor, path, check_rows=rows)
    feed = {
        "size": np.array([[np.nan], [55], [80], [np.nan]], dtype=np.float32),
        "rooms": np.array([[2], [np.nan], [4], [1]], dtype=np.float32),
        "city": np.array([[""], ["brest"], ["paris"], ["lyon"]], dtype=object),
        "garden": np.array([["yes"], [""], ["no"], [""]], dtype=object),
        "new": np.array([["True"], ["False"], ["True"], ["False"]], dtype=object),
    }
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    proba = session.run(["probabilities"], feed)[0]
    np.testing.assert_allclose(proba, assay_says(predictor, rows), atol=TOLERANCE)
    unseen_is_missing = rows.assign(city=[None, None, "paris", "lyon"])
    np.testing.assert_allclose(proba, assay_says(predictor, unseen_is_missing), atol=TOLERANCE)


@pytest.fixture(scope="module")
def cancer() -> pd.DataFrame:
    from assay.data import read_table

    return read_table("builtin:breast_cancer")


def test_onnx_export_of_catboost_on_numeric_columns_matches_assay(cancer, tmp_path):
    train, rows = cancer.iloc[::2], cancer.iloc[1::2].drop(columns="target")
    automl = AutoML(n_trials=1, models=["catboost"], stack="off", store=False, n_folds=3)
    binary = automl.fit(train, "target").predictor_
    assert binary.members[0].model == "catboost"
    numeric = train.drop(columns="target")
    regression = automl.fit(numeric, "mean area").predictor_
    for name, predictor in (("binary", binary), ("regression", regression)):
        diff = agreement(predictor, rows, tmp_path / f"{name}.onnx")
        print(f"{name} catboost: max difference {diff:.2g}")
        assert diff <= TOLERANCE, name


def test_onnx_export_refuses_catboost_on_categorical_columns(fit, held_out, tmp_path):
    from assay.automl._member import Member
    from assay.models import CatBoostModel

    predictor = fit("segment", ("lightgbm",))
    encoder = predictor.members[0].encoders[0]
    X = held_out.drop(columns=["segment", "price"])
    y = pd.Categorical(held_out["segment"], categories=predictor.classes).codes
    model = CatBoostModel(task="multiclass", n_estimators=10).fit(encoder.transform(X), y)
    assert model.cat_columns_
    member = Member("catboost", {}, 1.0, 0.0, [encoder], [model])
    with pytest.raises(ExportError, match=r"catboost#0 are CatBoost models on categorical"):
        export_onnx(only(predictor, [member]), tmp_path / "m.onnx", check_rows=X)
    assert not (tmp_path / "m.onnx").exists()


def test_onnx_export_names_every_member_it_cannot_convert(cancer, tmp_path):
    def fit_only(model: str):  # the handmade portfolio tries knn on its first trial
        automl = AutoML(n_trials=1, models=[model], stack="off", store=False, n_folds=3,
                        portfolio="handmade")  # fmt: skip
        return automl.fit(cancer.iloc[:300], "target").predictor_

    knn, linear = fit_only("knn"), fit_only("linear")
    assert [m.model for m in knn.members] == ["knn"]
    mixed = only(linear, [linear.members[0], knn.members[0], knn.members[0]])
    rows = cancer.tail(5)
    with pytest.raises(ExportError) as refused:
        export_onnx(mixed, tmp_path / "m.onnx", check_rows=rows)
    message = str(refused.value)
    assert "members knn#1, knn#2 cannot be converted" in message
    assert "linear#" not in message and "--format mlflow" in message and "\n" not in message
    stacked = copy.copy(mixed)
    stacked.members = [*mixed.members[:2], replace(mixed.members[2], level=2, inputs=[0])]
    with pytest.raises(ExportError) as refused:
        export_onnx(stacked, tmp_path / "m.onnx", check_rows=rows)
    message = str(refused.value)  # every problem at once, each with what to do
    assert "members knn#2 are stacked on other members' predictions: refit with --stack off" in (
        message
    )
    assert "members knn#1 cannot be converted" in message
    assert not (tmp_path / "m.onnx").exists()


def test_onnx_export_refuses_a_date_column_by_name(tmp_path):
    frame = houses(120, 2).drop(columns="price")
    frame["listed"] = pd.date_range("2021-01-01", periods=len(frame), freq="D").astype(str)
    automl = AutoML(n_trials=1, models=["linear"], stack="off", store=False, n_folds=3)
    predictor = automl.fit(frame, "segment").predictor_
    assert predictor.schema["listed"].type is FeatureType.DATETIME
    with pytest.raises(ExportError, match=r"columns listed \(datetime\) cannot be encoded"):
        export_onnx(predictor, tmp_path / "m.onnx", check_rows=frame.head(5))


def test_onnx_export_keeps_no_file_when_the_check_fails_or_has_no_rows(fit, held_out, tmp_path):
    predictor = fit("segment", ("lightgbm",))
    rows = held_out.drop(columns=["segment", "price"])
    with pytest.raises(ExportError, match="give rows to check"):
        export_onnx(predictor, tmp_path / "m.onnx")
    with pytest.raises(ExportError, match=r"differs from assay by up to .* nothing was written"):
        export_onnx(predictor, tmp_path / "m.onnx", check_rows=rows, tolerance=0.0)
    assert list(tmp_path.iterdir()) == []


def test_onnx_export_handles_a_fold_that_saw_one_class(fit, held_out, tmp_path):
    from assay.models import LinearModel

    predictor = fit("segment", ("linear",))
    member = predictor.members[0]
    encoder = member.encoders[0]
    X = held_out.drop(columns=["segment", "price"])
    lone = LinearModel(task="multiclass").fit(encoder.transform(X), np.full(len(X), 2))
    assert lone.model_ is None and list(lone.classes_) == [2]
    widened = replace(member, encoders=[*member.encoders, encoder], models=[*member.models, lone])
    assert agreement(only(predictor, [widened]), X, tmp_path / "m.onnx") <= TOLERANCE

"""Forests saved as arrays (_forest_file.py): the same predictions after loading, files
saved as .npz or with skops before still load, and a tampered, cut or padded file is refused
before any tree is walked."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from assay import Task
from assay.errors import ArtifactError
from assay.models import ExtraTreesModel, RandomForestModel
from assay.models._forest_file import RECORDS, load_forest, save_forest
from assay.models._sklearn import save_skops
from assay.testing import toy_frame

FORESTS = [RandomForestModel, ExtraTreesModel]


def _fitted(model_class: type, task: Task):
    frames, y = toy_frame(task, 300, seed=4)
    X = frames[model_class.encoding]
    return model_class(task=task, n_estimators=20, min_samples_leaf=2).fit(X, y), X


@pytest.mark.parametrize("model_class", FORESTS)
@pytest.mark.parametrize("task", [Task.BINARY, Task.MULTICLASS, Task.REGRESSION])
def test_a_saved_forest_predicts_the_same(model_class, task, tmp_path: Path) -> None:
    model, X = _fitted(model_class, task)
    model.save(tmp_path)
    assert [f.name for f in tmp_path.iterdir() if f.name.startswith("model.")] == ["model.forest"]
    loaded = model_class.load(tmp_path)
    predict = "predict_proba" if task.is_classification else "predict"
    assert np.array_equal(getattr(loaded, predict)(X), getattr(model, predict)(X))


def test_numpy_params_are_saved_as_their_values(tmp_path: Path) -> None:
    frames, y = toy_frame(Task.BINARY, 200, seed=5)
    X = frames[RandomForestModel.encoding]
    model = RandomForestModel(task=Task.BINARY, n_estimators=10, min_samples_leaf=np.int64(2))
    model.fit(X, y)
    save_forest(model.model_, tmp_path / "model.forest")
    loaded = load_forest(tmp_path / "model.forest", RandomForestModel._estimator_types())
    assert loaded.min_samples_leaf == 2 and type(loaded.min_samples_leaf) is int
    assert np.array_equal(loaded.predict_proba(X), model.model_.predict_proba(X))


def test_a_forest_saved_with_skops_before_still_loads(tmp_path: Path) -> None:
    model, X = _fitted(RandomForestModel, Task.BINARY)
    model.save(tmp_path)
    (tmp_path / "model.forest").unlink()
    save_skops(model.model_, tmp_path / "model.skops")
    loaded = RandomForestModel.load(tmp_path)
    assert np.array_equal(loaded.predict_proba(X), model.predict_proba(X))


def _arrays(path: Path) -> dict[str, np.ndarray]:
    with path.open("rb") as handle:
        return {name: np.lib.format.read_array(handle) for name in RECORDS}


def _rewrite(path: Path, **changes) -> None:
    arrays = {**_arrays(path), **changes}
    with path.open("wb") as handle:
        for name in RECORDS:
            np.lib.format.write_array(handle, arrays[name])


@pytest.mark.parametrize("task", [Task.MULTICLASS, Task.REGRESSION])
def test_a_forest_saved_as_npz_before_still_loads(task, tmp_path: Path) -> None:
    model, X = _fitted(ExtraTreesModel, task)
    model.save(tmp_path)
    arrays = _arrays(tmp_path / "model.forest")
    header = json.loads(bytes(arrays["header"]).decode()) | {"format": 1}
    arrays["header"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    with (tmp_path / "model.npz").open("wb") as handle:  # as format 1 wrote it
        np.savez(handle, **arrays)
    (tmp_path / "model.forest").unlink()
    loaded = ExtraTreesModel.load(tmp_path)
    predict = "predict_proba" if task.is_classification else "predict"
    assert np.array_equal(getattr(loaded, predict)(X), getattr(model, predict)(X))


def test_a_cut_or_padded_forest_file_is_refused(tmp_path: Path) -> None:
    model, _ = _fitted(ExtraTreesModel, Task.REGRESSION)
    path = tmp_path / "model.forest"
    save_forest(model.model_, path)
    whole = path.read_bytes()
    for damaged in (whole[: len(whole) // 2], whole[:-3], whole + b"\0"):
        path.write_bytes(damaged)
        with pytest.raises(ArtifactError, match="not a readable forest file"):
            load_forest(path, ExtraTreesModel._estimator_types())


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("left_child", 0, "child is not a later node"),  # a loop back to the root
        ("right_child", 10**6, "child is not a later node"),  # past the tree's nodes
        ("feature", 99, "outside the"),
    ],
)
def test_a_tampered_node_is_refused(field, value, message, tmp_path: Path) -> None:
    model, _ = _fitted(ExtraTreesModel, Task.REGRESSION)
    path = tmp_path / "model.forest"
    save_forest(model.model_, path)
    nodes = _arrays(path)["nodes"]
    split = int(np.flatnonzero(nodes["left_child"] != -1)[1])
    nodes[field][split] = value
    _rewrite(path, nodes=nodes)
    with pytest.raises(ArtifactError, match=message):
        load_forest(path, ExtraTreesModel._estimator_types())


def test_a_forest_of_another_class_is_refused(tmp_path: Path) -> None:
    model, _ = _fitted(RandomForestModel, Task.REGRESSION)
    path = tmp_path / "model.forest"
    save_forest(model.model_, path)
    header = json.loads(bytes(_arrays(path)["header"]).decode())
    header["class"] = "GradientBoostingRegressor"
    _rewrite(path, header=np.frombuffer(json.dumps(header).encode(), dtype=np.uint8))
    with pytest.raises(ArtifactError, match="not a readable forest file"):
        load_forest(path, RandomForestModel._estimator_types())
    path.write_bytes(b"not a forest")
    with pytest.raises(ArtifactError, match="not a readable forest file"):
        load_forest(path, RandomForestModel._estimator_types())

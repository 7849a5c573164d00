"""Forests saved as arrays (_forest_file.py): the same predictions after loading, files
saved with skops before still load, and a tampered file is refused before any tree is walked."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from assay import Task
from assay.errors import ArtifactError
from assay.models import ExtraTreesModel, RandomForestModel
from assay.models._forest_file import load_forest, save_forest
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
    assert (tmp_path / "model.npz").is_file() and not (tmp_path / "model.skops").exists()
    loaded = model_class.load(tmp_path)
    predict = "predict_proba" if task.is_classification else "predict"
    assert np.array_equal(getattr(loaded, predict)(X), getattr(model, predict)(X))


def test_numpy_params_are_saved_as_their_values(tmp_path: Path) -> None:
    frames, y = toy_frame(Task.BINARY, 200, seed=5)
    X = frames[RandomForestModel.encoding]
    model = RandomForestModel(task=Task.BINARY, n_estimators=10, min_samples_leaf=np.int64(2))
    model.fit(X, y)
    save_forest(model.model_, tmp_path / "forest.npz")
    loaded = load_forest(tmp_path / "forest.npz", RandomForestModel._estimator_types())
    assert loaded.min_samples_leaf == 2 and type(loaded.min_samples_leaf) is int
    assert np.array_equal(loaded.predict_proba(X), model.model_.predict_proba(X))


def test_a_forest_saved_with_skops_before_still_loads(tmp_path: Path) -> None:
    model, X = _fitted(RandomForestModel, Task.BINARY)
    model.save(tmp_path)
    (tmp_path / "model.npz").unlink()
    save_skops(model.model_, tmp_path / "model.skops")
    loaded = RandomForestModel.load(tmp_path)
    assert np.array_equal(loaded.predict_proba(X), model.predict_proba(X))


def _rewrite(path: Path, **changes) -> None:
    with np.load(path, allow_pickle=False) as data:
        arrays = {name: data[name] for name in data.files}
    arrays.update(changes)
    with path.open("wb") as handle:
        np.savez(handle, **arrays)


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
    path = tmp_path / "forest.npz"
    save_forest(model.model_, path)
    with np.load(path, allow_pickle=False) as data:
        nodes = data["nodes"].copy()
    split = int(np.flatnonzero(nodes["left_child"] != -1)[1])
    nodes[field][split] = value
    _rewrite(path, nodes=nodes)
    with pytest.raises(ArtifactError, match=message):
        load_forest(path, ExtraTreesModel._estimator_types())


def test_a_forest_of_another_class_is_refused(tmp_path: Path) -> None:
    model, _ = _fitted(RandomForestModel, Task.REGRESSION)
    path = tmp_path / "forest.npz"
    save_forest(model.model_, path)
    with np.load(path, allow_pickle=False) as data:
        header = json.loads(bytes(data["header"]).decode())
    header["class"] = "GradientBoostingRegressor"
    _rewrite(path, header=np.frombuffer(json.dumps(header).encode(), dtype=np.uint8))
    with pytest.raises(ArtifactError, match="not a readable forest file"):
        load_forest(path, RandomForestModel._estimator_types())
    path.write_bytes(b"not a zip")
    with pytest.raises(ArtifactError, match="not a readable forest file"):
        load_forest(path, RandomForestModel._estimator_types())

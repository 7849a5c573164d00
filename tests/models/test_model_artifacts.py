"""Saved models load back only from trusted, complete artifacts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import skops.io as sio
from sklearn.preprocessing import StandardScaler

from assay import Task
from assay.errors import ArtifactError, ConfigError
from assay.features import Encoding
from assay.models import MODELS, KNNModel, LightGBMModel, LinearModel, load_model
from assay.models._estimator_file import header_record, read_records
from assay.testing import toy_frame


def _saved_linear(directory: Path) -> tuple[LinearModel, np.ndarray]:
    frames, y = toy_frame(Task.MULTICLASS, 120, seed=1)
    X = frames[Encoding.ONEHOT]
    model = LinearModel(task=Task.MULTICLASS).fit(X, y)
    model.save(directory)
    return model, X


def test_untampered_model_file_loads(tmp_path: Path) -> None:
    model, X = _saved_linear(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.arrays", "params.json"]
    loaded = load_model(tmp_path)
    assert isinstance(loaded, LinearModel)
    assert np.array_equal(loaded.predict_proba(X), model.predict_proba(X))


@pytest.mark.parametrize("task", list(Task))
@pytest.mark.parametrize("model_class", [LinearModel, KNNModel])
@pytest.mark.parametrize("weighted", [False, True])
def test_linear_and_knn_predict_exactly_the_same_after_loading(
    model_class, task, weighted, tmp_path: Path
) -> None:
    frames, y = toy_frame(task, 150, seed=2)
    X = frames[Encoding.ONEHOT]
    weight = np.random.default_rng(0).uniform(0.5, 2.0, len(y)) if weighted else None
    model = model_class(task=task).fit(X, y, sample_weight=weight)
    model.save(tmp_path)
    assert (tmp_path / "model.arrays").is_file()
    loaded = load_model(tmp_path)
    if task.is_classification:
        assert np.array_equal(loaded.predict_proba(X), model.predict_proba(X))
    else:
        assert np.array_equal(loaded.predict(X), model.predict(X))


def test_a_fit_saving_linear_and_knn_models_imports_neither_skops_nor_torch(tmp_path) -> None:
    """Importing skops.io imports all of scikit-learn, pytest, dask and torch (210 MB in
    a fresh process); a fit of these families must not pay it."""
    code = (
        "import sys; import numpy as np, pandas as pd; from assay import AutoML; "
        "rng = np.random.default_rng(0); X = pd.DataFrame(rng.normal(size=(200, 3))); "
        "X.columns = ['a', 'b', 'c']; X['y'] = np.where(X.a > 0, 'yes', 'no'); "
        f"AutoML(models=['linear', 'knn'], n_trials=4, n_folds=2, store=False).fit(X, "
        f"target='y').save({str(tmp_path / 'p')!r}); "
        "print(sorted(m for m in ('skops', 'torch', 'dask', 'pytest') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
    assert sorted((tmp_path / "p").rglob("model.arrays")) and not any(
        (tmp_path / "p").rglob("*.skops")
    )


def _as_legacy_skops(directory: Path, estimator: object) -> Path:
    """`directory`'s model as a version before arrays files saved it: a skops file."""
    (directory / "model.arrays").unlink()
    sio.dump(estimator, directory / "model.skops")
    return directory / "model.skops"


def test_a_model_saved_with_skops_before_still_loads(tmp_path: Path) -> None:
    model, X = _saved_linear(tmp_path)
    _as_legacy_skops(tmp_path, model.model_)
    assert np.array_equal(load_model(tmp_path).predict_proba(X), model.predict_proba(X))


def test_skops_file_with_untrusted_type_is_refused(tmp_path: Path) -> None:
    model, _ = _saved_linear(tmp_path)
    estimator = model.model_
    estimator.payload = os.system  # what an attacker would smuggle in
    file = _as_legacy_skops(tmp_path, estimator)
    assert "posix.system" in sio.get_untrusted_types(file=file)
    with pytest.raises(ArtifactError, match="untrusted"):
        load_model(tmp_path)


def test_skops_file_with_a_foreign_estimator_is_refused(tmp_path: Path) -> None:
    _saved_linear(tmp_path)
    _as_legacy_skops(tmp_path, StandardScaler().fit(np.eye(3)))
    with pytest.raises(ArtifactError, match="StandardScaler"):
        LinearModel.load(tmp_path)


def _write(file: Path, header: dict, arrays: list[np.ndarray]) -> None:
    """An arrays file as a forger would write it (object arrays pickled in, if asked)."""
    with file.open("wb") as handle:
        for array in [header_record(header), *arrays]:
            np.lib.format.write_array(handle, array, allow_pickle=True)


def test_a_tampered_arrays_file_is_refused(tmp_path: Path) -> None:
    model, X = _saved_linear(tmp_path)
    file = tmp_path / "model.arrays"
    original = file.read_bytes()
    first, *arrays = read_records(file)
    header = json.loads(bytes(first).decode())
    assert header["class"] == "LogisticRegression" and "coef_" in header["arrays"]
    payload = np.asarray([os.system], dtype=object)
    cases = {
        "StandardScaler": ({**header, "class": "StandardScaler"}, arrays),
        "unexpected fitted entries": ({**header, "python": {"__class__": 1}}, arrays),
        "Object arrays cannot be loaded": (header, [payload, *arrays[1:]]),
        "is longer than": (header, [*arrays, np.zeros(1)]),  # an array with no name
    }
    for message, (meta, records) in cases.items():
        _write(file, meta, records)
        with pytest.raises(ArtifactError, match=message):
            load_model(tmp_path)
    for damaged in (original[:-10], original + b"\x93NUMPY"):  # cut; trailing bytes
        file.write_bytes(damaged)
        with pytest.raises(ArtifactError, match="not a readable estimator file"):
            load_model(tmp_path)
    file.write_bytes(original)
    assert np.array_equal(load_model(tmp_path).predict_proba(X), model.predict_proba(X))


def test_corrupt_or_missing_artifacts_are_refused(tmp_path: Path) -> None:
    _saved_linear(tmp_path)
    (tmp_path / "model.arrays").write_bytes(b"not an array")
    with pytest.raises(ArtifactError, match="not a readable estimator file"):
        load_model(tmp_path)
    (tmp_path / "model.arrays").unlink()
    with pytest.raises(ArtifactError, match="missing"):
        load_model(tmp_path)
    (tmp_path / "model.skops").write_bytes(b"not a zip file")
    with pytest.raises(ArtifactError, match="not a readable skops file"):
        load_model(tmp_path)


def test_unknown_family_or_format_is_refused(tmp_path: Path) -> None:
    _saved_linear(tmp_path)
    meta = json.loads((tmp_path / "params.json").read_text())
    (tmp_path / "params.json").write_text(json.dumps({**meta, "name": "mystery"}))
    with pytest.raises(ArtifactError, match="unknown model 'mystery'"):
        load_model(tmp_path)
    (tmp_path / "params.json").write_text(json.dumps({**meta, "format": 99}))
    with pytest.raises(ArtifactError, match="format 99"):
        load_model(tmp_path)
    with pytest.raises(ArtifactError, match="cannot read"):
        load_model(tmp_path / "nowhere")


def test_loading_with_the_wrong_family_is_refused(tmp_path: Path) -> None:
    _saved_linear(tmp_path)
    with pytest.raises(ArtifactError, match="'linear' model, not 'lightgbm'"):
        LightGBMModel.load(tmp_path)


def test_save_needs_an_empty_directory(tmp_path: Path) -> None:
    model, _ = _saved_linear(tmp_path)
    with pytest.raises(ConfigError, match="empty directory"):
        model.save(tmp_path)  # already holds params.json
    with pytest.raises(ConfigError, match="empty directory"):
        model.save(tmp_path / "does-not-exist")


def test_params_json_is_plain_json(tmp_path: Path) -> None:
    _saved_linear(tmp_path)
    meta = json.loads((tmp_path / "params.json").read_text())
    assert meta["class"] == "LinearModel"
    assert meta["params"]["task"] == "multiclass"
    assert meta["fitted"]["classes_"] == [0, 1, 2]
    assert MODELS[meta["name"]] is LinearModel

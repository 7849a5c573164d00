"""Saved models load back only from trusted, complete artifacts."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import skops.io as sio
from sklearn.preprocessing import StandardScaler

from assay import Task
from assay.errors import ArtifactError, ConfigError
from assay.features import Encoding
from assay.models import MODELS, LightGBMModel, LinearModel, load_model
from assay.testing import toy_frame


def _saved_linear(directory: Path) -> tuple[LinearModel, np.ndarray]:
    frames, y = toy_frame(Task.MULTICLASS, 120, seed=1)
    X = frames[Encoding.ONEHOT]
    model = LinearModel(task=Task.MULTICLASS).fit(X, y)
    model.save(directory)
    return model, X


def test_untampered_skops_file_loads(tmp_path: Path) -> None:
    model, X = _saved_linear(tmp_path)
    loaded = load_model(tmp_path)
    assert isinstance(loaded, LinearModel)
    assert np.array_equal(loaded.predict_proba(X), model.predict_proba(X))


def test_skops_file_with_untrusted_type_is_refused(tmp_path: Path) -> None:
    model, _ = _saved_linear(tmp_path)
    estimator = model.model_
    estimator.payload = os.system  # what an attacker would smuggle in
    (tmp_path / "model.skops").unlink()
    sio.dump(estimator, tmp_path / "model.skops")
    assert "posix.system" in sio.get_untrusted_types(file=tmp_path / "model.skops")
    with pytest.raises(ArtifactError, match="untrusted"):
        load_model(tmp_path)


def test_skops_file_with_a_foreign_estimator_is_refused(tmp_path: Path) -> None:
    _saved_linear(tmp_path)
    (tmp_path / "model.skops").unlink()
    sio.dump(StandardScaler().fit(np.eye(3)), tmp_path / "model.skops")
    with pytest.raises(ArtifactError, match="StandardScaler"):
        LinearModel.load(tmp_path)


def test_corrupt_or_missing_artifacts_are_refused(tmp_path: Path) -> None:
    _saved_linear(tmp_path)
    (tmp_path / "model.skops").write_bytes(b"not a zip file")
    with pytest.raises(ArtifactError, match="not a readable skops file"):
        load_model(tmp_path)
    (tmp_path / "model.skops").unlink()
    with pytest.raises(ArtifactError, match="missing"):
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

"""`assay research init`: the workspace, the hidden harness, the split."""

from __future__ import annotations

import json
import stat

import pandas as pd
import pytest
from research_helpers import git

from assay.errors import AssayError
from assay.research import Harness, init_research, read_config


def test_init_creates_repo_files_and_a_harness_outside_the_workspace(tmp_path, toy_csv, assay_home):
    ws = tmp_path / "ws"
    harness = init_research(str(toy_csv), "y", ws, metric="logloss", budget_per_exp_s=7)

    assert git(ws, "rev-parse", "--abbrev-ref", "HEAD") == "research"
    assert git(ws, "rev-list", "--count", "HEAD") == "1"
    assert git(ws, "status", "--porcelain") == ""  # everything committed
    tracked = set(git(ws, "ls-files").split())
    assert tracked == {".assay-research.json", ".gitignore", "pipeline.py", "program.md"}
    assert "results.tsv" in (ws / ".gitignore").read_text()
    program = (ws / "program.md").read_text()
    assert "logloss" in program and "lower is better" in program and "7 seconds" in program
    config = read_config((ws / "pipeline.py").read_text())
    assert config["automl"] == {
        "models": None,
        "n_folds": None,
        "stack": "auto",
        "portfolio": "default",
    }
    assert config["features"] == [] and config["single_model"] is None

    # the harness lives under ASSAY_HOME, root-only, and nothing of it is in the workspace
    folder = harness.folder
    assert folder.is_relative_to(assay_home.resolve()) and not folder.is_relative_to(ws)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    for name in ("valid_labels.csv", "holdout.csv", "harness.json"):
        assert stat.S_IMODE((folder / name).stat().st_mode) == 0o600
    assert not any("holdout" in p.name or "labels" in p.name for p in ws.rglob("*"))
    pointer = json.loads((ws / ".assay-research.json").read_text())
    assert pointer == {"research_id": harness.id, "harness": str(folder)}
    spec = json.loads((folder / "harness.json").read_text())
    assert spec["workspace"] == str(ws.resolve()) and spec["greater_is_better"] is False
    assert Harness.for_workspace(ws).id == harness.id


def test_split_is_stratified_disjoint_and_labels_hidden_from_valid(tmp_path, toy_csv):
    harness = init_research(str(toy_csv), "y", tmp_path / "ws", holdout=0.2, valid=0.25, seed=3)
    folder = harness.folder
    train = pd.read_csv(folder / "train.csv")
    valid = pd.read_csv(folder / "valid.csv")
    labels = pd.read_csv(folder / "valid_labels.csv")
    holdout = pd.read_csv(folder / "holdout.csv")
    assert (len(train), len(valid), len(holdout)) == (165, 75, 60)
    assert "y" not in valid.columns and list(labels.columns) == ["__row__", "y"]
    assert sorted(valid["__row__"]) == sorted(labels["__row__"]) == list(range(75))
    share = pd.read_csv(tmp_path / "toy.csv")["y"].eq("yes").mean()
    for part in (train["y"], labels["y"], holdout["y"]):
        assert abs(part.eq("yes").mean() - share) < 0.03  # stratified
    keys = [tuple(f[["a", "b"]].round(9).itertuples(index=False)) for f in (train, valid, holdout)]
    assert not set(keys[0]) & set(keys[1]) and not set(keys[0]) & set(keys[2])
    assert harness.classes == ["no", "yes"] and harness.metric.name == "auc"


def test_the_holdout_is_not_readable_by_a_candidate(tmp_path, toy_csv):
    harness = init_research(str(toy_csv), "y", tmp_path / "ws", budget_per_exp_s=5)
    where = str(harness.folder)
    sneaky = (
        "import pathlib\n"
        f"folder = pathlib.Path({where[:5]!r} + {where[5:]!r})\n"
        "text = (folder / ('hold' + 'out.csv')).read_text()\n"
        "print('READ', len(text))\n"
    )
    result = harness.run(sneaky, label="sneaky")
    assert not result.ok
    assert "READ" not in result.log_tail
    refused = ("is not allowed", "Permission denied", "No such file")
    assert any(word in result.log_tail for word in refused), result.log_tail


def test_init_refuses_a_non_empty_folder_and_bad_fractions(tmp_path, toy_csv, assay_home):
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "file.txt").write_text("mine")
    with pytest.raises(AssayError, match="not empty"):
        init_research(str(toy_csv), "y", taken)
    with pytest.raises(AssayError, match="--holdout"):
        init_research(str(toy_csv), "y", tmp_path / "new", holdout=1.5)
    assert not (tmp_path / "new").exists()  # nothing left behind by a failed init
    assert not list((assay_home / "research").glob("*/harness.json"))


def test_init_from_a_predictor_starts_from_its_best_member(tmp_path, toy_csv):
    from assay import AutoML

    automl = AutoML(n_trials=3, models=["linear", "knn"], n_folds=3, store=False)
    automl.fit(str(toy_csv), target="y")
    saved = automl.predictor_.save(tmp_path / "predictor")
    ws = tmp_path / "ws"
    init_research(str(toy_csv), "y", ws, from_model=saved)
    config = read_config((ws / "pipeline.py").read_text())
    assert config["single_model"]["model"] in {"linear", "knn"}
    assert isinstance(config["single_model"]["params"], dict) and config["single_model"]["params"]
    assert set(config["automl"]["models"]) <= {"linear", "knn"}
    assert config["automl"]["n_folds"] == 3

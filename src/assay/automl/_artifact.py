"""Saving and loading a Predictor: a folder with `manifest.json` (versions, schema, members,
SHA-256 of every file) and each fold model in its native format. Loading verifies every
hash first and refuses a tampered or incomplete artifact."""

from __future__ import annotations

import hashlib
import io
import json
import platform
import shutil
import tempfile
import time
from importlib import metadata
from pathlib import Path

import pandas as pd

from assay.automl._predictor import Member, Predictor
from assay.errors import ArtifactError

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
DERIVED = "derived"  # folder of the columns derived before the members (text, pairs, dates)
_PACKAGES = ("assay", "numpy", "pandas", "scikit-learn", "lightgbm", "xgboost-cpu", "catboost")


def _versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def save_predictor(predictor: Predictor, path: Path, overwrite: bool = True) -> Path:
    """Write to a temporary sibling folder, then swap it in, so a crash never leaves half
    an artifact where a good one was."""
    path = path.expanduser().resolve()
    if path.exists() and any(path.iterdir()):
        if not (path / MANIFEST).exists():
            raise ArtifactError(
                f"{path} exists and is not an assay predictor: choose an empty or new folder."
            )
        if not overwrite:
            raise ArtifactError(f"{path} already holds a predictor: pass overwrite=True.")
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{path.name}-", dir=path.parent))
    try:
        members = []
        for i, member in enumerate(predictor.members):
            folds = []
            for k, (encoder, model) in enumerate(zip(member.encoders, member.models, strict=True)):
                fold_dir = Path("members") / f"{i:02d}_{member.model}" / f"fold_{k}"
                (staging / fold_dir / "model").mkdir(parents=True)
                (staging / fold_dir / "encoder.json").write_text(json.dumps(encoder.to_dict()))
                model.save(staging / fold_dir / "model")
                folds.append(str(fold_dir))
            members.append(
                {
                    "model": member.model,
                    "config": member.config,
                    "weight": member.weight,
                    "score": member.score,
                    "level": member.level,
                    "inputs": member.inputs,
                    "folds": folds,
                }
            )
        predictor._leaderboard.to_csv(staging / "leaderboard.csv", index=False)
        if predictor.derived is not None:
            predictor.derived.save(staging / DERIVED)
        files = {
            str(p.relative_to(staging)): _sha256(p)
            for p in sorted(staging.rglob("*"))
            if p.is_file()
        }
        manifest = {
            "format_version": FORMAT_VERSION,
            "created_at": time.time(),
            "versions": _versions(),
            "task": predictor.task.value,
            "target": predictor.target,
            "metric": predictor.metric,
            "classes": predictor.classes,
            "schema": predictor.schema.to_dict(),
            "members": members,
            "derived": predictor.derived is not None,
            "info": predictor.info,
            "files": files,
        }
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=1, default=_json_default))
        if path.exists():
            shutil.rmtree(path)
        staging.rename(path)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return path


def _json_default(value):
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def _verify(path: Path) -> dict:
    manifest_path = path / MANIFEST
    if not manifest_path.is_file():
        raise ArtifactError(
            f"{path} is not an assay predictor (no {MANIFEST}): give the folder written by "
            "`assay fit --out DIR` or Predictor.save(DIR)."
        )
    try:
        manifest = json.loads(manifest_path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ArtifactError(
            f"{manifest_path} is not valid JSON ({exc}): re-save the predictor."
        ) from exc
    if manifest.get("format_version") != FORMAT_VERSION:
        raise ArtifactError(
            f"{path} has artifact format {manifest.get('format_version')!r}; this assay reads "
            f"format {FORMAT_VERSION}. Re-fit with this version or install the one that wrote it "
            f"({manifest.get('versions', {}).get('assay', 'unknown')})."
        )
    for name, expected in manifest["files"].items():
        file = path / name
        if not file.is_file():
            raise ArtifactError(f"{path}: file {name} listed in the manifest is missing.")
        if _sha256(file) != expected:
            raise ArtifactError(
                f"{path}: {name} does not match its SHA-256 in the manifest: the artifact was "
                "modified after it was saved. Refusing to load it; re-fit or restore a copy."
            )
    return manifest


def load_predictor(path: Path) -> Predictor:
    from assay.data import Schema
    from assay.features import TabularEncoder
    from assay.models import load_model

    path = path.expanduser().resolve()
    if not path.exists():
        raise ArtifactError(f"No predictor at {path}: check the path given to assay.load().")
    manifest = _verify(path)
    listed = set(manifest["files"])

    def checked(relative: Path) -> Path:
        if str(relative) not in listed:
            raise ArtifactError(f"{path}: {relative} is not listed in the manifest.")
        return path / relative

    members = []
    for spec in manifest["members"]:
        encoders, models = [], []
        for fold in spec["folds"]:
            fold = Path(fold)
            encoder_file = checked(fold / "encoder.json")
            encoders.append(TabularEncoder.from_dict(json.loads(encoder_file.read_text())))
            for model_file in (path / fold / "model").iterdir():
                checked(model_file.relative_to(path))
            models.append(load_model(path / fold / "model"))
        members.append(
            Member(
                spec["model"],
                spec["config"],
                spec["weight"],
                spec["score"],
                encoders,
                models,
                level=spec.get("level", 1),
                inputs=list(spec.get("inputs", [])),
            )
        )
    for i, member in enumerate(members):
        if any(not 0 <= j < len(members) or members[j].inputs for j in member.inputs):
            raise ArtifactError(
                f"{path}: member {i} ({member.model}) takes inputs {member.inputs} that are not "
                "level-1 members of this predictor: the manifest is damaged; re-fit or restore it."
            )
    leaderboard = pd.read_csv(io.StringIO(checked(Path("leaderboard.csv")).read_text()))
    derived = None
    if manifest.get("derived"):
        from assay.features import DerivedFeatures

        folder = checked(Path(DERIVED) / "derived.json").parent
        for file in folder.iterdir():
            checked(file.relative_to(path))
        derived = DerivedFeatures.load(folder)
    return Predictor(
        task=manifest["task"],
        target=manifest["target"],
        metric=manifest["metric"],
        schema=Schema.from_dict(manifest["schema"]),
        classes=manifest["classes"],
        members=members,
        leaderboard=leaderboard,
        info=manifest.get("info"),
        derived=derived,
    )

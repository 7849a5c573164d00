"""Saving and loading a Predictor: a folder with `manifest.json` (versions, schema, members,
SHA-256 of every file and of the manifest itself) and each fold model in its native format.

Loading checks the folder first (`_manifest.py`) and refuses a damaged, edited, incomplete
or padded artifact. The hashes do not stop a forger, who recomputes them; what does is that
nothing able to run code (a pickle, foreign skops types, a torch file needing full
unpickling, embedded component code) loads without trust=True."""

from __future__ import annotations

import io
import json
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from assay._json import to_jsonable
from assay._trust import Trust
from assay.automl._manifest import (
    DIGEST,
    FORMAT_VERSION,
    MANIFEST,
    check_digest,
    check_folder,
    manifest_digest,
    sha256,
    versions,
    warn_versions,
)
from assay.automl._member import Member
from assay.errors import ArtifactError

TRAIN_ROWS = "train_rows.npy"  # fingerprints of the training rows' features (see _leakage)
DERIVED = "derived"  # folder of the columns derived before the members (text, pairs, dates)
_REQUIRED = ("task", "target", "metric", "classes", "schema", "members", "files")


def save_predictor(predictor, path: Path, overwrite: bool = True) -> Path:
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
                    "part": member.part,
                    "folds": folds,
                }
            )
        predictor._leaderboard.to_csv(staging / "leaderboard.csv", index=False)
        if predictor.derived is not None:
            predictor.derived.save(staging / DERIVED)
        if predictor.train_rows is not None:  # plain uint64, read back without pickle
            np.save(staging / TRAIN_ROWS, np.asarray(predictor.train_rows, dtype=np.uint64))
        files = {
            p.relative_to(staging).as_posix(): sha256(p)
            for p in sorted(staging.rglob("*"))
            if p.is_file()
        }
        manifest = {
            "format_version": FORMAT_VERSION,
            "created_at": time.time(),
            "versions": versions(),
            "task": predictor.task.value,
            "target": predictor.target,
            "metric": predictor.metric,
            "classes": predictor.classes,
            "schema": predictor.schema.to_dict(),
            "members": members,
            "derived": predictor.derived is not None,
            "train_rows": predictor.train_rows is not None,
            "temperatures": predictor.temperatures,
            "blend_temperature": predictor.blend_temperature,
            "info": predictor.info,
            "files": files,
        }
        manifest = to_jsonable(manifest)
        manifest[DIGEST] = manifest_digest(manifest)
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=1))
        if path.exists():
            shutil.rmtree(path)
        staging.rename(path)
    except OSError as exc:
        from assay.automl._diskfull import disk_full

        kept = "unchanged" if (path / MANIFEST).is_file() else "not written"
        full = disk_full(exc, path.parent, f"The predictor at {path} is {kept}.")
        if full is None:
            raise
        raise full from exc
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return path


def _read_manifest(path: Path) -> dict:
    manifest_path = path / MANIFEST
    if manifest_path.is_symlink() or not manifest_path.is_file():
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
    if not isinstance(manifest, dict):
        raise ArtifactError(f"{manifest_path} is not a JSON object: re-save the predictor.")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise ArtifactError(
            f"{path} has artifact format {manifest.get('format_version')!r}; this assay reads "
            f"format {FORMAT_VERSION}. Re-fit with this version or install the one that wrote it "
            f"({manifest.get('versions', {}).get('assay', 'unknown')})."
        )
    check_digest(path, manifest)
    missing = [key for key in _REQUIRED if key not in manifest]
    if missing:
        raise ArtifactError(f"{manifest_path} lacks {missing}: re-fit or restore a copy.")
    return manifest


def read_predictor(path: Path, trust: bool = False) -> dict[str, Any]:
    """Verify the folder, warn about version differences, then read it into the Predictor's
    constructor arguments. Without `trust`,
    anything that could run code when loaded is refused with an ArtifactError naming the
    file; with it, such files load and one warning names them."""
    path = path.expanduser().resolve()
    if not path.exists():
        raise ArtifactError(f"No predictor at {path}: check the path given to assay.load().")
    manifest = _read_manifest(path)
    with Trust.scope(trust, path) as scoped:
        check_folder(path, manifest, scoped)
        warn_versions(
            path,
            manifest.get("versions") or {},
            with_torch=any(name.endswith(".pt") for name in manifest["files"]),
        )
        return _build(path, manifest, scoped)


def _build(path: Path, manifest: dict, trust: Trust) -> dict[str, Any]:
    from assay.data import Schema
    from assay.features import TabularEncoder
    from assay.models import load_model

    listed = set(manifest["files"])

    def checked(relative: Path) -> Path:
        if relative.as_posix() not in listed:
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
            models.append(load_model(path / fold / "model", trust=trust))
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
                part=int(spec.get("part", 0)),
            )
        )
    for i, member in enumerate(members):
        if any(not 0 <= j < len(members) or members[j].inputs for j in member.inputs):
            raise ArtifactError(
                f"{path}: member {i} ({member.model}) takes inputs {member.inputs} that are not "
                "level-1 members of this predictor: the manifest is damaged; re-fit or restore it."
            )
    temperatures, blend_temperature = _temperatures(path, manifest, members)
    leaderboard = pd.read_csv(io.StringIO(checked(Path("leaderboard.csv")).read_text()))
    derived = None
    if manifest.get("derived"):
        from assay.features import DerivedFeatures

        folder = checked(Path(DERIVED) / "derived.json").parent
        for file in folder.iterdir():
            checked(file.relative_to(path))
        derived = DerivedFeatures.load(folder, trust=trust)
    return dict(
        task=manifest["task"],
        target=manifest["target"],
        metric=manifest["metric"],
        schema=Schema.from_dict(manifest["schema"]),
        classes=manifest["classes"],
        members=members,
        leaderboard=leaderboard,
        info=manifest.get("info"),
        derived=derived,
        train_rows=_train_rows(manifest, checked),
        temperatures=temperatures,
        blend_temperature=blend_temperature,
    )


def _temperatures(path: Path, manifest: dict, members: list) -> tuple[list[float], float]:
    """The parts' temperatures and the blend's (1.0 for a predictor saved before there were
    any), checked: a positive number for every part a member names, and for the blend."""
    values = manifest.get("temperatures", [1.0])
    blend = manifest.get("blend_temperature", 1.0)

    def positive(t) -> bool:
        return isinstance(t, int | float) and not isinstance(t, bool) and 0 < t < float("inf")

    ok = isinstance(values, list) and all(positive(t) for t in values) and positive(blend)
    if not ok or any(not 0 <= m.part < len(values) for m in members):
        raise ArtifactError(
            f"{path}: the manifest's temperatures {values!r} (blend {blend!r}) are not a "
            "positive number for each part of the ensemble: the manifest is damaged; re-fit "
            "or restore it."
        )
    return [float(t) for t in values], float(blend)


def _train_rows(manifest: dict, checked) -> np.ndarray | None:
    if not manifest.get("train_rows"):
        return None
    rows = np.load(checked(Path(TRAIN_ROWS)), allow_pickle=False)
    if rows.dtype != np.uint64 or rows.ndim != 1:
        raise ArtifactError(
            f"{TRAIN_ROWS} holds {rows.dtype} of shape {rows.shape}, not row fingerprints: "
            "the artifact is damaged; re-fit or restore it."
        )
    return rows

"""The checks a predictor folder passes before anything in it is read: the manifest's own
hash, every path inside the folder, no unlisted file or symlink, no pickle without trust,
every file's SHA-256, and the library versions it was saved with.

These hashes catch damage and careless edits, not forgery: whoever forges an artifact
recomputes them too (the manifest hash is plain SHA-256 of documented content, with no
secret). What keeps a forged artifact from running code is that nothing that could run
code loads without trust=True (see `assay._trust`)."""

from __future__ import annotations

import hashlib
import json
import os
import platform
import warnings
from importlib import metadata
from pathlib import Path, PurePosixPath

from assay._trust import Trust, pickle_reason
from assay.errors import ArtifactError, VersionMismatchWarning
from assay.log import get_logger

logger = get_logger(__name__)

FORMAT_VERSION = 2  # 2: the manifest hashes itself (manifest_sha256)
MANIFEST = "manifest.json"
DIGEST = "manifest_sha256"
# (key in the manifest, distribution names tried in order)
_PACKAGES = (
    ("assay", ("assay",)),
    ("numpy", ("numpy",)),
    ("pandas", ("pandas",)),
    ("scikit-learn", ("scikit-learn",)),
    ("lightgbm", ("lightgbm",)),
    ("xgboost", ("xgboost", "xgboost-cpu")),
    ("catboost", ("catboost",)),
    ("torch", ("torch",)),
)


def versions() -> dict[str, str]:
    """Python and the installed versions of the libraries a predictor's numbers depend on."""
    found = {"python": platform.python_version()}
    for key, names in _PACKAGES:
        for name in names:
            try:
                found[key] = metadata.version(name)
                break
            except metadata.PackageNotFoundError:
                continue
    if "assay" not in found:
        from assay._version import __version__

        found["assay"] = __version__
    return found


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def manifest_digest(manifest: dict) -> str:
    """SHA-256 of the manifest without its `manifest_sha256` field, as JSON with sorted
    keys and `(",", ":")` separators (after a JSON round trip, so saving and loading agree)."""
    content = json.loads(json.dumps(manifest))
    content.pop(DIGEST, None)
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def check_digest(path: Path, manifest: dict) -> None:
    if manifest.get(DIGEST) != manifest_digest(manifest):
        raise ArtifactError(
            f"{path / MANIFEST} does not match its {DIGEST}: the manifest (schema, members, "
            "classes or file list) was edited after it was saved. Refusing to load it; re-fit "
            "or restore a copy."
        )


def inside(root: Path, name: str, what: str) -> Path:
    """`root / name` for a relative path that stays inside `root`; anything else (absolute,
    `..`, a backslash, a symlink out) is refused before it is read."""
    pure = PurePosixPath(name)
    if (
        not name
        or "\\" in name
        or pure.is_absolute()
        or ".." in pure.parts
        or not (root / name).resolve().is_relative_to(root)
    ):
        raise ArtifactError(
            f"{root}: {what} {name!r} points outside the predictor folder. Refusing to load "
            "it: the manifest was forged or damaged; re-fit or restore a copy."
        )
    return root / name


def check_folder(root: Path, manifest: dict, trust: Trust) -> None:
    """Paths, unlisted files, symlinks and pickles, then every listed file's SHA-256."""
    files = manifest.get("files")
    if not isinstance(files, dict):
        raise ArtifactError(f"{root / MANIFEST} has no file list: re-fit or restore a copy.")
    for name in files:
        inside(root, name, "file")
    for i, member in enumerate(manifest.get("members") or []):
        for fold in member.get("folds") or []:
            inside(root, str(fold), f"member {i}'s fold")
    for folder, dirs, names in os.walk(root):
        for name in sorted(dirs + names):
            file = Path(folder) / name
            relative = file.relative_to(root).as_posix()
            if file.is_symlink():
                raise ArtifactError(
                    f"{file} is a symbolic link; a predictor holds plain files only. Refusing "
                    "to load it: replace the link with the file or restore a copy."
                )
            if name in names and relative != MANIFEST and relative not in files:
                raise ArtifactError(
                    f"{file} is not listed in the manifest: something was added after the "
                    "predictor was saved. Remove it or restore a copy."
                )
    for name in sorted(files):
        file = root / name
        if not file.is_file():
            raise ArtifactError(
                f"{root}: file {name} listed in the manifest is missing: the artifact is "
                "incomplete; re-fit or restore a copy."
            )
        reason = pickle_reason(file)
        if reason:
            trust.require(file, f"{reason}; assay never writes pickles")
        if sha256(file) != files[name]:
            raise ArtifactError(
                f"{root}: {name} does not match its SHA-256 in the manifest: the artifact was "
                "modified after it was saved. Refusing to load it; re-fit or restore a copy."
            )


def warn_versions(root: Path, saved: dict, with_torch: bool) -> list[str]:
    """One warning (log and `VersionMismatchWarning`) naming every library whose version
    differs from the one the predictor was saved with; returns the differences."""
    installed = versions()
    saved = saved if isinstance(saved, dict) else {}
    keys = ["python", *(key for key, _ in _PACKAGES if key != "torch" or with_torch)]
    diffs = []
    for key in keys:
        was, now = saved.get(key), installed.get(key)
        if not isinstance(was, str) or now is None:
            continue  # not recorded, or not installed here: nothing to compare
        if key == "python":
            was, now = ".".join(was.split(".")[:2]), ".".join(now.split(".")[:2])
        if was.split("+")[0] != now.split("+")[0]:
            diffs.append(f"{key} {was} (installed {now})")
    if diffs:
        message = (
            f"{root} was saved with {', '.join(diffs)}: predictions may differ. Re-fit the "
            "predictor with the installed versions, or install those versions."
        )
        logger.warning("%s", message)
        warnings.warn(VersionMismatchWarning(message), stacklevel=4)
    return diffs

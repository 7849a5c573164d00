"""Images and sound as inputs: which values are paths of media files, a folder with one
subfolder per class read as a table of paths, and paths resolved against the folder of the
table that names them (so a table and its files can move together)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from assay._types import FeatureType
from assay.errors import DataError
from assay.log import get_logger

if TYPE_CHECKING:
    from assay.data._schema import Schema

logger = get_logger(__name__)
MAX_BAD_SHARE = 0.5  # more unreadable files than this: the paths are wrong, not the files

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp"})
AUDIO_SUFFIXES = frozenset({".wav", ".flac", ".ogg", ".opus", ".mp3", ".aiff", ".aif"})
MEDIA_TYPES = (FeatureType.IMAGE, FeatureType.AUDIO)
PATH_COLUMN, LABEL_COLUMN = "path", "label"  # a folder of files read as a table
SAMPLE_SIZE = 200  # values checked for an extension and an existing file
MIN_SHARE = 0.9  # of the sample: with a media extension, and of those, files that exist


def media_kind(path: str | os.PathLike[str]) -> FeatureType | None:
    """IMAGE or AUDIO by the file's extension, None for anything else."""
    suffix = Path(str(path)).suffix.lower()
    if suffix in IMAGE_SUFFIXES:
        return FeatureType.IMAGE
    if suffix in AUDIO_SUFFIXES:
        return FeatureType.AUDIO
    return None


def _sample(values: pd.Series) -> list[str]:
    strings = values[values.map(lambda v: isinstance(v, str))]
    step = max(1, len(strings) // SAMPLE_SIZE)
    return [str(v).strip() for v in strings.iloc[::step].head(SAMPLE_SIZE)]


def path_column_kind(values: pd.Series, base: Path | None = None) -> FeatureType | None:
    """IMAGE or AUDIO when the column holds paths of such files: nearly all sampled values
    end in one kind's extension and nearly all of those name files that exist (absolute,
    or relative to `base`, else to the current folder)."""
    non_null = values.dropna()
    sample = _sample(non_null)
    if not sample or len(sample) < MIN_SHARE * min(len(non_null), SAMPLE_SIZE):
        return None  # mostly not strings
    kinds = [media_kind(v) for v in sample]
    for kind in MEDIA_TYPES:
        named = [v for v, k in zip(sample, kinds, strict=True) if k is kind]
        if len(named) < MIN_SHARE * len(sample):
            continue
        found = sum(_is_file(_resolve(v, base)) for v in named)
        return kind if found >= MIN_SHARE * len(named) else None
    return None


def _resolve(value: str, base: Path | None) -> Path:
    path = Path(value).expanduser()
    if path.is_absolute() or base is None:
        return path
    return base / path


def _is_file(path: Path) -> bool:
    """Path.is_file, False for names no file can have (a NUL byte, too long)."""
    try:
        return path.is_file()
    except (OSError, ValueError):
        return False


def resolve_media_paths(frame: pd.DataFrame, base: Path) -> list[str]:
    """Rewrite, in place, the columns of `frame` that hold paths of media files relative to
    `base` (the folder of the table that names them) as absolute paths. Returns the names
    of the columns rewritten. Paths that do not resolve to a file stay as they are: the fit
    reports them by name."""
    changed = []
    for name in frame.columns:
        column = frame[name]
        if column.dtype != object and not isinstance(column.dtype, pd.StringDtype):
            continue
        if path_column_kind(column, base) is None:
            continue
        frame[name] = column.map(
            lambda v: str(_resolve(v.strip(), base).resolve()) if isinstance(v, str) else v
        ).astype(object)
        changed.append(str(name))
    return changed


def default_target(data) -> str:
    """`label` for a folder of media files (one subfolder per class); else a ConfigError
    asking for the target."""
    from assay.errors import ConfigError

    if isinstance(data, str | os.PathLike) and is_media_folder(Path(data).expanduser()):
        return LABEL_COLUMN
    raise ConfigError("target is required: name the column to predict (target=...).")


def _hidden(path: Path) -> bool:
    """A hidden file or folder, or the `__MACOSX` folder and `._name` files an archive
    made on a Mac carries beside every file (they are not images or sound)."""
    return path.name.startswith(".") or path.name == "__MACOSX"


def _media_files(folder: Path) -> list[Path]:
    return sorted(
        p for p in folder.iterdir() if p.is_file() and not _hidden(p) and media_kind(p) is not None
    )


def _class_folders(folder: Path) -> list[Path]:
    return sorted(sub for sub in folder.iterdir() if sub.is_dir() and not _hidden(sub))


def is_media_folder(path: Path) -> bool:
    """A folder holding media files, directly or one level down (one subfolder per class)."""
    if not path.is_dir():
        return False
    if _media_files(path):
        return True
    return any(_media_files(sub) for sub in _class_folders(path))


def read_media_folder(folder: Path) -> pd.DataFrame:
    """A folder of images or sound as a table: `path` (absolute) and, when the files sit
    in one subfolder per class, `label` (the subfolder's name). Files of another kind and
    hidden files are left out; one folder holds one kind of media."""
    classes = _class_folders(folder)
    rows: list[tuple[str, str | None]] = []
    for sub in classes:
        rows += [(str(p.resolve()), sub.name) for p in _media_files(sub)]
    loose = _media_files(folder)
    if rows and loose:
        raise DataError(
            f"'{folder}' holds media files both directly and in subfolders: put every file "
            f"in its class's subfolder (one subfolder per class), or give a folder of files "
            f"without subfolders to predict. Loose files: {', '.join(p.name for p in loose[:3])}"
        )
    if not rows and not loose:
        raise DataError(
            f"'{folder}' holds no image or audio files (looked for "
            f"{', '.join(sorted(IMAGE_SUFFIXES | AUDIO_SUFFIXES))}, directly or one subfolder "
            "down). Give a folder with one subfolder per class, or a data file."
        )
    if loose:
        return pd.DataFrame({PATH_COLUMN: [str(p.resolve()) for p in loose]}, dtype=object)
    kinds = {media_kind(path) for path, _ in rows}
    if len(kinds) > 1:
        raise DataError(
            f"'{folder}' mixes images and sound files; give one kind of media per folder."
        )
    n_classes = len({label for _, label in rows})
    if n_classes < 2:
        raise DataError(
            f"'{folder}' has files for one class only ({rows[0][1]!r}); a fit needs at "
            "least two subfolders, one per class."
        )
    paths, labels = zip(*rows, strict=True)
    return pd.DataFrame({PATH_COLUMN: list(paths), LABEL_COLUMN: list(labels)}, dtype=object)


def files_as_table(files: list, column: str = PATH_COLUMN) -> pd.DataFrame:
    """A list of media file paths as a one-column table of absolute paths (to predict)."""
    missing = [str(f) for f in files if not _is_file(Path(str(f)).expanduser())]
    if missing:
        raise DataError(
            f"{len(missing)} of the {len(files)} files given do not exist, e.g. "
            f"'{missing[0]}'. Check the paths (relative ones start from the current folder)."
        )
    paths = [str(Path(str(f)).expanduser().resolve()) for f in files]
    return pd.DataFrame({column: paths}, dtype=object)


def readable_rows(X: pd.DataFrame, schema: Schema, where: str, notes: list[str]) -> pd.Series:
    """True for the rows whose image and sound files all decode. A few bad files are left
    out with a warning naming them (in `notes`); when most are bad, a DataError: the paths
    or the format are wrong, not a few files."""
    from assay.data._decode import decode_all, describe_bad
    from assay.data._validate import warn

    keep = pd.Series(True, index=X.index)
    for name in X.columns:
        kind = schema[name].type
        if not kind.is_media:
            continue
        _, bad = decode_all(X[name].tolist(), kind)
        if not bad:
            continue
        message = describe_bad(bad, name)
        if len(bad) > MAX_BAD_SHARE * X[name].notna().sum():
            raise DataError(
                f"{where}: {message}. Most files are unreadable: check that the paths are "
                "right (relative paths start from the table's folder) and the format."
            )
        warn(notes, f"{where}: {message}; the fit goes on without those rows.")
        keep &= ~X[name].isin(list(bad))
    return keep

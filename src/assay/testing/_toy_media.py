"""Small deterministic image and sound files, written where the caller says: pictures
whose brightness and colour tell the label, and tones whose pitch tells it. For tests of
the media inputs and networks without any downloaded data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from assay._types import Task

_SIDE = 24  # pixels of a toy picture (decoding resizes it)
_RATE = 8_000  # samples per second of a toy sound
_SECONDS = 0.3


def write_image(path: Path, level: float, rng: np.random.Generator, mode: str = "RGB") -> Path:
    """A picture with a square of brightness `level` (0 to 1) on noise, red where `level`
    is high and blue where it is low; PNG or JPEG by the suffix."""
    from PIL import Image

    noise = rng.integers(0, 60, size=(_SIDE, _SIDE, 3))
    pixels = noise.astype(np.float64)
    lo, hi = _SIDE // 4, 3 * _SIDE // 4
    pixels[lo:hi, lo:hi] = 255 * np.array([level, 0.5, 1 - level])
    image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB")
    image.convert(mode).save(path)
    return path


def write_tone(path: Path, level: float, rng: np.random.Generator) -> Path:
    """A tone whose pitch rises with `level` (0 to 1) over a little noise; WAV or FLAC by
    the suffix."""
    import soundfile

    t = np.arange(int(_RATE * _SECONDS)) / _RATE
    pitch = 200 * 2 ** (3 * level)  # 200 to 1,600 Hz, evenly on the ear's (and mel's) scale
    wave = 0.5 * np.sin(2 * np.pi * pitch * t) + 0.02 * rng.normal(size=len(t))
    soundfile.write(path, wave.astype(np.float32), _RATE)
    return path


def toy_media(
    folder: Path, task: Task | str = Task.MULTICLASS, n_rows: int = 90, seed: int = 0
) -> tuple[pd.DataFrame, np.ndarray]:
    """(frame, y): columns `image` and `sound` hold absolute paths of files written into
    `folder`, and `note` a sentence with a word for the same level; classes are labels
    0..K-1 (K=2 or 3), regression targets are floats."""
    task = Task(task)
    rng = np.random.default_rng(seed)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    level = rng.random(n_rows)
    if task is Task.REGRESSION:
        y = 10 * level + 0.1 * rng.normal(size=n_rows)
    else:
        n_classes = 2 if task is Task.BINARY else 3
        y = np.minimum((level * n_classes).astype(np.int64), n_classes - 1)
    images, sounds, notes = [], [], []
    wording = np.random.default_rng(seed + 1)
    words = ["dim", "faint", "pale", "mild", "clear", "bright", "vivid", "blazing"]
    for i in range(n_rows):
        images.append(str(write_image(folder / f"img_{i}.png", level[i], rng).resolve()))
        sounds.append(str(write_tone(folder / f"tone_{i}.wav", level[i], rng).resolve()))
        telling = words[min(int(level[i] * len(words)), len(words) - 1)]
        notes.append(f"the light was {telling} that {wording.choice(['day', 'night', 'dawn'])}")
    frame = pd.DataFrame({"image": images, "sound": sounds, "note": notes}, dtype=object)
    return frame, y

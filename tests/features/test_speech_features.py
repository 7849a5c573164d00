"""Speech embeddings of sound columns: what they ignore (loudness, silence around the
sound), that they tell spoken words apart for a speaker the model never heard, and that a
saved predictor computes the same columns again (and an older one, fitted without them,
still predicts)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from assay._types import FeatureType, Task
from assay.features._speech import SPEECH_DIM, speech_available, speech_features
from assay.testing._toy_media import write_tone

pytest.importorskip("librosa")  # the `media` extra, which brings the speech encoder too


def _tone_wave(tmp_path: Path, level: float, seed: int = 0) -> np.ndarray:
    from assay.data._decode import decode_wave

    path = write_tone(tmp_path / f"tone_{level}_{seed}.wav", level, np.random.default_rng(seed))
    return decode_wave(str(path))


def test_the_media_extra_brings_the_speech_encoder() -> None:
    assert speech_available(), "openwakeword 0.4.0 or onnxruntime is missing: make setup"


def test_the_embedding_ignores_loudness_and_silence_and_fits_any_length(tmp_path: Path) -> None:
    import soundfile

    from assay.data._decode import decode_wave

    wave = _tone_wave(tmp_path, 0.3)
    embedding = speech_features(wave)
    assert embedding.shape == (SPEECH_DIM,) and np.isfinite(embedding).all()
    np.testing.assert_allclose(speech_features(0.05 * wave), embedding, rtol=1e-4, atol=1e-3)
    # the same tone after 0.5 s and before 1 s of silence (trimmed off, but for a frame)
    quiet = tmp_path / "in_silence.wav"
    samples, rate = soundfile.read(write_tone(tmp_path / "t.wav", 0.3, np.random.default_rng(0)))
    soundfile.write(quiet, np.concatenate([np.zeros(rate // 2), samples, np.zeros(rate)]), rate)
    moved = np.abs(speech_features(decode_wave(str(quiet))) - embedding).max()
    other = np.abs(speech_features(_tone_wave(tmp_path, 0.9)) - embedding).max()
    assert moved < 0.25 * other, (moved, other)  # 1.7 against 13.2 when written
    # shorter than one window, longer than the padding, silent, missing
    assert np.isfinite(speech_features(wave[:5])).all()
    assert speech_features(np.tile(wave, 12)).shape == (SPEECH_DIM,)  # 3.6 s, read whole
    assert np.isfinite(speech_features(np.zeros(800, dtype=np.float32))).all()
    assert np.isnan(speech_features(None)).all()


def test_spoken_digits_are_told_apart_for_a_speaker_never_heard(datasets_dir: Path) -> None:
    """Trained on two speakers of FSDD and scored on a third: the embedding recognises the
    words; the summary features of the spectrogram mostly learn the two voices."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from assay.data._decode import decode_wave, decoded
    from assay.features._audio import sound_features

    manifest = json.loads((datasets_dir / "manifest.json").read_text())
    root = datasets_dir / next(d for d in manifest["audio"] if d["name"] == "fsdd")["path"]

    def clips(speakers: list[str]) -> tuple[list[str], np.ndarray]:
        paths = [
            str(root / f"{digit}_{speaker}_{i}.wav")
            for speaker in speakers
            for digit in range(10)
            for i in range(10)
        ]
        return paths, np.array([int(Path(p).name[0]) for p in paths])

    train, y_train = clips(["george", "jackson"])
    test, y_test = clips(["nicolas"])
    scores = {}
    for name, features in {
        "speech": lambda p: speech_features(decode_wave(p)),
        "summary": lambda p: sound_features(decoded(p, FeatureType.AUDIO)),
    }.items():
        model = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=2000))
        model.fit(np.stack([features(p) for p in train]), y_train)
        predicted = model.predict(np.stack([features(p) for p in test]))
        scores[name] = float(np.mean(predicted == y_test))
    assert scores["speech"] >= 0.75, scores  # 0.90 when written
    assert scores["speech"] >= scores["summary"] + 0.3, scores  # summary: 0.27


def test_sound_columns_keep_their_speech_columns_through_save_and_load(tmp_path: Path) -> None:
    from assay.evaluate import make_folds
    from assay.features import DerivedFeatures

    rng = np.random.default_rng(0)
    sounds = [str(write_tone(tmp_path / f"{i}.wav", i / 24, rng)) for i in range(24)]
    X = pd.DataFrame({"clip": sounds, "n": np.arange(24.0)})
    y = np.arange(24) % 2
    types = {"clip": FeatureType.AUDIO, "n": FeatureType.NUMERIC}
    folds = make_folds(y, Task.BINARY, n_folds=2, random_state=0)
    derived = DerivedFeatures(types, Task.BINARY, embed=False)
    out = derived.fit_transform(X, y, folds, deadline=time.monotonic() + 600)
    speech = [c for c in out.columns if c.startswith("clip__speech")]
    assert len(speech) == SPEECH_DIM and derived.speech_media_ == ["clip"]
    assert np.isfinite(out[speech].to_numpy()).all()

    # out of time: each block is left out on its own, under its own name
    late = DerivedFeatures(types, Task.BINARY, embed=False)
    assert late.fit_transform(X, y, folds, deadline=time.monotonic()).shape[1] == 0
    assert {"sound features of clip", "speech embedding of clip"} <= set(late.report_["skipped"])
    assert late.featured_media_ == [] and late.speech_media_ == []

    derived.save(tmp_path / "saved")
    loaded = DerivedFeatures.load(tmp_path / "saved")
    pd.testing.assert_frame_equal(loaded.transform(X.tail(4)), out.tail(4))

    # a predictor saved before speech embeddings: its spec names neither
    spec_file = tmp_path / "saved" / "derived.json"
    spec = json.loads(spec_file.read_text())
    del spec["speech_media"]
    spec["columns"] = [c for c in spec["columns"] if c not in speech]
    spec_file.write_text(json.dumps(spec))
    older = DerivedFeatures.load(tmp_path / "saved").transform(X.tail(4))
    assert list(older.columns) == spec["columns"]
    pd.testing.assert_frame_equal(older, out.tail(4).drop(columns=speech))

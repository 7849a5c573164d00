"""The course-of-the-sound features (MFCC means over parts of its time) and the network's
smoothing across frequency: what each keeps and what each removes."""

from __future__ import annotations

import numpy as np
import pytest

from assay.features._audio import N_MFCC, N_SEGMENTS, segment_means

pytest.importorskip("librosa")


def _spectrum(rng: np.random.Generator, n_frames: int = 60) -> np.ndarray:
    from assay.data._decode import N_MELS

    return (rng.normal(-40, 8, size=(N_MELS, n_frames))).astype(np.float32)


def test_parts_follow_the_sound_in_time() -> None:
    mfcc = np.zeros((3, 10))
    mfcc[:, :5] = 1.0  # loud first half, quiet second half
    parts = segment_means(mfcc, n_segments=2)
    np.testing.assert_allclose(parts, [[0.5] * 3, [-0.5] * 3])
    np.testing.assert_allclose(segment_means(mfcc[:, ::-1], n_segments=2), parts[::-1])


@pytest.mark.parametrize("n_frames", [1, 2, 4, 5, 6, 97])
def test_every_part_has_frames_however_short_the_sound(n_frames: int) -> None:
    rng = np.random.default_rng(n_frames)
    parts = segment_means(rng.normal(size=(4, n_frames)))
    assert parts.shape == (N_SEGMENTS, 4)
    assert np.isfinite(parts).all()


def test_course_features_ignore_loudness_and_the_microphone() -> None:
    """A louder recording adds the same dB to every band; another microphone adds its own
    dB to each band: neither changes how the sound goes."""
    from assay.features._audio import sound_feature_names, sound_features

    rng = np.random.default_rng(0)
    spectrum = _spectrum(rng)
    names = sound_feature_names("s")
    course = [i for i, n in enumerate(names) if "_part" in n]
    assert len(course) == N_SEGMENTS * N_MFCC
    before = sound_features(spectrum)
    microphone = rng.normal(0, 6, size=(spectrum.shape[0], 1)).astype(np.float32)
    after = sound_features(spectrum + 12.0 + microphone)
    np.testing.assert_allclose(after[course], before[course], atol=1e-3)
    assert not np.allclose(after, before)  # the level features do see it
    assert len(before) == len(names)
    assert np.isnan(sound_features(None)).all()


def test_smoothing_keeps_the_envelope_and_drops_the_harmonics() -> None:
    from assay.models._media_cnn import LIFTER, smoothed_bands

    rng = np.random.default_rng(1)
    spectrum = _spectrum(rng)
    n_mels = spectrum.shape[0]
    bands = np.arange(n_mels)[:, None]

    def wave(k: int) -> np.ndarray:  # the k-th cosine of the transform over the bands
        return np.cos(np.pi * k * (bands + 0.5) / n_mels)

    envelope = -30.0 - 20.0 * wave(1) + 5.0 * wave(3)  # slow over the bands: formants
    harmonics = 6.0 * wave(50)  # a fast ripple over the bands: a voice's pitch
    smoothed = smoothed_bands((envelope + harmonics + 0 * spectrum).astype(np.float32), LIFTER)
    np.testing.assert_allclose(smoothed, np.broadcast_to(envelope, smoothed.shape), atol=1e-3)
    assert smoothed.dtype == np.float32
    np.testing.assert_array_equal(smoothed_bands(spectrum, 0), spectrum)
    # what it keeps is the spectrogram's first LIFTER cepstral coefficients, unchanged
    from scipy.fft import dct

    kept = dct(smoothed_bands(spectrum, LIFTER), type=2, norm="ortho", axis=0)
    original = dct(spectrum, type=2, norm="ortho", axis=0)
    np.testing.assert_allclose(kept[:LIFTER], original[:LIFTER], atol=1e-3)
    np.testing.assert_allclose(kept[LIFTER:], 0.0, atol=1e-3)


def test_the_search_tries_the_network_smoothed_and_as_it_is() -> None:
    """Smoothing drops pitch and stretching drops pace: a gain for words, a loss where
    pitch or pace is the class (tones, notes, rhythms); the first two default configs try
    both, the space holds both."""
    from assay import Task
    from assay.models._media_cnn import LIFTER, SoundCNNModel

    configs = SoundCNNModel.default_configs(Task.MULTICLASS)
    assert [(c["lifter"], c["stretch"]) for c in configs[:2]] == [(LIFTER, True), (0, False)]
    space = SoundCNNModel.search_space(100, 1, Task.MULTICLASS)
    assert space["lifter"].contains(0) and space["stretch"].contains(False)
    assert SoundCNNModel(lifter=LIFTER).get_params()["lifter"] == LIFTER
    # a network made by hand reads the spectrogram as it is
    assert (SoundCNNModel().lifter, SoundCNNModel().stretch) == (0, False)


def test_a_word_said_slowly_fills_the_same_frames_when_stretched() -> None:
    """The same course of sound at half the pace, stretched to the network's frames, is the
    same input; cut instead, it is only its first half, padded with its quietest value."""
    from assay.models._media_cnn import fitted_frames

    rng = np.random.default_rng(2)
    fast = np.cumsum(rng.normal(size=(8, 21)), axis=1).astype(np.float32)
    slow = np.repeat(fast, 2, axis=1)[:, :-1]  # every frame twice: 41 frames
    slow[:, 1::2] = (fast[:, :-1] + fast[:, 1:]) / 2  # the frames between, as said slowly
    np.testing.assert_allclose(
        fitted_frames(slow, 30, stretch=True), fitted_frames(fast, 30, stretch=True), atol=1e-5
    )
    cut = fitted_frames(fast, 30, stretch=False)
    np.testing.assert_array_equal(cut[:, :21], fast)
    np.testing.assert_array_equal(cut[:, 21:], fast.min())
    np.testing.assert_array_equal(fitted_frames(fast, 10, stretch=False), fast[:, :10])
    assert fitted_frames(fast[:, :1], 5, stretch=True).shape == (8, 5)  # one frame: repeated


def test_the_network_sees_neither_the_loudness_nor_the_microphone() -> None:
    """A louder recording scales the spread of a log-mel spectrogram's changes (in dB,
    more range above the noise) and another microphone adds its own dB to each band: the
    network's input is the same for both."""
    from assay.models._media_cnn import normalised_clip

    rng = np.random.default_rng(3)
    spectrum = _spectrum(rng)
    microphone = rng.normal(0, 6, size=(spectrum.shape[0], 1)).astype(np.float32)
    louder = 1.5 * spectrum + 12.0 + microphone
    np.testing.assert_allclose(normalised_clip(louder), normalised_clip(spectrum), atol=1e-4)
    assert abs(float(normalised_clip(spectrum).std()) - 1.0) < 1e-4
    np.testing.assert_allclose(normalised_clip(spectrum).mean(axis=1), 0.0, atol=1e-4)
    flat = np.full((4, 6), -100.0, dtype=np.float32)  # silence: no change to scale up
    np.testing.assert_array_equal(normalised_clip(flat), 0.0)


def test_the_network_reads_a_slow_and_a_fast_word_alike_when_it_stretches(tmp_path) -> None:
    """Two notes, then two notes each held twice as long, as WAV files: with `stretch` the
    network's inputs of the two files match; without, the slow file's frames are mostly
    its first note, and they do not."""
    import soundfile

    from assay.models._media_cnn import SoundCNNModel

    rate = 8_000

    def notes(seconds: float) -> np.ndarray:
        t = np.arange(int(rate * seconds)) / rate
        return np.concatenate([np.sin(2 * np.pi * f * t) for f in (400.0, 1_500.0)]) / 2

    paths = []
    for name, seconds in (("fast.wav", 0.3), ("slow.wav", 0.6)):
        soundfile.write(tmp_path / name, notes(seconds).astype(np.float32), rate)
        paths.append(str(tmp_path / name))

    def match(stretch: bool) -> float:
        inputs = SoundCNNModel(stretch=stretch)._arrays(paths, fitting=True)
        return float(np.corrcoef(inputs[0].ravel(), inputs[1].ravel())[0, 1])

    assert match(stretch=True) > 0.8  # 0.86: the edges of the notes are not stretched
    assert match(stretch=False) < 0.5  # 0.40


def test_the_sound_network_trains_on_mixed_clips_by_default(tmp_path) -> None:
    """mixup is on in every default config and off in a network made by hand; it changes
    what the network learns only when the batches are augmented, draws its shares from the
    network's seed (the same fit twice is the same network), and takes row weights."""
    import pandas as pd
    import soundfile

    from assay import Task
    from assay.errors import ConfigError
    from assay.models._media_cnn import MIXUP, SoundCNNModel

    assert all(c["mixup"] == MIXUP > 0 for c in SoundCNNModel.default_configs(Task.BINARY))
    assert SoundCNNModel.search_space(100, 1, Task.BINARY)["mixup"].contains(0.0)
    assert SoundCNNModel().mixup == 0.0

    rate, rng = 8_000, np.random.default_rng(4)
    t = np.arange(rate // 5) / rate
    paths, labels = [], []
    for i in range(24):
        high = i % 2
        tone = np.sin(2 * np.pi * (1_200.0 if high else 300.0) * (1 + rng.uniform(-0.05, 0.05)) * t)
        soundfile.write(tmp_path / f"{i}.wav", (tone / 2).astype(np.float32), rate)
        paths.append(str(tmp_path / f"{i}.wav"))
        labels.append(high)
    X, y = pd.DataFrame({"file": paths}), np.array(labels)

    def fitted(**params) -> np.ndarray:
        settings = {"task": "binary", "n_estimators": 3, "width": 4, "n_blocks": 2, **params}
        return SoundCNNModel(**settings).fit(X, y).predict_proba(X)

    mixed = fitted(mixup=MIXUP)
    np.testing.assert_array_equal(fitted(mixup=MIXUP), mixed)  # seeded
    assert not np.allclose(fitted(mixup=0.0), mixed)
    np.testing.assert_array_equal(fitted(mixup=MIXUP, augment=False), fitted(augment=False))
    weights = np.where(y == 1, 2.0, 1.0)
    weighted = SoundCNNModel(task="binary", n_estimators=3, width=4, n_blocks=2, mixup=MIXUP)
    by_weight = weighted.fit(X, y, sample_weight=weights).predict_proba(X)
    assert np.isfinite(by_weight).all() and not np.allclose(by_weight, mixed)
    with pytest.raises(ConfigError, match="mixup=-1"):
        SoundCNNModel(task="binary", n_estimators=1, mixup=-1).fit(X, y)

"""Summary features of a sound for the tree and linear models: MFCCs (mean, spread,
extremes and how fast they change), the mean level of each mel band, loudness over time and
the duration, and the course of the sound: the MFCCs averaged over `N_SEGMENTS` equal parts
of its time, less their mean over the whole sound (cepstral mean normalisation, so a louder
recording or another microphone changes none of them). Computed from the log-mel
spectrograms of `assay.data._decode`; learned from nothing, so the same for any rows."""

from __future__ import annotations

import itertools

import numpy as np

N_MFCC = 20
N_SEGMENTS = 5  # the word's beginning, middle and end, as tree features
_STATS = ("mean", "std", "min", "max")


def sound_feature_names(prefix: str) -> list[str]:
    from assay.data._decode import N_MELS

    names = [f"{prefix}__mfcc{i}_{s}" for s in _STATS for i in range(N_MFCC)]
    names += [f"{prefix}__dmfcc{i}_std" for i in range(N_MFCC)]
    names += [f"{prefix}__mel{i}_mean" for i in range(N_MELS)]
    names += [f"{prefix}__level_{s}" for s in _STATS]
    names += [f"{prefix}__seconds"]
    names += [f"{prefix}__mfcc{i}_part{p}" for p in range(N_SEGMENTS) for i in range(N_MFCC)]
    return names


def segment_means(mfcc: np.ndarray, n_segments: int = N_SEGMENTS) -> np.ndarray:
    """(n_segments, n_coefficients) means of an (n_coefficients, frames) MFCC matrix over
    equal parts of its frames, each less the mean over all frames. A sound shorter than
    `n_segments` frames repeats its frames to fill the parts."""
    normalised = mfcc - mfcc.mean(axis=1, keepdims=True)
    n_frames = normalised.shape[1]
    if n_frames == 0:
        return np.zeros((n_segments, mfcc.shape[0]))
    edges = np.round(np.linspace(0, n_frames, n_segments + 1)).astype(int)
    parts = []
    for start, stop in itertools.pairwise(edges):
        first = min(start, n_frames - 1)
        parts.append(normalised[:, first : max(stop, first + 1)].mean(axis=1))
    return np.vstack(parts)


def sound_features(log_mel: np.ndarray | None) -> np.ndarray:
    """One row of features of an (N_MELS, frames) log-mel spectrogram in dB; NaN for a
    missing sound."""
    if log_mel is None:
        return np.full(len(sound_feature_names("")), np.nan)
    import librosa

    from assay.data._decode import HOP, SAMPLE_RATE

    mfcc = librosa.feature.mfcc(S=log_mel, n_mfcc=N_MFCC)
    summary = [mfcc.mean(axis=1), mfcc.std(axis=1), mfcc.min(axis=1), mfcc.max(axis=1)]
    change = np.diff(mfcc, axis=1) if mfcc.shape[1] > 1 else np.zeros((N_MFCC, 1))
    level = log_mel.max(axis=0)  # the loudest band of each frame, in dB
    seconds = log_mel.shape[1] * HOP / SAMPLE_RATE
    return np.concatenate(
        [
            *summary,
            change.std(axis=1),
            log_mel.mean(axis=1),
            [level.mean(), level.std(), level.min(), level.max(), seconds],
            segment_means(mfcc).ravel(),
        ]
    )

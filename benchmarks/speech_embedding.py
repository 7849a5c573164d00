"""The speech embedding alone on FSDD, each speaker held out in turn: the 96 columns
`assay.features._speech` gives a sound (the package's own decoding and embedding), one
logistic regression trained on the other four speakers and scored on the held-out one.
What the whole fit (benchmarks/media.py) would reach if only these columns counted, and
how the silence around each clip (`--padded`, seconds; the package's PADDED_SECONDS) moves
it.

    ASSAY_DATASETS=../shared/datasets .venv/bin/python benchmarks/speech_embedding.py
    .venv/bin/python benchmarks/speech_embedding.py --padded 1.0,1.5,2.0

One line per setting: each speaker's accuracy, then the mean, and the seconds spent
embedding the 2,500 clips.
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def _clips() -> tuple[list[str], np.ndarray, np.ndarray]:
    from assay.config import settings

    folder = settings().datasets / "audio" / "fsdd"
    if not folder.is_dir():
        raise SystemExit(f"FSDD not found at {folder}: set ASSAY_DATASETS")
    files = sorted(folder.glob("*.wav"))
    digits = np.array([int(f.name.split("_")[0]) for f in files])
    speakers = np.array([f.name.split("_")[1] for f in files])
    return [str(f) for f in files], digits, speakers


def _held_out_accuracy(X: np.ndarray, y: np.ndarray, groups: np.ndarray) -> dict[str, float]:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    scores = {}
    for speaker in sorted(set(groups)):
        train = groups != speaker
        model = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=3000))
        model.fit(X[train], y[train])
        scores[speaker] = float(np.mean(model.predict(X[~train]) == y[~train]))
    return scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--padded", default="1.5", help="seconds of clip and silence, comma-separated"
    )
    args = parser.parse_args()
    from assay.data._decode import decode_wave
    from assay.features import _speech

    files, digits, speakers = _clips()
    waves = [decode_wave(f) for f in files]
    for padded in [float(s) for s in args.padded.split(",")]:
        _speech.PADDED_SECONDS = padded
        started = time.monotonic()
        X = np.stack([_speech.speech_features(w) for w in waves])
        seconds = time.monotonic() - started
        scores = _held_out_accuracy(X, digits, speakers)
        shown = " ".join(f"{s} {a:.3f}" for s, a in scores.items())
        print(f"padded {padded:.2f} s: {shown}; mean {np.mean(list(scores.values())):.3f} "
              f"({seconds:.0f} s embedding {len(files):,} clips)")  # fmt: skip


if __name__ == "__main__":
    main()

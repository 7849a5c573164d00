"""One sound network alone on FSDD, each speaker held out in turn: the network's default
input (smoothed, stretched) trained a fixed number of epochs on the other four speakers and
scored on the held-out one, with changes to it that the package does not make, to see which
would be worth making. The whole fit is measured by benchmarks/media.py.

- `--seeds 0,1`: one network per seed, and their averaged probabilities;
- `--test-warps 0.95,1,1.05`: prediction averaged over the spectrogram warped in frequency
  by these factors (test-time augmentation, as another voice would shift it);
- `--time-bins T`: the head reads T means over time instead of one (the order of a word's
  sounds, where stretched clips line up);
- `--mixup A`: the network's `mixup` (each training batch mixed with itself in another
  order, the share drawn from Beta(A, A)); the package's default configs use `MIXUP`, and
  `--mixup 0` is the network without it;
- `--label-smoothing E`: cross-entropy against targets smoothed by E;
- `--lifter K`: the cepstral coefficients the smoothing keeps (the package's 20);
- `--noise P`: each training clip, with chance P, under a noise floor of random level and
  colour (hiss, hum), then normalised again, as another room or microphone would record it;
- `--bands B`: the network sees only the lowest B mel bands (the others set to their mean):
  FSDD's 8 kHz files hold no sound above 4 kHz, the top 15 of the 64 bands;
- `--pcen`: per-channel energy normalisation of the mel powers instead of their logarithm.

    ASSAY_DATASETS=../shared/datasets .venv/bin/python benchmarks/sound_network.py \\
        --speakers george,jackson,lucas,nicolas,theo --label-smoothing 0.1

One line per speaker and seed, then the mean over the speakers. One thread per process, so
two processes (different speakers) can run side by side on two cores.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd


def _splits(speakers: list[str]) -> list[tuple[str, pd.DataFrame, pd.DataFrame]]:
    """(speaker, the other speakers' rows, the speaker's rows), as benchmarks/media.py
    splits FSDD."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from media import fsdd_splits

    found = {name: (train, test) for name, train, test, *_ in fsdd_splits()}
    missing = [s for s in speakers if s not in found]
    if missing:
        raise SystemExit(
            f"no FSDD files of {missing} under the datasets folder (ASSAY_DATASETS); "
            f"speakers found: {sorted(found)}"
        )
    return [(s, *found[s]) for s in speakers]


def _noisy(torch, batch, generator, chance: float):
    """Each clip of a normalised batch, with `chance`, under a noise floor: its level 0.5 to
    3 spreads below each band's mean (about 6 to 36 dB), tilted across frequency by up to
    1.5 spreads either way (hiss rises, hum falls), jittered over time; added as powers
    add (a soft maximum in the log domain), then each band centred and the clip scaled to
    a spread of 1 again, as the package normalises a recording."""
    n, _, n_mels, n_frames = batch.shape

    def uniform(low: float, high: float):
        return low + (high - low) * torch.rand(n, generator=generator)

    bands = torch.linspace(-0.5, 0.5, n_mels)
    floor = -uniform(0.5, 3.0)[:, None] + uniform(-1.5, 1.5)[:, None] * bands[None, :]
    jitter = 0.15 * torch.randn(n, 1, n_mels, n_frames, generator=generator)
    sharp = 2.5  # ln(10) / 10 per dB, times about 12 dB: the spread of a clip
    noisy = torch.logaddexp(sharp * batch, sharp * (floor[:, None, :, None] + jitter)) / sharp
    noisy = noisy - noisy.mean(dim=3, keepdim=True)
    noisy = noisy / noisy.std(dim=(1, 2, 3), keepdim=True).clamp_min(1e-3)
    chosen = (torch.rand(n, generator=generator) < chance)[:, None, None, None]
    return torch.where(chosen, noisy, batch)


def _pcen(spectrum, n_kept):
    """In place of the package's smoothing (`smoothed_bands`): per-channel energy
    normalisation (librosa.pcen) of the clip's mel powers instead of their logarithm, each
    band's gain following its own recent level, which takes out a steady noise floor and
    the recording's loudness; the package then normalises and fits it to the frames."""
    import librosa

    from assay.data._decode import HOP, SAMPLE_RATE

    power = 10.0 ** (spectrum.astype(np.float64) / 10.0)
    return librosa.pcen(power * 2**31, sr=SAMPLE_RATE, hop_length=HOP).astype(np.float32)


def _variant(args):
    """The network class with the asked changes, built on SoundCNNModel."""
    import torch

    import assay.models._conv as conv
    import assay.models._media_cnn as media_cnn
    from assay.models._media_cnn import SoundCNNModel

    if args.pcen:
        media_cnn.smoothed_bands = _pcen

    if args.time_bins > 1:
        package_network = conv._network

        def network(torch, in_channels, n_out, width, n_blocks, dropout):
            """The package's network, its last pooling and head over time bins."""
            net = package_network(torch, in_channels, n_out, width, n_blocks, dropout)
            head = net[-1]
            net[-4] = torch.nn.AdaptiveAvgPool2d((1, args.time_bins))
            net[-1] = torch.nn.Linear(head.in_features * args.time_bins, head.out_features)
            return net

        conv._network = network

    def loss(torch, task, out, target, weight=None):
        return torch.nn.functional.cross_entropy(out, target, label_smoothing=args.label_smoothing)

    if args.label_smoothing:
        conv.batch_loss = loss

    class Variant(SoundCNNModel):
        warps = (1.0,)

        def _arrays(self, paths, fitting):
            arrays = super()._arrays(paths, fitting)
            if args.bands:
                arrays[:, :, args.bands :, :] = 0.0
            return arrays

        def _augmented(self, torch, batch, generator):
            if args.noise > 0:
                batch = _noisy(torch, batch, generator, args.noise)
            return super()._augmented(torch, batch, generator)

        def _test_views(self, batch):
            views = []
            for warp in self.warps:
                if warp == 1.0:
                    views.append(batch)
                    continue
                theta = torch.tensor([[1.0, 0.0, 0.0], [0.0, warp, 0.0]]).expand(len(batch), 2, 3)
                grid = torch.nn.functional.affine_grid(
                    theta, list(batch.shape), align_corners=False
                )
                views.append(
                    torch.nn.functional.grid_sample(
                        batch, grid, padding_mode="border", align_corners=False
                    )
                )
            return views

    Variant.warps = tuple(args.test_warps)
    return Variant


def main() -> None:
    from assay.models._media_cnn import MIXUP

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--speakers", default="george,jackson,lucas,nicolas,theo")
    parser.add_argument("--seeds", default="0")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--test-warps", default="1")
    parser.add_argument("--time-bins", type=int, default=1)
    parser.add_argument("--mixup", type=float, default=MIXUP)
    parser.add_argument("--label-smoothing", type=float, default=0.0)
    parser.add_argument("--lifter", type=int, default=20)
    parser.add_argument("--noise", type=float, default=0.0)
    parser.add_argument("--bands", type=int, default=0)
    parser.add_argument("--pcen", action="store_true")
    args = parser.parse_args()
    args.test_warps = [float(w) for w in args.test_warps.split(",")]
    import torch

    torch.set_num_threads(1)
    network = _variant(args)
    seeds = [int(s) for s in args.seeds.split(",")]
    scores = []
    for speaker, train, test in _splits(args.speakers.split(",")):
        truth, summed = test.digit.to_numpy(), 0.0
        for seed in seeds:
            started = time.monotonic()
            model = network(
                task="multiclass",
                n_estimators=args.epochs,
                random_state=seed,
                lifter=args.lifter,
                stretch=True,
                mixup=args.mixup,
            )
            model.fit(train[["file"]], train.digit.to_numpy())
            probs = model.predict_proba(test[["file"]])
            summed = summed + probs
            accuracy = float((probs.argmax(1) == truth).mean())
            print(f"{speaker} seed {seed}: {accuracy:.3f} ({time.monotonic() - started:.0f}s)")
        scores.append(float((np.asarray(summed).argmax(1) == truth).mean()))
        if len(seeds) > 1:
            print(f"{speaker} seeds averaged: {scores[-1]:.3f}", flush=True)
    print(f"mean over {len(scores)} speakers: {np.mean(scores):.3f}  ({vars(args)})")


if __name__ == "__main__":
    main()

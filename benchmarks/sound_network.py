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
- `--lifter K`: the cepstral coefficients the smoothing keeps (the package's 20).

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


def _variant(args):
    """The network class with the asked changes, built on SoundCNNModel."""
    import torch

    import assay.models._conv as conv
    from assay.models._media_cnn import SoundCNNModel

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

"""The two convolutional families of media columns: `ImageCNNModel` on the decoded
pictures (augmented with flips, small rotations, zooms and shifts; the flipped picture is
averaged in at prediction) and `SoundCNNModel` on log-mel spectrograms (each clip without
its recording's level and colour, `normalised_clip`; smoothed across frequency first when
its `lifter` says so, `smoothed_bands`; resampled in time to the network's frames when its
`stretch` says so, `fitted_frames`; augmented by warping, stretching and shifting, by
masking bands of time and frequency, as in SpecAugment, and by mixup)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from assay._types import FeatureType, Task
from assay.models._base import Model
from assay.models._conv import ConvModel
from assay.search._space import Choice, Distribution


def _stack(paths: list, kind: FeatureType) -> list:
    from assay.data._decode import decoded

    return [decoded(p, kind) if isinstance(p, str) and p.strip() else None for p in paths]


class ImageCNNModel(ConvModel):
    """A small CNN on the pictures of an image column, trained from scratch."""

    name = "image_cnn"
    kind = FeatureType.IMAGE

    def _arrays(self, paths: list, fitting: bool) -> np.ndarray:
        from assay.data._decode import IMAGE_SIDE

        blank = np.zeros((IMAGE_SIDE, IMAGE_SIDE, 3), dtype=np.uint8)
        images = [blank if a is None else a for a in _stack(paths, self.kind)]
        if not images:
            return np.zeros((0, 3, IMAGE_SIDE, IMAGE_SIDE), dtype=np.float32)
        return np.stack(images).transpose(0, 3, 1, 2).astype(np.float32) / 255.0

    def _augmented(self, torch, batch, generator):
        """Each picture flipped left-right half of the time, rotated by up to 12 degrees,
        zoomed by 0.9 to 1.1 and shifted by up to 8% of its side."""
        n = len(batch)

        def uniform(low: float, high: float):
            return low + (high - low) * torch.rand(n, generator=generator)

        angle = uniform(-12, 12) * math.pi / 180
        scale = uniform(0.9, 1.1)
        flip = torch.where(torch.rand(n, generator=generator) < 0.5, -1.0, 1.0)
        cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
        theta = torch.stack(
            [
                torch.stack([cos * flip, -sin, uniform(-0.16, 0.16)], dim=1),
                torch.stack([sin * flip, cos, uniform(-0.16, 0.16)], dim=1),
            ],
            dim=1,
        )
        grid = torch.nn.functional.affine_grid(theta, list(batch.shape), align_corners=False)
        return torch.nn.functional.grid_sample(
            batch, grid, padding_mode="border", align_corners=False
        )

    def _test_views(self, batch) -> list:
        return [batch, batch.flip(-1)] if self.augment else [batch]

    @classmethod
    def _input_shape(cls) -> tuple[int, int, int]:
        from assay.data._decode import IMAGE_SIDE

        return 3, IMAGE_SIDE, IMAGE_SIDE


_MAX_FRAMES = 640  # about 10 s: longer sound is cut for the network (not for its features)
_MIN_FRAMES = 16
LIFTER = 20  # cepstral coefficients the smoothing keeps (the search tries it and none)
# mixup's Beta parameter for the sound network: one network, 30 epochs, each FSDD speaker
# held out in turn, seed 0: 0.858 with it against 0.836 without, better on all five
# speakers (benchmarks/sound_network.py --mixup 0.4); chosen on FSDD, judged on FSDD. The
# whole 600 s fit went from 0.848 to 0.824, by the ensemble's weights on one speaker (the
# network alone 0.814 there, the ensemble 0.622): see the README's FSDD paragraph
MIXUP = 0.4


def smoothed_bands(spectrum: np.ndarray, n_kept: int) -> np.ndarray:
    """A (mels, frames) log-mel spectrogram without its fine detail across frequency: the
    first `n_kept` coefficients of its cosine transform over the mel bands (its MFCCs),
    transformed back (0: the spectrogram as it is). What stays is the envelope that tells
    one vowel from another; what goes is mostly the harmonics of the voice's pitch, which
    tell one speaker from another, and which tell one note or tone from another: for
    speech a gain (FSDD, leaving one speaker out: 0.787 -> 0.814), for pitch a loss."""
    if not n_kept or n_kept >= spectrum.shape[0]:
        return spectrum
    from scipy.fft import dct, idct

    coefficients = dct(spectrum, type=2, norm="ortho", axis=0)
    coefficients[n_kept:] = 0.0
    return idct(coefficients, type=2, norm="ortho", axis=0).astype(spectrum.dtype)


def fitted_frames(spectrum: np.ndarray, n_frames: int, stretch: bool) -> np.ndarray:
    """A (mels, frames) spectrogram as `n_frames` frames: with `stretch`, resampled in time
    to exactly that many (a word said fast or slow fills the same frames, so the network
    compares its sounds, not its speed); without, cut or padded at its end with its
    quietest value."""
    if stretch:
        if spectrum.shape[1] == 1:
            return np.repeat(spectrum, n_frames, axis=1)
        source = np.linspace(0.0, spectrum.shape[1] - 1.0, n_frames)
        left = np.floor(source).astype(int)
        right = np.minimum(left + 1, spectrum.shape[1] - 1)
        share = (source - left).astype(spectrum.dtype)
        return spectrum[:, left] * (1 - share) + spectrum[:, right] * share
    out = np.full((spectrum.shape[0], n_frames), spectrum.min(), dtype=spectrum.dtype)
    kept = spectrum[:, :n_frames]
    out[:, : kept.shape[1]] = kept
    return out


def normalised_clip(spectrum: np.ndarray) -> np.ndarray:
    """Each band less its mean over the clip (the microphone's colour), then the whole clip
    scaled to a spread of 1 (how loud it was recorded): what is left is how the sound
    changes, which is what tells a word, not the recording."""
    centred = spectrum - spectrum.mean(axis=1, keepdims=True)
    return centred / max(float(centred.std()), 1e-3)


class SoundCNNModel(ConvModel):
    """A small CNN on the log-mel spectrograms of a sound column, trained from scratch;
    `lifter` > 0 smooths them across frequency first (`smoothed_bands`), `stretch` resamples
    each clip in time to the network's frames (`fitted_frames`); `mixup` trains it on mixed
    pairs of clips (`MIXUP` in every default config)."""

    name = "sound_cnn"
    kind = FeatureType.AUDIO
    _FITTED = (*ConvModel._FITTED, "n_frames_")

    def __init__(
        self,
        *,
        task: Task | str = Task.BINARY,
        width: int = 16,
        n_blocks: int = 4,
        dropout: float = 0.2,
        learning_rate: float = 3e-3,
        weight_decay: float = 1e-4,
        batch_size: int = 64,
        augment: bool = True,
        mixup: float = 0.0,
        lifter: int = 0,
        stretch: bool = False,
        n_estimators: int | None = None,
        n_jobs: int = 1,
        random_state: int = 0,
    ) -> None:
        super().__init__(
            task=task,
            width=width,
            n_blocks=n_blocks,
            dropout=dropout,
            learning_rate=learning_rate,
            weight_decay=weight_decay,
            batch_size=batch_size,
            augment=augment,
            mixup=mixup,
            n_estimators=n_estimators,
            n_jobs=n_jobs,
            random_state=random_state,
        )
        self.lifter = lifter
        self.stretch = stretch

    @classmethod
    def search_space(cls, n_rows: int, n_features: int, task: Task) -> dict[str, Distribution]:
        return {
            **super().search_space(n_rows, n_features, task),
            "lifter": Choice((0, LIFTER), LIFTER),
            "stretch": Choice((True, False), True),
            "mixup": Choice((0.0, MIXUP), MIXUP),
        }

    @classmethod
    def default_configs(cls, task: Task) -> list[dict[str, Any]]:
        """Smoothed and stretched first (speech: words), then as it is (pitch and pace:
        notes, tones, machines)."""
        speech = (True, False, True)
        return [
            {**c, "lifter": LIFTER if s else 0, "stretch": s, "mixup": MIXUP}
            for c, s in zip(super().default_configs(task), speech, strict=True)
        ]

    def _arrays(self, paths: list, fitting: bool) -> np.ndarray:
        from assay.data._decode import N_MELS

        spectra = _stack(paths, self.kind)
        if fitting:  # long enough for nearly every clip of the training rows
            lengths = [s.shape[1] for s in spectra if s is not None] or [_MIN_FRAMES]
            frames = int(np.percentile(lengths, 95))
            self.n_frames_ = int(min(max(frames, _MIN_FRAMES), _MAX_FRAMES))
        out = np.empty((len(spectra), 1, N_MELS, self.n_frames_), dtype=np.float32)
        stretch = bool(self.stretch)
        for i, spectrum in enumerate(spectra):
            if spectrum is None or not spectrum.size:
                out[i] = 0.0
                continue
            kept = spectrum if stretch else spectrum[:, : self.n_frames_]
            clip = normalised_clip(smoothed_bands(kept, int(self.lifter)))
            out[i, 0] = fitted_frames(clip, self.n_frames_, stretch)
        return out

    def _augmented(self, torch, batch, generator):
        """Each spectrogram warped in frequency by up to 5% (as another voice would shift
        it; 12% was worse on FSDD's unseen speakers in a probe of one network, 0.834 to 0.848),
        stretched in time by up to 20% and shifted by up to a tenth of its frames, then two
        bands of up to 8 mels and two spans of up to a tenth of the frames set to the mean
        (SpecAugment)."""
        n, _, n_mels, n_frames = batch.shape

        def uniform(low: float, high: float):
            return low + (high - low) * torch.rand(n, generator=generator)

        zero = torch.zeros(n)
        theta = torch.stack(
            [
                torch.stack([uniform(0.8, 1.2), zero, uniform(-0.2, 0.2)], dim=1),
                torch.stack([zero, uniform(0.95, 1.05), zero], dim=1),
            ],
            dim=1,
        )
        grid = torch.nn.functional.affine_grid(theta, list(batch.shape), align_corners=False)
        batch = torch.nn.functional.grid_sample(
            batch, grid, padding_mode="border", align_corners=False
        )
        for size, axis in ((n_mels, 2), (n_frames, 3)):
            width = max(1, min(8, size // 8) if axis == 2 else size // 10)
            for _ in range(2):
                spans = torch.randint(0, width + 1, (n,), generator=generator)
                starts = torch.randint(0, max(1, size - width), (n,), generator=generator)
                for i in range(n):
                    start, span = int(starts[i]), int(spans[i])
                    if axis == 2:
                        batch[i, :, start : start + span, :] = 0.0
                    else:
                        batch[i, :, :, start : start + span] = 0.0
        return batch

    @classmethod
    def _input_shape(cls) -> tuple[int, int, int]:
        from assay.data._decode import N_MELS

        return 1, N_MELS, 96  # about 1.5 s of sound


def fits_data(model: type[Model], types: dict[str, FeatureType]) -> bool:
    """Whether a family can learn from data of these column types: the networks need a
    column of their kind of media; the others need nothing."""
    return model.kind is None or model.kind in types.values()

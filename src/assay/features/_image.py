"""Classic image features for the tree and linear models: colour statistics and
histograms, the shape of edges (HOG), texture (local binary patterns and grey-level
co-occurrence), and the picture itself at 16x16 in grey. Computed from the decoded square
RGB arrays of `assay.data._decode`; learned from nothing, so the same for any rows.
The light set (colour and thumbnail alone, a quarter of the time) is what a fit computes
when the whole set would not be ready in time."""

from __future__ import annotations

import numpy as np

_BINS = 8  # colour histogram bins per channel
_HOG_CELL = 16  # pixels per HOG cell: 4x4 cells on a 64-pixel side
_THUMB = 16  # side of the grey thumbnail
_LBP_POINTS, _LBP_RADIUS = 8, 1
_GLCM = ("contrast", "homogeneity", "energy", "correlation")


def image_feature_names(prefix: str) -> list[str]:
    names = [f"{prefix}__{s}_{c}" for s in ("mean", "std", "skew") for c in "rgb"]
    names += [f"{prefix}__hist_{c}{b}" for c in "rgb" for b in range(_BINS)]
    names += [f"{prefix}__hog{i}" for i in range(_n_hog())]
    names += [f"{prefix}__lbp{i}" for i in range(_LBP_POINTS + 2)]
    names += [f"{prefix}__glcm_{p}" for p in _GLCM]
    names += [f"{prefix}__px{i}" for i in range(_THUMB * _THUMB)]
    return names


def light_image_feature_names(prefix: str) -> list[str]:
    """The colour statistics, histograms and thumbnail: `image_feature_names` less the
    edge and texture columns, in the same order."""
    heavy = (f"{prefix}__hog", f"{prefix}__lbp", f"{prefix}__glcm_")
    return [n for n in image_feature_names(prefix) if not n.startswith(heavy)]


def _n_hog() -> int:
    from assay.data._decode import IMAGE_SIDE

    cells = IMAGE_SIDE // _HOG_CELL
    return (cells - 1) ** 2 * 4 * 9


def image_features(rgb: np.ndarray | None) -> np.ndarray:
    """One row of features of a (side, side, 3) uint8 image; NaN for a missing image."""
    if rgb is None:
        return np.full(len(image_feature_names("")), np.nan)
    from skimage.feature import graycomatrix, hog, local_binary_pattern

    grey = _grey(rgb)
    edges = hog(
        grey,
        orientations=9,
        pixels_per_cell=(_HOG_CELL, _HOG_CELL),
        cells_per_block=(2, 2),
        feature_vector=True,
    )
    levels = (grey * 255).astype(np.uint8)
    lbp = local_binary_pattern(levels, _LBP_POINTS, _LBP_RADIUS, method="uniform")
    lbp_hist = np.bincount(lbp.astype(int).ravel(), minlength=_LBP_POINTS + 2) / lbp.size
    co = graycomatrix(
        levels // 8, [1], [0, np.pi / 4, np.pi / 2, 3 * np.pi / 4], levels=32, normed=True
    )
    texture = _co_occurrence_properties(co[:, :, 0, :])
    return np.concatenate([_colour(rgb), edges, lbp_hist, texture, _thumbnail(grey)])


def light_image_features(rgb: np.ndarray | None) -> np.ndarray:
    """The `light_image_feature_names` columns of one image; NaN for a missing image."""
    if rgb is None:
        return np.full(len(light_image_feature_names("")), np.nan)
    return np.concatenate([_colour(rgb), _thumbnail(_grey(rgb))])


def _grey(rgb: np.ndarray) -> np.ndarray:
    return rgb.astype(np.float64) @ np.array([0.299, 0.587, 0.114]) / 255.0


def _thumbnail(grey: np.ndarray) -> np.ndarray:
    from skimage.transform import resize

    return resize(grey, (_THUMB, _THUMB), anti_aliasing=True).ravel()


def _colour(rgb: np.ndarray) -> np.ndarray:
    """Each channel's mean, spread and skew, then its histogram."""
    channels = rgb.reshape(-1, 3).T.astype(np.float64) / 255.0  # (3, pixels), contiguous
    mean = channels.mean(axis=1)
    centred = channels - mean[:, None]
    std = np.sqrt((centred * centred).mean(axis=1))
    skew = (centred * centred * centred).mean(axis=1) / np.maximum(std, 1e-6) ** 3
    # np.histogram's bins over (0, 1), 1.0 in the last: exact, as the edges are k/8
    bins = np.minimum((channels * _BINS).astype(np.intp), _BINS - 1)
    offsets = np.arange(3)[:, None] * _BINS
    hist = np.bincount((bins + offsets).ravel(), minlength=3 * _BINS) / channels.shape[1]
    return np.concatenate([mean, std, skew, hist])


def _co_occurrence_properties(co: np.ndarray) -> list[float]:
    """skimage's graycoprops `_GLCM` of a normalised (levels, levels, angles) matrix,
    each averaged over the angles, in one pass rather than one call a property."""
    n = co.shape[0]
    i, j = np.ogrid[:n, :n]
    i, j = i[..., None].astype(np.float64), j[..., None].astype(np.float64)
    gap = (i - j) ** 2
    contrast = (co * gap).sum(axis=(0, 1))
    homogeneity = (co / (1.0 + gap)).sum(axis=(0, 1))
    energy = np.sqrt((co * co).sum(axis=(0, 1)))
    mean_i, mean_j = (i * co).sum(axis=(0, 1)), (j * co).sum(axis=(0, 1))
    std_i = np.sqrt((co * (i - mean_i) ** 2).sum(axis=(0, 1)))
    std_j = np.sqrt((co * (j - mean_j) ** 2).sum(axis=(0, 1)))
    cov = (co * (i - mean_i) * (j - mean_j)).sum(axis=(0, 1))
    flat = (std_i < 1e-15) | (std_j < 1e-15)  # skimage: a constant image correlates fully
    correlation = np.where(flat, 1.0, cov / np.where(flat, 1.0, std_i * std_j))
    return [float(v.mean()) for v in (contrast, homogeneity, energy, correlation)]

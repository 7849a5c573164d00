"""Classic image features for the tree and linear models: colour statistics and
histograms, the shape of edges (HOG), texture (local binary patterns and grey-level
co-occurrence), and the picture itself at 16x16 in grey. Computed from the decoded square
RGB arrays of `assay.data._decode`; learned from nothing, so the same for any rows."""

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


def _n_hog() -> int:
    from assay.data._decode import IMAGE_SIDE

    cells = IMAGE_SIDE // _HOG_CELL
    return (cells - 1) ** 2 * 4 * 9


def image_features(rgb: np.ndarray | None) -> np.ndarray:
    """One row of features of a (side, side, 3) uint8 image; NaN for a missing image."""
    if rgb is None:
        return np.full(len(image_feature_names("")), np.nan)
    from skimage.feature import graycomatrix, graycoprops, hog, local_binary_pattern
    from skimage.transform import resize

    pixels = rgb.reshape(-1, 3).astype(np.float64) / 255.0
    mean, std = pixels.mean(axis=0), pixels.std(axis=0)
    skew = ((pixels - mean) ** 3).mean(axis=0) / np.maximum(std, 1e-6) ** 3
    hist = [np.histogram(pixels[:, c], bins=_BINS, range=(0, 1))[0] / len(pixels) for c in range(3)]
    grey = rgb.astype(np.float64) @ np.array([0.299, 0.587, 0.114]) / 255.0
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
    texture = [float(graycoprops(co, p).mean()) for p in _GLCM]
    thumb = resize(grey, (_THUMB, _THUMB), anti_aliasing=True).ravel()
    return np.concatenate([mean, std, skew, *hist, edges, lbp_hist, texture, thumb])

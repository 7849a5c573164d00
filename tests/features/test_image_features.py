"""The image summary features computed in one pass equal what scikit-image, NumPy and
SciPy compute one call at a time: colour moments, histograms and co-occurrence texture."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("skimage")

from assay.features._image import _BINS, _GLCM, image_feature_names, image_features


def _images() -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    ramp = np.linspace(0, 255, 64).astype(np.uint8)
    images = [rng.integers(0, 256, (64, 64, 3)).astype(np.uint8) for _ in range(5)]
    images.append(np.stack([np.tile(ramp, (64, 1))] * 3, axis=-1))  # grey gradient
    images.append(np.repeat(rng.integers(0, 40, (64, 64, 1)), 3, axis=-1).astype(np.uint8))
    images.append(np.full((64, 64, 3), 255, dtype=np.uint8))  # white: constant texture
    return images


@pytest.mark.parametrize("index", range(8))
def test_one_pass_features_equal_the_libraries_one_call_at_a_time(index: int) -> None:
    from scipy.stats import skew
    from skimage.feature import graycomatrix, graycoprops

    rgb = _images()[index]
    row = dict(zip(image_feature_names("x"), image_features(rgb), strict=True))
    pixels = rgb.reshape(-1, 3).astype(np.float64) / 255.0
    for c, name in enumerate("rgb"):
        counts = np.histogram(pixels[:, c], bins=_BINS, range=(0, 1))[0] / len(pixels)
        assert [row[f"x__hist_{name}{b}"] for b in range(_BINS)] == pytest.approx(counts)
        assert row[f"x__mean_{name}"] == pytest.approx(pixels[:, c].mean())
        assert row[f"x__std_{name}"] == pytest.approx(pixels[:, c].std())
        if pixels[:, c].std() > 0:
            assert row[f"x__skew_{name}"] == pytest.approx(skew(pixels[:, c]), abs=1e-9)
        else:
            assert row[f"x__skew_{name}"] == 0
    grey = rgb.astype(np.float64) @ np.array([0.299, 0.587, 0.114]) / 255.0
    levels = (grey * 255).astype(np.uint8)
    angles = [0, np.pi / 4, np.pi / 2, 3 * np.pi / 4]
    co = graycomatrix(levels // 8, [1], angles, levels=32, normed=True)
    for prop in _GLCM:
        assert row[f"x__glcm_{prop}"] == pytest.approx(float(graycoprops(co, prop).mean()))


def test_a_missing_image_is_a_row_of_nan() -> None:
    row = image_features(None)
    assert row.shape == (len(image_feature_names("x")),) and np.isnan(row).all()


def test_the_light_set_is_the_whole_set_less_edges_and_texture() -> None:
    from assay.features._image import light_image_feature_names, light_image_features

    names, light = image_feature_names("x"), light_image_feature_names("x")
    assert len(light) == 33 + 16 * 16 and not any("hog" in n or "glcm" in n for n in light)
    for rgb in _images():
        whole = dict(zip(names, image_features(rgb), strict=True))
        assert light_image_features(rgb) == pytest.approx([whole[n] for n in light], abs=1e-12)
    assert np.isnan(light_image_features(None)).all()


def test_a_fit_that_kept_the_light_set_transforms_with_it_after_loading(tmp_path) -> None:
    import json

    import pandas as pd

    from assay._types import FeatureType, Task
    from assay.evaluate import make_folds
    from assay.features import DerivedFeatures
    from assay.features._image import light_image_feature_names
    from assay.testing._toy_media import write_image

    paths = [str(write_image(tmp_path / f"{i}.png", i / 12, np.random.default_rng(i)))
             for i in range(12)]  # fmt: skip
    X, y = pd.DataFrame({"photo": paths}), np.arange(12) % 2
    derived = DerivedFeatures({"photo": FeatureType.IMAGE}, Task.BINARY, embed=False)
    whole = derived.fit_transform(X, y, make_folds(y, Task.BINARY, 2, 0), deadline=1e12)
    derived.save(tmp_path / "fitted")
    # as a fit writes it when the whole set would have missed its deadline
    spec_file = tmp_path / "fitted" / "derived.json"
    spec = json.loads(spec_file.read_text())
    light = light_image_feature_names("photo")
    spec.update(featured_media=[], light_media=["photo"], columns=light)
    spec_file.write_text(json.dumps(spec))
    loaded = DerivedFeatures.load(tmp_path / "fitted")
    out = loaded.transform(X)
    assert list(out.columns) == light
    np.testing.assert_allclose(out.to_numpy(), whole[light].to_numpy())

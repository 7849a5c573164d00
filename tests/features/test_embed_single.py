"""A single text, as one row of a prediction request brings, is embedded without a file in
the cache folder; two or more are cached as before."""

import numpy as np
import pytest

pytest.importorskip("sentence_transformers", reason="needs the text extra")

from assay.features import embed_texts


def test_a_single_text_is_not_cached_two_are(tmp_path):
    one = embed_texts(["the parcel came a day late"], cache_dir=tmp_path)
    assert one.shape == (1, 384)
    assert list(tmp_path.iterdir()) == []
    two = embed_texts(["the parcel came a day late", "fine"], cache_dir=tmp_path)
    assert len(list(tmp_path.glob("*.npy"))) == 1
    np.testing.assert_allclose(two[0], one[0], atol=1e-5)

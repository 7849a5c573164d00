"""Columns derived before the search: text, pairs and date differences."""

import numpy as np
import pandas as pd
import pytest

from assay import FeatureType, Task
from assay.evaluate import make_folds
from assay.features import DerivedFeatures
from assay.features._text import TextColumnFeatures
from assay.testing import toy_reviews


def reviews(n: int, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    frame = toy_reviews(n, seed)
    return frame[["review"]].assign(x=np.random.default_rng(seed).normal(size=n)), frame[
        "stars"
    ].to_numpy()


def test_text_score_is_out_of_fold_and_predictive():
    X, y = reviews(300)
    folds = make_folds(y, Task.BINARY, 5, 0)
    features = TextColumnFeatures("review", Task.BINARY)
    out = features.fit_transform(X, y, folds)
    score = out["review__tfidf_score"].to_numpy()
    assert ((score > 0.5) == y).mean() > 0.9  # the words decide the label
    assert sum(c.startswith("review__svd") for c in out.columns) > 1
    # A training row's score comes from the fold model that did not see the row: flipping
    # the labels of one fold's rows changes no score in that fold.
    valid = folds[0][1]
    flipped = y.copy()
    flipped[valid] = 1 - flipped[valid]
    again = TextColumnFeatures("review", Task.BINARY).fit_transform(X, flipped, folds)
    np.testing.assert_allclose(again["review__tfidf_score"].to_numpy()[valid], score[valid])
    # New rows are scored by the model fitted on all rows.
    new = features.transform(X.iloc[:20])
    assert list(new.columns) == list(out.columns)


def test_multiclass_and_regression_scores():
    X, y = reviews(200)
    y3 = (y + (X["x"] > 1).to_numpy()).astype(int)
    folds = make_folds(y3, Task.MULTICLASS, 3, 0)
    out = TextColumnFeatures("review", Task.MULTICLASS).fit_transform(X, y3, folds)
    assert [c for c in out.columns if "score" in c] == [f"review__tfidf_score{i}" for i in range(3)]
    folds = make_folds(y.astype(float), Task.REGRESSION, 3, 0)
    out = TextColumnFeatures("review", Task.REGRESSION).fit_transform(X, y * 2.0, folds)
    assert np.corrcoef(out["review__tfidf_score"], y)[0, 1] > 0.8


def test_derived_features_round_trip(tmp_path):
    X, y = reviews(120)
    X["q1"] = X["review"]
    X["q2"] = X["review"].str.upper().where(y == 1, "nothing alike here at all")
    X["start"] = pd.date_range("2024-01-01", periods=len(X), freq="D").astype(str)
    X["end"] = pd.date_range("2024-03-01", periods=len(X), freq="2D").astype(str)
    types = {
        "review": FeatureType.TEXT,
        "x": FeatureType.NUMERIC,
        "q1": FeatureType.TEXT,
        "q2": FeatureType.TEXT,
        "start": FeatureType.DATETIME,
        "end": FeatureType.DATETIME,
    }
    derived = DerivedFeatures(types, Task.BINARY, pairs=[("q1", "q2")], embed=False)
    assert derived.text_columns == ["review"]
    out = derived.fit_transform(X, y, make_folds(y, Task.BINARY, 3, 0))
    gap = out["start__minus__end__days"].to_numpy()
    np.testing.assert_allclose(gap, -(60 + np.arange(len(X))))  # 2024 is a leap year
    overlap = [c for c in out.columns if c.startswith("q1~q2__") and "jaccard" in c]
    assert overlap and out.loc[y == 1, overlap[0]].mean() > out.loc[y == 0, overlap[0]].mean()
    score = out["q1~q2__pair_score"].to_numpy()
    assert ((score > 0.5) == y).mean() > 0.9
    assert set(derived.feature_types().values()) == {FeatureType.NUMERIC}
    derived.save(tmp_path / "derived")
    loaded = DerivedFeatures.load(tmp_path / "derived")
    pd.testing.assert_frame_equal(loaded.transform(X), derived.transform(X))


def test_text_features_saved_before_vocabularies_became_arrays_still_load(tmp_path):
    import skops.io as sio

    X, y = reviews(120)
    features = TextColumnFeatures("review", Task.BINARY)
    features.fit_transform(X, y, make_folds(y, Task.BINARY, 3, 0))
    features.save(tmp_path / "new.skops")
    sio.dump([features.vectorizer_, features.svd_, features.linear_], tmp_path / "old.skops")
    for name in ("new.skops", "old.skops"):
        loaded = TextColumnFeatures.load(tmp_path / name, "review", Task.BINARY)
        pd.testing.assert_frame_equal(loaded.transform(X), features.transform(X))
    assert features.vectorizer_.transformer_list[0][1].vocabulary_  # left as it was


def test_nothing_to_derive_for_a_plain_table():
    types = {"x": FeatureType.NUMERIC, "c": FeatureType.CATEGORICAL}
    assert DerivedFeatures(types, Task.BINARY, embed=False).is_empty


def test_embeddings_are_cached_by_content(tmp_path):
    pytest.importorskip("sentence_transformers", reason="needs the text extra")
    from assay.features import embed_texts

    texts = ["a cat sat on the mat", "stocks fell sharply today", "a cat sat on the mat"]
    seen = []
    vectors = embed_texts(texts, cache_dir=tmp_path, progress=lambda d, n: seen.append((d, n)))
    assert vectors.shape == (3, 384)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(vectors[0], vectors[2])
    assert seen[-1] == (2, 2)  # two distinct texts encoded
    assert len(list(tmp_path.glob("*.npy"))) == 1
    seen.clear()
    np.testing.assert_array_equal(embed_texts(texts, cache_dir=tmp_path, progress=None), vectors)
    cat, stocks = vectors[0], vectors[1]
    kitten = embed_texts(["a kitten is sitting on a rug"])[0]
    assert kitten @ cat > kitten @ stocks


def test_pair_score_is_out_of_fold():
    from assay.features._pair_score import PairLinearScore
    from assay.testing import toy_paraphrases

    pairs = toy_paraphrases(200)
    y = pairs["label"].to_numpy()
    folds = make_folds(y, Task.BINARY, 4, 0)
    a, b = pairs["sentence1"], pairs["sentence2"]
    first = PairLinearScore("p", Task.BINARY).fit_transform(a, b, y, folds)["p__pair_score"]
    valid = folds[1][1]
    flipped = y.copy()
    flipped[valid] = 1 - flipped[valid]
    again = PairLinearScore("p", Task.BINARY).fit_transform(a, b, flipped, folds)["p__pair_score"]
    np.testing.assert_allclose(again.to_numpy()[valid], first.to_numpy()[valid])
    assert not np.allclose(again.to_numpy(), first.to_numpy())  # other folds did change


def entailed_or_extended(n: int, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """Pairs where one side is the other plus two words: label 1 when a has the extra
    words (b says less than a), 0 when b has them. Every symmetric measure is alike in
    both classes; only which side holds the extra words tells them apart."""
    rng = np.random.default_rng(seed)
    vocabulary = [f"w{i}" for i in range(40)]
    rows, y = [], rng.integers(0, 2, n)
    for label in y:
        words = rng.choice(vocabulary, 8, replace=False).tolist()
        short, long = " ".join(words[:6]), " ".join(words)
        rows.append((long, short) if label else (short, long))
    return pd.DataFrame(rows, columns=["premise", "hypothesis"]), y


def test_ordered_pair_features_tell_which_side_says_more():
    X, y = entailed_or_extended(300)
    types = {"premise": FeatureType.TEXT, "hypothesis": FeatureType.TEXT}
    derived = DerivedFeatures(types, Task.BINARY, pairs=[("premise", "hypothesis")], embed=False)
    out = derived.fit_transform(X, y, make_folds(y, Task.BINARY, 4, 0))
    prefix = "premise~hypothesis__"
    ordered = out[prefix + "ordered_pair_score"].to_numpy()
    symmetric = out[prefix + "pair_score"].to_numpy()
    assert ((ordered > 0.5) == y).mean() > 0.9  # out of fold
    assert ((symmetric > 0.5) == y).mean() < 0.7  # the symmetric score cannot tell
    np.testing.assert_array_equal(out[prefix + "pair__b_only_content"], np.where(y, 0, 2))


def test_pairs_saved_before_ordered_features_still_load(tmp_path):
    import json

    X, y = entailed_or_extended(80)
    types = {"premise": FeatureType.TEXT, "hypothesis": FeatureType.TEXT}
    derived = DerivedFeatures(types, Task.BINARY, pairs=[("premise", "hypothesis")], embed=False)
    derived.fit_transform(X, y, make_folds(y, Task.BINARY, 3, 0))
    derived.save(tmp_path)
    # as saved before: no ordered score file, no ordered columns, no "ordered_pairs" key
    (tmp_path / "pair_0_ordered.skops").unlink()
    spec = json.loads((tmp_path / "derived.json").read_text())
    old = [c for c in spec.pop("columns") if "ordered" not in c and "__pair__a_" not in c]
    old = [c for c in old if "__pair__b_" not in c and not c.endswith("negations_differ")]
    spec.pop("ordered_pairs")
    (tmp_path / "derived.json").write_text(json.dumps({**spec, "columns": old}))
    loaded = DerivedFeatures.load(tmp_path)
    assert not loaded.ordered_pairs
    pd.testing.assert_frame_equal(loaded.transform(X), derived.transform(X)[old])

"""Derived text features under a time limit: embeddings that would not fit in their share
of the budget are left out, said so, and never computed at prediction; the fit still ends
with a model, in time."""

import numpy as np
import pandas as pd
import pytest

from assay import load
from assay.automl import AutoML
from assay.features import embeddings_available
from assay.store import TrialState, open_store
from assay.testing import toy_reviews

pytestmark = pytest.mark.skipif(not embeddings_available(), reason="needs the `text` extra")

BUDGET_S = 20.0
_FILL = ["the", "film", "was", "a", "story", "with", "actors", "and", "plot", "that", "went", "on"]


def long_reviews(n_rows: int, seed: int = 0) -> pd.DataFrame:
    """Reviews of 150 words (about 700 characters) whose one telling word gives the label:
    cheap for TF-IDF and a linear model, dear for a sentence encoder."""
    rng = np.random.default_rng(seed)
    stars = rng.integers(0, 2, n_rows)
    texts = []
    for label in stars:
        words = [*rng.choice(_FILL, 149), "superb" if label else "tedious"]
        rng.shuffle(words)
        texts.append(" ".join(words))
    return pd.DataFrame({"review": texts, "stars": stars})


def test_embeddings_beyond_the_budget_are_skipped_and_the_fit_ends_in_time(assay_home, tmp_path):
    # 3,000 distinct reviews of 700 characters: even at the fastest (0.5 ms a text and
    # 10 us a character, plus 3 s to load the encoder) embedding them alone takes longer
    # than the whole budget (a real two-core machine needs minutes), while their TF-IDF
    # features and linear models take seconds
    train = long_reviews(3000)
    assert train["review"].nunique() == 3000
    url = f"sqlite:///{tmp_path / 'assay.db'}"
    automl = AutoML(time_limit_s=BUDGET_S, embed=True, stack="off", store=url)
    automl.fit(train, "stars")

    predictor = automl.predictor_
    # +5% is the aim; on a busy machine the fixed costs at the end of a fit (the first
    # checkpoint, the ensemble) may outrun its reserve by a few seconds
    assert automl.fit_time_s_ <= 1.25 * BUDGET_S
    # every family may run, the boosters too; the fast linear model runs first and ends
    first = open_store(url).trials(automl.run_id_)[0]
    assert first.model == "linear" and first.state is TrialState.COMPLETE
    assert len(predictor.members) >= 1
    skipped = predictor.info["derived"]["skipped"]
    assert list(skipped) == ["embeddings of 'review'"]
    assert "3,000 distinct texts" in skipped["embeddings of 'review'"]
    assert predictor.info["derived"]["embedded"] == []
    assert any("embeddings of 'review' skipped" in w for w in predictor.info["warnings"])
    assert not any("__emb" in c for c in predictor.derived.columns_)
    assert any(c.startswith("review__tfidf_score") for c in predictor.derived.columns_)

    # Prediction, also from the saved predictor, uses what was derived and embeds nothing:
    # every embedding goes through the cache folder, which stays empty.
    test = long_reviews(300, seed=1)
    assert (predictor.predict(test) == test["stars"]).mean() > 0.9
    loaded = load(predictor.save(tmp_path / "p"))
    assert (loaded.predict(test) == predictor.predict(test)).all()
    assert loaded.info["derived"]["skipped"] == skipped
    cache = assay_home / "cache" / "embeddings"
    assert not cache.exists() or not any(cache.iterdir())


def test_embeddings_within_the_budget_are_kept(assay_home):
    """The same plan keeps embeddings that fit: a few hundred short texts and no limit."""
    train = toy_reviews(200)
    automl = AutoML(n_trials=1, embed=True, models=["linear"], stack="off", store=False)
    predictor = automl.fit(train, "stars").predictor_
    assert predictor.info["derived"]["skipped"] == {}
    assert predictor.info["derived"]["embedded"] == ["review"]
    assert sum("review__emb" in c for c in predictor.derived.columns_) == 384
    assert len(list((assay_home / "cache" / "embeddings").glob("*.npy"))) == 1

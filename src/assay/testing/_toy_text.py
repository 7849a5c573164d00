"""Small deterministic text data: a review column whose label only its words tell, with a
date column, and sentence pairs that are paraphrases (the same words reordered) or not."""

from __future__ import annotations

import numpy as np
import pandas as pd

_GOOD = ["great", "wonderful", "superb", "delightful", "charming", "brilliant"]
_BAD = ["awful", "dreadful", "boring", "terrible", "tedious", "clumsy"]
_FILL = ["the", "film", "was", "a", "story", "with", "actors", "and", "plot", "that", "went"]
_NEWS = ["market", "price", "rose", "fell", "sharply", "today", "company", "shares", "bank"]


def toy_reviews(n_rows: int = 300, seed: int = 0) -> pd.DataFrame:
    """Columns review (text), posted (date as text), stars (0/1: one telling word)."""
    rng = np.random.default_rng(seed)
    stars = rng.integers(0, 2, n_rows)
    texts = []
    for label in stars:
        words = [*rng.choice(_FILL, 7), rng.choice(_GOOD if label else _BAD)]
        rng.shuffle(words)
        texts.append(" ".join(words))
    posted = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 700, n_rows), unit="D")
    return pd.DataFrame({"review": texts, "posted": posted.astype(str), "stars": stars})


def toy_paraphrases(n_rows: int = 300, seed: int = 0) -> pd.DataFrame:
    """Columns sentence1, sentence2, label (1: sentence2 is sentence1 reversed)."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n_rows):
        first = list(rng.choice(_NEWS, 6))
        same = i % 2 == 0
        second = first[::-1] if same else list(rng.choice(_NEWS, 6))
        rows.append((" ".join(first), " ".join(second), int(same)))
    return pd.DataFrame(rows, columns=["sentence1", "sentence2", "label"])

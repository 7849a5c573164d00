"""How a trial's config reads in the leaderboard: small floats keep their value."""

from __future__ import annotations

from assay.automl._assemble import _short


def test_small_learning_rates_are_not_rounded_away():
    text = _short({"learning_rate": 5e-05, "dropout": 0.123456, "pairs": "cross", "depth": 6})
    assert text == "learning_rate=5e-05, dropout=0.1235, pairs=cross, depth=6"

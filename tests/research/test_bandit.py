"""The search proposer's bandit: families of operators chosen by the gains measured in
this workspace, a share kept for exploration, and a reason with every proposal."""

from __future__ import annotations

from collections import Counter

import numpy as np

from assay.research import ProposalContext, SearchProposer
from assay.research._bandit import FAMILY_OF, choose_family, measured_gains
from assay.research._init import template
from assay.research._proposers import operator_of

PIPELINE = template("pipeline.py")


def line(description: str, score: float, status: str = "discard") -> dict:
    return {"description": description, "score": score, "status": status, "source": "search"}


LEDGER = [
    {"description": "baseline", "score": 0.80, "status": "baseline", "source": "baseline"},
    line("stack: auto -> off", 0.79),
    line("features: + row-wise missing count", 0.83, "keep"),
    line("n_folds: auto -> 5", 0.829),
    line("features: + ratios of the top numerics", 0.85, "keep"),
    line("models: - knn", 0.84),
    line("portfolio: default -> handmade", 0.845),
    line("single model: lightgbm (its first default config)", 0.82),
    line("lightgbm: num_leaves 31 -> 63", 0.83),
]


def test_gains_are_read_from_the_ledger_against_the_best_before_each_line():
    gains = measured_gains(LEDGER, greater_is_better=True, operator_of=operator_of)
    assert np.allclose(gains["features"], [0.03, 0.02])
    assert np.allclose(gains["ensembling"], [-0.01]) and np.allclose(gains["validation"], [-0.001])
    assert np.allclose(gains["models"], [-0.01, -0.005, -0.03]) and np.allclose(
        gains["tuning"], [-0.02]
    )
    lower = [{**e, "score": -e["score"]} for e in LEDGER]  # rmse-like: lower is better
    assert measured_gains(lower, False, operator_of) == gains


def test_untried_families_first_then_the_best_bound_with_some_exploration():
    rng = np.random.default_rng(0)
    families = {"features", "models", "tuning", "ensembling", "validation"}
    assert choose_family({"features": [0.1]}, families, rng)[0] != "features"
    gains = measured_gains(LEDGER, True, operator_of)
    picks = Counter(choose_family(gains, families, rng)[0] for _ in range(1000))
    assert picks["features"] > 700  # the best upper bound, most of the time
    assert sum(picks.values()) - picks["features"] > 100  # exploration: about a fifth
    family, why = choose_family(gains, families, np.random.default_rng(3), explore=0.0)
    assert family == "features" and why.startswith("features gained +0.025 on average over 2")


def test_the_proposer_follows_the_gains_and_says_why():
    proposer = SearchProposer(0)
    ctx = ProposalContext("program", PIPELINE, LEDGER, None, "auc", True)
    changes = [proposer.propose(ctx) for _ in range(6)]  # five feature steps to add
    families = Counter(FAMILY_OF[operator_of(c.description)] for c in changes)
    assert families["features"] >= 4, families
    assert all(c.why for c in changes)
    assert any(c.why.startswith("features gained") for c in changes)


def test_once_the_best_familys_changes_are_all_tried_the_next_best_is_exploited():
    """Five feature steps can be added; after them the features family has nothing new.
    The proposer must then exploit the family with the next-best bound, not fall through
    to random draws (the exploration share stays about a fifth)."""
    proposer = SearchProposer(0)
    ctx = ProposalContext("program", PIPELINE, LEDGER, None, "auc", True)
    changes = [proposer.propose(ctx) for _ in range(30)]
    later = [c for c in changes[8:] if c is not None]
    exploring = [c for c in later if c.why.startswith("exploring")]
    assert len(later) >= 15 and len(exploring) <= 0.4 * len(later), [c.why for c in later]
    assert any("the best upper bound" in c.why and not c.why.startswith("features") for c in later)

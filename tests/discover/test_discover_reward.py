"""The reward model ranks unseen hypotheses; selection keeps the top-k from collapsing."""

import math
import os

import numpy as np
import pytest

from assay.discover._reward import CodeFeatures, RewardModel, code_tokens, heldout_correlations
from assay.discover._select import collapse, select_diverse
from assay.discover._spec import BASELINE_CODE, Hypothesis, Kind
from assay.errors import AssayError

GRID = np.linspace(-5, 5, 64)


def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


# Five families of activations; each parameter value gives one hypothesis whose numpy
# twin computes its fingerprint on GRID.
TEMPLATES = [
    ("x * torch.sigmoid({p} * x)", lambda x, p: x * _sigmoid(p * x), np.linspace(0.3, 4, 16)),
    ("torch.tanh(x) + {p} * x", lambda x, p: np.tanh(x) + p * x, np.linspace(-0.5, 1.5, 16)),
    ("torch.relu(x) ** {p}", lambda x, p: np.maximum(x, 0) ** p, np.linspace(0.5, 2, 16)),
    (
        "torch.nn.functional.softplus({p} * x) / {p}",
        lambda x, p: np.logaddexp(0, p * x) / p,
        np.linspace(0.3, 4, 16),
    ),
    ("torch.sin({p} * x) + x", lambda x, p: np.sin(p * x) + x, np.linspace(0.1, 3, 16)),
]


def activation(body: str) -> Hypothesis:
    return Hypothesis(Kind.ACTIVATION, f"def activation(x):\n    return {body}\n", "grammar")


def synthetic(seed: int = 0, noise: float = 0.3):
    """80 hypotheses, their fingerprints and a reward that is the closeness of the
    behaviour to swish plus noise at `noise` x the reward's spread."""
    swish = GRID * _sigmoid(GRID)
    hypotheses, fingerprints, rewards = [], [], []
    for template, numpy_twin, params in TEMPLATES:
        for p in params:
            p = round(float(p), 3)
            hypotheses.append(activation(template.format(p=p)))
            fingerprints.append(numpy_twin(GRID, p))
            rewards.append(-np.sqrt(np.mean((fingerprints[-1] - swish) ** 2)))
    rewards = np.asarray(rewards)
    rewards += noise * rewards.std() * np.random.default_rng(seed).normal(size=len(rewards))
    return hypotheses, fingerprints, rewards


def test_code_tokens_see_calls_operators_constants_and_bigrams():
    tokens = code_tokens(BASELINE_CODE[Kind.ACTIVATION]["silu"])
    assert "torch.sigmoid" in tokens and "Mult" in tokens
    assert "Mult>Call" in tokens  # the bigram of consecutive tokens in the walk
    assert "torch.nn.functional.gelu" in code_tokens(BASELINE_CODE[Kind.ACTIVATION]["gelu"])
    assert "np.exp" in code_tokens("def f(x):\n    return np.exp(x) ** 2\n")
    assert "Pow" in code_tokens("def f(x):\n    return np.exp(x) ** 2\n")
    # Renaming a variable changes nothing; nearby constants share a bucket, distant do not.
    assert code_tokens("def a(x):\n    return x * 1.02\n") == code_tokens(
        "def a(y):\n    return y * 0.98\n"
    )
    assert "const:1" in code_tokens("def a(x):\n    return x * 1.02\n")
    assert "const:small" in code_tokens("def a(x):\n    return x * 0.001\n")
    assert "const:1" not in code_tokens("def a(x):\n    return x * 0.001\n")
    assert code_tokens("def broken(:\n") == ["SyntaxError"]


def test_code_features_layout():
    hypotheses, fingerprints, _ = synthetic()
    features = CodeFeatures(n_hash=32, n_fingerprint=16, embed=False)
    X = features.transform(hypotheses[:3], [fingerprints[0], None, fingerprints[2][::3]])
    assert X.shape == (3, 32 + 16 + 3) == (3, features.dim)
    assert np.isfinite(X).all()
    assert (X[:, :32] > 0).any(axis=1).all()  # every code has tokens
    assert not X[1, 32:].any()  # no fingerprint: zeros
    shape = X[0, 32 : 32 + 16]
    assert abs(shape.mean()) < 1e-9 and abs(shape.std() - 1) < 1e-9  # standardized
    assert X[2, -1] == 1.0  # a shorter fingerprint is resampled, and flagged present
    # Exploding or non-finite outputs do not break the features.
    wild = CodeFeatures(embed=False).transform(hypotheses[:1], [np.array([1e30, np.nan, 0.0])])
    assert np.isfinite(wild).all()
    with pytest.raises(AssayError, match="one fingerprint"):
        features.transform(hypotheses[:2], fingerprints[:1])


def test_reward_model_ranks_held_out_hypotheses():
    hypotheses, fingerprints, rewards = synthetic()
    result = heldout_correlations(hypotheses, fingerprints, rewards, embed=False)
    assert result["n"] == 80
    assert result["spearman"] > 0.6
    assert result["kendall_tau"] > 0.45
    assert result["pearson"] > 0.5
    assert result["p_kendall"] < 1e-6
    # The same code and behaviour with the rewards shuffled: nothing left to learn.
    shuffled = np.random.default_rng(1).permutation(rewards)
    null = heldout_correlations(hypotheses, fingerprints, shuffled, embed=False)
    assert abs(null["spearman"]) < 0.3 and abs(null["kendall_tau"]) < 0.2


def test_heldout_correlations_are_nan_without_enough_signal():
    hypotheses, fingerprints, rewards = synthetic()
    few = heldout_correlations(hypotheses[:9], fingerprints[:9], rewards[:9], embed=False)
    assert few["n"] == 9 and math.isnan(few["spearman"]) and math.isnan(few["kendall_tau"])
    flat = heldout_correlations(hypotheses, fingerprints, np.ones(80), embed=False)
    assert all(math.isnan(flat[key]) for key in ("kendall_tau", "spearman", "pearson"))
    # Failed evaluations (NaN rewards) are left out rather than poisoning the fit.
    holes = rewards.copy()
    holes[::4] = np.nan
    result = heldout_correlations(hypotheses, fingerprints, holes, embed=False)
    assert result["n"] == 60 and result["spearman"] > 0.5


def test_rank_is_zeros_until_fitted_then_orders_new_code():
    hypotheses, fingerprints, rewards = synthetic()
    model = RewardModel(embed=False, min_train=8)
    assert not model.fitted
    assert np.array_equal(model.rank(hypotheses[:5], fingerprints[:5]), np.zeros(5))
    model.fit(hypotheses[:7], fingerprints[:7], rewards[:7])  # too few to learn from
    assert not model.fitted
    assert not model.rank(hypotheses[:5], fingerprints[:5]).any()
    model.fit(hypotheses, fingerprints, rewards)
    assert model.fitted
    swish = activation("x * torch.sigmoid(x)")
    cube = activation("torch.relu(x) ** 3")
    scores = model.rank([swish, cube], [GRID * _sigmoid(GRID), np.maximum(GRID, 0) ** 3])
    assert scores[0] > scores[1]


def test_select_diverse_skips_exact_duplicates():
    base = np.sin(GRID)
    fingerprints = [base, base.copy(), np.cos(GRID), GRID]
    predicted = np.array([3.0, 3.0, 1.0, 0.0])
    assert select_diverse(["a", "b", "c", "d"], predicted, fingerprints, k=2) == ["a", "c"]
    # Without the penalty the pure ranking still refuses the duplicate.
    assert select_diverse(list("abcd"), predicted, fingerprints, k=2, penalty=0.0) == ["a", "c"]
    # A duplicate is taken only when fewer than k distinct behaviours remain.
    assert select_diverse(["a", "b"], np.array([1.0, 0.5]), [base, base], k=2) == ["a", "b"]
    # Ties go to the earlier id; k beyond the pool returns everything once.
    ids = select_diverse(list("xyz"), np.zeros(3), [base, np.cos(GRID), GRID], k=5)
    assert ids[0] == "x" and sorted(ids) == ["x", "y", "z"]
    # The penalty trades reward for novelty: a near-copy loses to a different runner-up.
    near = base + 0.05 * np.cos(3 * GRID)  # similarity ~0.999, not a duplicate
    pool = [base, near, GRID**2]
    assert select_diverse(list("abc"), np.array([2.0, 1.9, 1.5]), pool, k=2, penalty=0.0)[1] == "b"
    assert select_diverse(list("abc"), np.array([2.0, 1.9, 1.5]), pool, k=2, penalty=2.0)[1] == "c"
    with pytest.raises(AssayError):
        select_diverse(["a"], np.zeros(2), [base, base], k=1)


def test_collapse_measures_how_alike_the_top_k_are():
    swish = GRID * _sigmoid(GRID)
    assert collapse([swish, swish.copy(), swish.copy()]) == pytest.approx(1.0)
    assert collapse([swish, 2 * swish + 1]) == pytest.approx(1.0)  # same shape, rescaled
    diverse = collapse([swish, np.sin(GRID), np.abs(GRID), np.tanh(GRID) * -1])
    assert diverse < 0.5
    assert math.isnan(collapse([swish])) and math.isnan(collapse([]))
    assert collapse([swish, np.sin(GRID)], similarity=lambda a, b: 0.25) == 0.25


def test_code_embedding_adds_384_columns():
    from assay.features._embed import embeddings_available

    if not embeddings_available():
        message = "code embeddings need the `text` extra (sentence_transformers): run `make setup`"
        if os.environ.get("CI"):  # make setup installs it: under CI this test must run
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    hypotheses, fingerprints, _ = synthetic()
    plain = CodeFeatures(embed=False).transform(hypotheses[:4], fingerprints[:4])
    embedded = CodeFeatures(embed=True).transform(hypotheses[:4], fingerprints[:4])
    assert embedded.shape == (4, plain.shape[1] + 384)
    np.testing.assert_allclose(embedded[:, : plain.shape[1]], plain)
    norms = np.linalg.norm(embedded[:, plain.shape[1] :], axis=1)
    np.testing.assert_allclose(norms, 1.0, atol=1e-4)  # unit-length sentence vectors

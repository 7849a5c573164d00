import re
from difflib import SequenceMatcher

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assay.features import lexical_pair_features, siamese_pair_features


def one(a: str | None, b: str | None) -> pd.Series:
    """Features of a single pair, as a Series keyed by column name."""
    return lexical_pair_features(pd.Series([a], dtype=object), pd.Series([b], dtype=object)).iloc[0]


def test_identical_texts_are_maximally_similar():
    row = one("Paid $5 on 3 May for the taxi.", "paid $5 on 3 may for the TAXI.")
    for name in ("jaccard", "overlap", "jaccard_content", "char3_jaccard", "char5_jaccard"):
        assert row[f"pair__{name}"] == 1.0, name
    assert row["pair__edit_ratio"] == 1.0
    assert row["pair__token_sort_ratio"] == 1.0
    assert row["pair__lcs_ratio"] == 1.0
    assert row["pair__numbers_same"] == 1.0
    assert row["pair__numbers_differ"] == 0.0
    assert row["pair__bleu2_min"] == 1.0
    assert row["pair__first_token_equal"] == 1.0 and row["pair__last_token_equal"] == 1.0


def test_disjoint_texts_have_no_overlap():
    row = one("cats purr quietly", "dogs bark loudly")
    for name in ("jaccard", "overlap", "jaccard_content", "overlap_content", "bleu1_max"):
        assert row[f"pair__{name}"] == 0.0, name
    assert row["pair__first_token_equal"] == 0.0
    assert row["pair__edit_ratio"] < 0.5


def test_partial_overlap_values():
    row = one("the cat sat", "the cat ran away")
    assert row["pair__jaccard"] == pytest.approx(2 / 5)
    assert row["pair__overlap"] == pytest.approx(2 / 3)
    assert row["pair__jaccard_content"] == pytest.approx(1 / 4)  # {cat, sat} vs {cat, ran, away}
    assert row["pair__word_count_absdiff"] == 1.0
    assert row["pair__word_len_ratio"] == pytest.approx(3 / 4)
    assert row["pair__bleu1_min"] == pytest.approx(2 / 4)
    assert row["pair__bleu1_max"] == pytest.approx(2 / 3)
    assert row["pair__bleu2_max"] == pytest.approx(1 / 2)  # "the cat" of ("the cat", "cat sat")


def test_token_sort_ratio_ignores_word_order():
    row = one("new york to london", "london to new york")
    assert row["pair__token_sort_ratio"] == 1.0
    assert row["pair__edit_ratio"] < 1.0


def lcs_by_dynamic_programming(x: str, y: str) -> int:
    previous = [0] * (len(y) + 1)
    for char in x:
        current = [0]
        for j, other in enumerate(y):
            current.append(previous[j] + 1 if char == other else max(previous[j + 1], current[j]))
        previous = current
    return previous[-1]


EDIT_CASES = [
    ("kitten", "sitting"),
    ("the cat sat on the mat", "a cat sat on a mat"),
    ("ab ab ab ab", "ba ba"),
    ("x" * 130 + "yz", "zy" + "x" * 70),  # longer than one 64-bit word
    ("short", "a much longer sentence, with short words in it"),
]


@pytest.mark.parametrize(
    ("x", "y"), EDIT_CASES, ids=["kitten", "words", "repeats", "long", "short"]
)
def test_edit_and_longest_substring_ratios_match_reference_algorithms(x, y):
    row = one(x, y)
    total = len(x) + len(y)
    assert row["pair__edit_ratio"] == pytest.approx(2 * lcs_by_dynamic_programming(x, y) / total)
    longest = SequenceMatcher(None, x, y, autojunk=False).find_longest_match().size
    assert row["pair__lcs_ratio"] == pytest.approx(longest / max(len(x), len(y)))


def test_different_numbers_are_flagged():
    row = one("paid $5 on 3 May", "paid $6 on 3 May")
    assert row["pair__numbers_differ"] == 1.0
    assert row["pair__numbers_same"] == 0.0
    assert row["pair__numbers_jaccard"] == pytest.approx(1 / 3)
    assert row["pair__n_numbers_min"] == 2.0 and row["pair__n_numbers_max"] == 2.0


def test_number_formats_are_canonical_and_empty_sets_are_the_same():
    assert one("sold 1,000 units at 3.50", "sold 1000 units at 3.5")["pair__numbers_same"] == 1.0
    no_numbers = one("hello there", "goodbye now")
    assert no_numbers["pair__numbers_same"] == 1.0
    assert no_numbers["pair__numbers_differ"] == 0.0
    one_sided = one("room 12", "a room")
    assert one_sided["pair__numbers_same"] == 0.0
    assert one_sided["pair__numbers_differ"] == 0.0  # differ needs numbers on both sides


def test_missing_text_is_empty_and_gives_finite_features():
    a = pd.Series(["a red car", None, np.nan, None], dtype=object)
    b = pd.Series([pd.NA, "a red car", "", None], dtype=object)
    out = lexical_pair_features(a, b)
    assert np.isfinite(out.to_numpy()).all()
    assert out["pair__n_empty"].tolist() == [1.0, 1.0, 2.0, 2.0]
    assert out.loc[0, "pair__jaccard"] == 0.0 and out.loc[0, "pair__edit_ratio"] == 0.0
    assert out.loc[3, "pair__jaccard"] == 1.0 and out.loc[3, "pair__edit_ratio"] == 1.0


def test_index_of_a_is_kept_and_columns_are_float_and_prefixed():
    a = pd.Series(["one two", "three"], index=["q7", "q3"])
    b = pd.Series(["two one", "four"], index=[10, 11])
    out = lexical_pair_features(a, b)
    assert list(out.index) == ["q7", "q3"]
    assert all(c.startswith("pair__") for c in out.columns)
    assert all(out.dtypes == np.float64)
    assert out.loc["q7", "pair__jaccard"] == 1.0  # b is taken by position, not by label


def test_length_mismatch_raises():
    with pytest.raises(ValueError, match="same length"):
        lexical_pair_features(pd.Series(["a", "b"]), pd.Series(["a"]))


CASES = [
    ("paid $5 on 3 May", "paid $6 on 3 May"),
    ("How do I learn Python?", "What is the best way to learn python"),
    ("", "something"),
    ("ab", "abc"),
    ("a b a b a", "b a b"),
    ("x" * 300 + " y", "y " + "x" * 280),
    ("bab", "a b"),  # difflib gives 0.333 one way, 0.667 the other
]
words = st.sampled_from(["the", "cat", "sat", "on", "mat", "3", "4.0", "1,000", "Mat", "é"])
sentences = st.one_of(st.lists(words, max_size=12).map(" ".join), st.text(max_size=40))


def assert_symmetric(a: list[str], b: list[str]) -> None:
    forward = lexical_pair_features(pd.Series(a, dtype=object), pd.Series(b, dtype=object))
    backward = lexical_pair_features(pd.Series(b, dtype=object), pd.Series(a, dtype=object))
    pd.testing.assert_frame_equal(forward, backward, check_exact=True)


def test_symmetry_on_known_cases():
    assert_symmetric([x for x, _ in CASES], [y for _, y in CASES])


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(sentences, sentences), min_size=1, max_size=5))
def test_symmetry_property(pairs):
    assert_symmetric([x for x, _ in pairs], [y for _, y in pairs])


def test_siamese_cosine_bounds_and_zero_diff():
    rng = np.random.default_rng(0)
    u = rng.normal(size=(4, 3))
    same = siamese_pair_features(u, u)
    assert same["pair__emb_cos"].to_numpy() == pytest.approx(1.0)
    assert same["pair__emb_euclidean"].to_numpy() == pytest.approx(0.0)
    assert (same[[f"pair__emb_absdiff_{i}" for i in range(3)]].to_numpy() == 0).all()
    assert same["pair__emb_prod_1"].to_numpy() == pytest.approx(u[:, 1] ** 2)
    opposite = siamese_pair_features(u, -u, prefix="e")
    assert opposite["e_cos"].to_numpy() == pytest.approx(-1.0)
    assert opposite["e_dot"].to_numpy() == pytest.approx(-(u**2).sum(axis=1))
    assert same.shape == (4, 4 + 2 * 3)


def test_siamese_distances_and_zero_vectors():
    u = np.array([[0.0, 0.0], [1.0, 0.0]])
    v = np.array([[3.0, 4.0], [0.0, 1.0]])
    out = siamese_pair_features(u, v, index=pd.Index(["p", "q"]))
    assert list(out.index) == ["p", "q"]
    assert out.loc["p", "pair__emb_cos"] == 0.0  # zero vector: defined as 0, not NaN
    assert out.loc["q", "pair__emb_cos"] == pytest.approx(0.0)
    assert out["pair__emb_euclidean"].tolist() == pytest.approx([5.0, 2**0.5])
    assert out["pair__emb_manhattan"].tolist() == pytest.approx([7.0, 2.0])
    assert not out.isna().any().any()
    pd.testing.assert_frame_equal(out, siamese_pair_features(v, u, index=out.index))


def test_siamese_shape_mismatch_names_the_shapes():
    with pytest.raises(ValueError, match=r"\(3, 4\).*\(3, 5\)"):
        siamese_pair_features(np.zeros((3, 4)), np.zeros((3, 5)))
    with pytest.raises(ValueError, match="same shape"):
        siamese_pair_features(np.zeros(4), np.zeros(4))


def test_ordered_features_say_which_side_is_which():
    from assay.features import ordered_pair_features

    a = pd.Series(["A man is playing a guitar on stage"], dtype=object)
    b = pd.Series(["The man isn't playing"], dtype=object)  # read as "the man is not playing"
    row = ordered_pair_features(a, b).iloc[0]
    assert row["pair__a_in_b"] == pytest.approx(3 / 7)  # man, is, playing of a's 7 words
    assert row["pair__b_in_a"] == pytest.approx(3 / 5)
    assert row["pair__a_content_in_b"] == pytest.approx(2 / 4)  # guitar, stage are a's own
    assert row["pair__b_content_in_a"] == 1.0  # b says nothing new, but negates it
    assert (row["pair__a_only_content"], row["pair__b_only_content"]) == (2.0, 0.0)
    assert (row["pair__a_negations"], row["pair__b_negations"]) == (0.0, 1.0)
    assert row["pair__negations_differ"] == 1.0
    assert (row["pair__a_words"], row["pair__b_words"]) == (8.0, 5.0)
    numbers = ordered_pair_features(pd.Series(["paid 5 on 3 May"]), pd.Series(["paid 5"]))
    assert (numbers["pair__a_only_numbers"][0], numbers["pair__b_only_numbers"][0]) == (1.0, 0.0)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(sentences, sentences), min_size=1, max_size=5))
def test_ordered_features_swap_with_the_sides(pairs):
    from assay.features import ordered_pair_features

    a = pd.Series([x for x, _ in pairs], dtype=object)
    b = pd.Series([y for _, y in pairs], dtype=object)
    forward, backward = ordered_pair_features(a, b), ordered_pair_features(b, a)
    # "pair__a_content_in_b" of (b, a) is "pair__b_content_in_a" of (a, b)
    other = {"a": "b", "b": "a"}
    renamed = {
        c: re.sub(r"(?<=pair__)[ab](?=_)|(?<=_in_)[ab]$", lambda m: other[m.group()], c)
        for c in backward.columns
    }
    pd.testing.assert_frame_equal(backward.rename(columns=renamed)[forward.columns], forward)

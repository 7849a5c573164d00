import pandas as pd
import pytest

from assay import FeatureType
from assay.data import check_text_pairs, detect_text_pairs, prepare
from assay.errors import ConfigError

T = FeatureType.TEXT


@pytest.mark.parametrize(
    ("a", "b"),
    [("question1", "question2"), ("#1 String", "#2 String"), ("text_a", "text_b")],
)
def test_two_text_columns_named_as_sides_are_a_pair(a, b):
    assert detect_text_pairs({a: T, "n": FeatureType.NUMERIC, b: T}) == [(a, b)]


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("premise", "hypothesis"),
        ("Question", "Answer"),
        ("query_text", "document_text"),
        ("claim", "evidence"),
    ],
)
def test_two_text_columns_named_as_roles_are_a_pair_in_the_roles_order(a, b):
    assert detect_text_pairs({a: T, b: T}) == [(a, b)]
    assert detect_text_pairs({b: T, "n": FeatureType.NUMERIC, a: T}) == [(a, b)]


@pytest.mark.parametrize(
    "types",
    [
        {"title": T, "body": T},  # two texts, not sides of one thing
        {"question1": T, "question2": FeatureType.CATEGORICAL},  # one side is not text
        {"q1": T, "q2": T, "q3": T},  # three texts: ambiguous
        {"q1": T, "q12": T},
        {"premise_en": T, "hypothesis_de": T},  # the roles, but not of one pair
        {"premise": T, "answer": T},
    ],
)
def test_other_text_columns_are_not_a_pair(types):
    assert detect_text_pairs(types) == []


def test_declared_pair_errors_name_the_column():
    with pytest.raises(ConfigError, match=r"'questoin1'.*did you mean 'question1'"):
        check_text_pairs([("questoin1", "question2")], ["question1", "question2"])
    with pytest.raises(ConfigError, match="'label' is the target"):
        check_text_pairs([("question1", "label")], ["question1", "label"], target="label")
    with pytest.raises(ConfigError, match="two different column names"):
        check_text_pairs([("question1", "question1")], ["question1"])
    with pytest.raises(ConfigError, match="share column"):
        check_text_pairs([("a", "b"), ("b", "c")], ["a", "b", "c"])


def test_prepare_forces_declared_sides_to_text():
    frame = pd.DataFrame(
        {
            "left": ["red", "blue", "red", "green"] * 5,  # would be categorical
            "right": ["blue", "blue", "green", "red"] * 5,
            "y": [0, 1] * 10,
        }
    )
    plain = prepare(frame, "y")
    assert plain.schema["left"].type is FeatureType.CATEGORICAL
    assert plain.text_pairs == ()
    paired = prepare(frame, "y", text_pairs=[("left", "right")])
    assert paired.schema["left"].type is T and paired.schema["right"].type is T
    assert paired.text_pairs == (("left", "right"),)


def test_prepare_detects_a_pair_by_name():
    words = ["the", "cat", "sat", "on", "a", "mat", "while", "dogs", "ran", "far", "away"]
    rows = [" ".join(words[i % 7 : i % 7 + 5]) + f" {i}" for i in range(40)]
    frame = pd.DataFrame({"sentence1": rows, "sentence2": rows[::-1], "y": [0, 1] * 20})
    assert prepare(frame, "y").text_pairs == (("sentence1", "sentence2"),)

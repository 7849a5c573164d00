"""infer_task: the documented rule, on fixed cases and random labels."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assay import Task
from assay.data import infer_task
from assay.errors import TargetError


@pytest.mark.parametrize(
    ("values", "task"),
    [
        (["yes", "no", "yes"], Task.BINARY),
        (["a", "b", "c"], Task.MULTICLASS),
        ([True, False, True], Task.BINARY),
        ([1, 2, 1, 2], Task.BINARY),
        ([0.0, 1.0, None], Task.BINARY),
        ([3, 4, 5, 6, 7, 8] * 10, Task.MULTICLASS),  # wine quality: pass task="regression"
        (list(range(1, 11)) * 3, Task.MULTICLASS),
        (list(range(11)) * 3, Task.REGRESSION),
        ([0.5, 1.5, 2.25], Task.REGRESSION),
        ([1.0, 2.0, 3.0, np.inf], Task.REGRESSION),
    ],
)
def test_rule_examples(values, task):
    assert infer_task(pd.Series(values)) is task


def test_categorical_numbers_are_classes():
    assert infer_task(pd.Series(pd.Categorical([1.5, 2.5, 3.5]))) is Task.MULTICLASS


def test_all_missing_names_the_target():
    with pytest.raises(TargetError, match="'label'"):
        infer_task(pd.Series([None, None], name="label", dtype=float))


LABELS = st.text(min_size=1, max_size=5)


@settings(max_examples=60, deadline=None)
@given(st.lists(LABELS, min_size=2, max_size=40, unique=True), st.integers(0, 1000))
def test_string_labels_are_classification(labels, seed):
    rng = np.random.default_rng(seed)
    # pick by index: numpy's fixed-width strings would drop a trailing "\x00" from a label
    picks = [labels[i] for i in rng.integers(len(labels), size=10)]
    y = pd.Series(labels + picks, dtype="str")
    expected = Task.BINARY if len(labels) == 2 else Task.MULTICLASS
    assert infer_task(y) is expected


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(-1000, 1000), min_size=2, max_size=60))
def test_integer_labels_follow_distinct_count(values):
    n_unique = len(set(values))
    task = infer_task(pd.Series(values, dtype="int64"))
    if n_unique <= 2:
        assert task is Task.BINARY
    elif n_unique <= 10:
        assert task is Task.MULTICLASS
    else:
        assert task is Task.REGRESSION


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=40),
    st.floats(0.01, 0.99),
)
def test_non_integer_floats_are_regression(values, fraction):
    y = pd.Series([*values, 0.0, 1.0, 2.0 + fraction])  # at least 3 distinct, one non-integer
    assert infer_task(y) is Task.REGRESSION

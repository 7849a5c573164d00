"""The grammar generator, the evaluator's comparisons, the suite and the CLI's input checks."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from assay.discover import Evaluated, Evaluator, GrammarGenerator, Hypothesis, Kind, baselines
from assay.discover._evaluate import compare
from assay.discover._grammar import from_text, to_code, to_hypothesis, to_text
from assay.discover._spec import compile_component
from assay.discover._suite import load_suite
from assay.discover._validate import validate
from assay.errors import DataError


def test_trees_round_trip_and_swish_renders_to_swish():
    text = "(mul v (sigmoid (add v 1.0)))"
    assert to_text(from_text(text)) == text
    swish = to_hypothesis(from_text("(mul v (sigmoid v))"), Kind.ACTIVATION)
    x = torch.linspace(-5, 5, 11)
    got = compile_component(swish)["activation"](x)
    torch.testing.assert_close(got, x * torch.sigmoid(x))
    assert "def fit(x)" in to_code(from_text("(tanh v)"), Kind.PREPROCESSING)


@pytest.mark.parametrize("kind", list(Kind))
def test_every_generated_hypothesis_is_new_and_most_validate(kind):
    generator = GrammarGenerator(kind, random_state=3)
    batch = generator.generate(30, [])
    assert len(batch) == 30 and len({h.id for h in batch}) == 30
    ok = [validate(h).ok for h in batch]
    assert sum(ok) >= 10, [h.expr for h, good in zip(batch, ok, strict=True) if not good]


def test_children_are_bred_from_the_best_of_the_history():
    generator = GrammarGenerator("activation", n_seed=4, tournament=4, crossover=0.0)
    history = [
        Evaluated(to_hypothesis(from_text(t), Kind.ACTIVATION), "evaluated", reward)
        for t, reward in [("(tanh v)", 0.1), ("(sin v)", 0.2), ("(relu v)", 0.3),
                          ("(mul v (sigmoid v))", 0.9)]
    ]  # fmt: skip
    children = generator.generate(10, history)
    best = history[-1].hypothesis.id
    assert children and all(child.parents == (best,) for child in children)
    assert not {c.id for c in children} & {h.hypothesis.id for h in history}


def test_compare_counts_wins_losses_and_ties_pair_by_pair():
    rate, p = compare([1.0, 2.0, 3.0, 4.0], [0.0, 2.0, 5.0, 3.0])
    assert rate == pytest.approx((2 + 0.5) / 4)
    assert 0.0 < p <= 1.0
    strong, p_strong = compare([1.0] * 12, [0.0] * 12)
    assert strong == 1.0 and p_strong < 0.001


def test_the_evaluator_scores_a_baseline_even_with_itself_and_a_broken_one_last():
    suite = load_suite(("wine",))
    evaluator = Evaluator("activation", suite, seeds=(0, 1))
    relu = evaluator.evaluate(baselines(Kind.ACTIVATION)["relu"])
    assert relu.win_rates["relu"] == 0.5 and relu.p_values["relu"] == 1.0
    broken = Hypothesis(Kind.ACTIVATION, "def activation(x):\n    return x * 1e30\n", "test")
    judged = evaluator.evaluate(broken)
    assert judged.scores == [float("-inf")] * 2 and judged.reward == 0.0


def test_suite_without_manifest_data_keeps_sklearns_and_names_missing_ones(tmp_path):
    (tmp_path / "manifest.json").write_text('{"tabular": []}')
    suite = load_suite(root=tmp_path)
    assert [ds.name for ds in suite] == ["breast_cancer", "wine", "digits", "diabetes"]
    with pytest.raises(DataError, match="kc1"):
        load_suite(("kc1",), root=tmp_path)


def test_cli_refuses_a_bad_budget_and_lists_an_empty_registry():
    run = [sys.executable, "-m", "assay", "discover"]
    bad = subprocess.run([*run, "activation", "--budget", "soon"], capture_output=True, text=True)
    assert bad.returncode == 3 and "--budget 'soon'" in bad.stderr and "30m" in bad.stderr
    kind = subprocess.run([*run, "list", "--kind", "optimizer"], capture_output=True, text=True)
    assert kind.returncode == 3 and "unknown component kind 'optimizer'" in kind.stderr
    empty = subprocess.run([*run, "list"], capture_output=True, text=True, check=True)
    assert "No discovered components" in empty.stdout

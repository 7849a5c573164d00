"""Feature discovery in a research workspace: on the training rows once, offered to the
proposers, and applied by the template pipeline on the harness's folds."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from research_helpers import ScriptedProposer, with_config

from assay.research import ResearchLoop, init_research
from assay.research._init import template


@pytest.fixture
def ratio_harness(tmp_path):
    """Regression whose target is a ratio of two columns, plus a group effect."""
    rng = np.random.default_rng(0)
    n = 600
    frame = pd.DataFrame(
        {
            "a": rng.normal(size=n),
            "b": rng.uniform(0.5, 2.0, size=n),
            "noise": rng.normal(size=n),
            "g": rng.choice(["x", "y", "z"], size=n),
        }
    )
    frame["y"] = 3 * frame.a / frame.b + frame.g.map({"x": 1.0, "y": 0.0, "z": -1.0})
    frame["y"] += rng.normal(scale=0.05, size=n)
    frame.to_csv(tmp_path / "ratio.csv", index=False)
    return init_research(str(tmp_path / "ratio.csv"), "y", tmp_path / "ws", budget_per_exp_s=5)


def test_the_template_applies_discovered_features_on_the_harness_folds(ratio_harness):
    harness = ratio_harness
    folds = harness.train_folds()
    assert folds == harness.train_folds() and sorted(set(folds)) == [0, 1, 2, 3, 4]
    assert len(folds) == harness.spec["n_rows"]["train"]
    linear = with_config(template("pipeline.py"), single_model={"model": "linear", "params": {}})
    found = with_config(linear, discovered=[["ratio", "a", "b"], ["target_mean", "g"]])
    plain_run, found_run = harness.run(linear, label="plain"), harness.run(found, label="found")
    assert plain_run.ok and found_run.ok, found_run.log_tail
    loss = harness.metric.loss
    assert loss(found_run.score) < 0.5 * loss(plain_run.score)  # the ratio is the target
    assert "discovered features: a / b; target mean of g" in found_run.log_tail
    # the holdout run trains on train + validation rows, with folds over all of them
    assert loss(harness.holdout_score(found)) < 0.5 * loss(harness.holdout_score(linear))


def test_the_loop_discovers_once_and_hands_the_features_to_the_proposer(ratio_harness):
    harness = ratio_harness
    ws = harness.workspace
    proposer = ScriptedProposer([])  # out of ideas at once: only the baseline runs
    ResearchLoop(ws, proposer, max_exp=1, n_noise_seeds=1, store=False).run()
    discovered = proposer.contexts[0].discovered
    texts = [f["text"] for f in discovered]
    assert "a / b" in texts[:3], texts
    assert all(f["gain"] > 0 for f in discovered)
    saved = json.loads((harness.folder / "discovery.json").read_text())
    assert saved["features"] == discovered and saved["n_candidates"] > len(discovered)
    # the next run reads the same list back instead of discovering again
    (harness.folder / "discovery-checkpoint.json").unlink()
    again = ScriptedProposer([])
    ResearchLoop(ws, again, max_exp=1, n_noise_seeds=1, store=False, discover_s=0).run()
    assert again.contexts[0].discovered == discovered

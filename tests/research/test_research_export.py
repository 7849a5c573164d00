"""`assay research export`: the best experiment or the ensemble of experiments as an
ordinary predictor, round-tripped through `assay predict`; the ensemble's holdout score."""

from __future__ import annotations

import numpy as np
import pandas as pd
from research_helpers import ScriptedProposer, with_config
from test_research_cli import assay

from assay.research import Change, ResearchLoop, research_status
from assay.research._init import template
from assay.research._report import current_ensemble

ROW = "__row__"


def _holdout_features(harness, path):
    frame = pd.read_csv(harness.folder / "holdout.csv")
    frame.drop(columns=[harness.target]).to_csv(path, index=False)
    return frame


def test_the_ensemble_of_experiments_exports_and_predicts_as_its_holdout_runs_did(
    fast_ws, tmp_path
):
    ws, harness = fast_ws
    base = with_config(
        template("pipeline.py"),
        automl={"models": ["linear"], "n_folds": 3},
        discovered=[["ratio", "a", "b"], ["mean_by", "a", "cat"]],
    )
    proposer = ScriptedProposer(
        [
            Change(base, "models: linear, two discovered features"),
            Change(with_config(base, automl={"models": ["knn"], "n_folds": 3}), "models: knn"),
            Change(
                with_config(base, automl={"models": ["lightgbm"], "n_folds": 3}, discovered=[]),
                "models: lightgbm, no discovered features",
            ),
        ]
    )
    ResearchLoop(ws, proposer, max_exp=3, n_noise_seeds=1, store=False).run()
    chosen = current_ensemble(research_status(ws))
    assert chosen is not None and len(chosen.members) >= 2, "no ensemble to export"

    out = tmp_path / "model"
    done = assay("research", "export", str(ws), "--out", str(out), "--experiment", "ensemble")
    assert "holdout" in done.stdout and (out / "manifest.json").is_file(), done.stdout
    holdout = _holdout_features(harness, tmp_path / "new.csv")
    predicted = tmp_path / "pred.csv"
    assay("predict", str(out), str(tmp_path / "new.csv"), "--out", str(predicted))
    table = pd.read_csv(predicted)
    proba = table[[f"proba_{c}" for c in harness.classes]].to_numpy()
    # the blend predicts what the members predicted in their holdout runs, weighted
    state = research_status(ws)
    from assay.research._report import HoldoutBook
    from assay.research._workspace import Repo

    book = HoldoutBook(harness, Repo(ws))
    paths = {m.key: book.run(state.record(m.exp_no), m.seed)[1] for m in chosen.members}
    expected = chosen.predict(paths)
    assert proba.shape == expected.shape == (len(holdout), len(harness.classes))
    np.testing.assert_allclose(proba, expected, atol=1e-6)
    assert set(table["prediction"].astype(str)) <= set(harness.classes)

    # the status shows the ensemble's holdout score beside the baseline's and the best's
    shown = assay("research", "status", str(ws), "--holdout").stdout
    assert "holdout ensemble" in shown, shown


def test_an_experiment_whose_feature_steps_run_outside_the_predictor_is_refused(fast_ws, tmp_path):
    ws, _ = fast_ws
    base = with_config(
        template("pipeline.py"), automl={"models": ["linear"], "n_folds": 3}, features=["row_stats"]
    )
    ResearchLoop(
        ws, ScriptedProposer([Change(base, "row stats")]), max_exp=1, n_noise_seeds=1, store=False
    ).run()
    exp_no = max(r.exp_no for r in research_status(ws).records)
    out = tmp_path / "model"
    refused = assay(
        "research", "export", str(ws), "--out", str(out), "--experiment", str(exp_no), check=False
    )
    assert refused.returncode != 0 and "Traceback" not in refused.stderr
    assert f"experiment {exp_no} could not be exported" in refused.stderr
    assert not (out / "manifest.json").exists()

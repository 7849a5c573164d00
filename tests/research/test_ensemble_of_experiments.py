"""The ensemble of experiments: chosen on the training rows' out-of-fold predictions,
scored on validation as its own ledger line."""

from __future__ import annotations

import json

import numpy as np
from research_helpers import ScriptedProposer, commit_pipeline, with_config

from assay.research import Change, Ledger, ResearchLoop, choose_ensemble, init_research
from assay.research._init import template


def test_the_choice_reads_out_of_fold_predictions_never_validation_labels(tmp_path, toy_csv):
    harness = init_research(str(toy_csv), "y", tmp_path / "ws", budget_per_exp_s=4)
    y = harness.encoded(harness.train_labels())
    n_valid = len(harness.valid_labels())
    rng = np.random.default_rng(0)

    def experiment(no: int, signal: float) -> None:
        """Out-of-fold probabilities with `signal` and noise of their own."""
        p = 1 / (1 + np.exp(-(signal * (2 * y - 1) + rng.normal(size=len(y)))))
        path = harness.predictions_of(f"exp-{no:04d}")
        path.parent.mkdir(exist_ok=True)
        np.save(path, np.column_stack([1 - rng.random(n_valid), rng.random(n_valid)]))
        np.save(harness.oof_path(path), np.column_stack([1 - p, p]))

    experiment(1, 1.0)  # learned something, on the training rows
    experiment(2, 0.0)  # noise
    experiment(3, 0.9)  # as much, with other errors: averaging the two helps
    (harness.folder / "valid_labels.csv").unlink()  # the choice must not need them
    chosen = choose_ensemble(
        harness, {(n, None): harness.predictions_of(f"exp-{n:04d}") for n in (1, 2, 3)}
    )
    assert chosen is not None
    weights = {m.exp_no: m.weight for m in chosen.members}
    assert weights.get(1, 0) > 0.3 and weights.get(2, 0) < 0.2
    assert abs(sum(weights.values()) - 1) < 1e-9
    assert chosen.description.startswith("ensemble of experiments #1 x")
    # an experiment without out-of-fold predictions does not join
    only = choose_ensemble(
        harness, {(1, None): harness.predictions_of("exp-0001"), (9, None): tmp_path / "x.npy"}
    )
    assert only is None


def test_the_loop_writes_an_ensemble_line_once_two_experiments_wrote_oof(fast_ws):
    ws, harness = fast_ws
    base = with_config(template("pipeline.py"), automl={"models": ["linear"], "n_folds": 3})
    changes = [
        Change(with_config(base, automl={"models": ["knn"], "n_folds": 3}), "models: knn"),
        Change(with_config(base, automl={"models": ["lightgbm"], "n_folds": 3}), "models: lgbm"),
    ]
    proposer = ScriptedProposer([Change(base, "models: linear"), *changes])
    summary = ResearchLoop(ws, proposer, max_exp=3, n_noise_seeds=1, store=False).run()
    assert summary.n_experiments == 3  # the ensemble lines are not experiments
    lines = Ledger(ws, harness.id, store=False).read()
    ensembles = [r for r in lines if r.status == "ensemble"]
    assert ensembles, [(r.status, r.description) for r in lines]
    last = ensembles[-1]
    assert last.description.startswith("ensemble of experiments #") and last.commit is None
    assert 0.5 < last.score <= 1.0
    members = [int(p.split()[0]) for p in last.description.split("#")[1:]]
    assert len(members) >= 2 and all(harness.oof_path(
        harness.predictions_of(f"exp-{m:04d}")).is_file() for m in members)  # fmt: skip


def test_an_experiment_continues_the_best_experiments_search(fast_ws):
    ws, harness = fast_ws
    base = with_config(template("pipeline.py"), automl={"models": ["linear", "knn"], "n_folds": 3})
    proposer = ScriptedProposer(
        [
            Change(base, "automl: linear and knn"),
            Change(with_config(base, continue_search=True), "continue_search: on"),
        ]
    )
    ResearchLoop(ws, proposer, max_exp=2, n_noise_seeds=1, store=False).run()
    first_line = next(r for r in Ledger(ws, harness.id, store=False).read() if r.exp_no == 1)
    assert first_line.status == "keep", first_line.description  # the baseline is weaker
    first = harness.trials_path(harness.predictions_of("exp-0001"))
    trials = json.loads(first.read_text())
    assert trials and {"model", "config", "loss"} <= set(trials[0])
    given = harness.prior_path(harness.predictions_of("exp-0002"))
    assert json.loads(given.read_text()) == trials  # the best's trials were its inputs
    log = (harness.logs / "exp-0002.log").read_text()
    assert f"continuing the search of {len(trials)} earlier trials" in log
    second = json.loads(harness.trials_path(harness.predictions_of("exp-0002")).read_text())
    key = lambda t: json.dumps([t["model"], t["config"]], sort_keys=True)  # noqa: E731
    assert {key(t) for t in trials} <= {key(t) for t in second}  # it knows all of them


def test_the_baselines_other_seeds_join_the_pool_and_export_at_their_seed(fast_ws, tmp_path):
    """The noise floor's extra runs of the baseline cost nothing more to ensemble: each
    seed's run is a member of its own, exported by running the baseline at that seed."""
    from assay.research import research_status
    from assay.research._ensemble import Member, pooled_predictions
    from assay.research._export import export_research
    from assay.research._report import HoldoutBook, current_ensemble
    from assay.research._workspace import Repo

    ws, harness = fast_ws
    # AutoML writes out-of-fold predictions; a forest's trees change with the seed. One
    # trial a run, so each seed's run is the same config whatever the machine's speed (with
    # the 5 s budget alone deciding the trials, the ensemble once took one run alone, on a
    # slower machine)
    automl = {"models": ["extra_trees"], "n_folds": 3, "n_trials": 1}
    base = with_config(template("pipeline.py"), automl=automl)
    commit_pipeline(ws, base, "baseline: AutoML, extra trees")
    ResearchLoop(
        ws, ScriptedProposer([]), max_exp=0, n_noise_seeds=2, discover_s=0, store=False
    ).run()
    status = research_status(ws)
    pool = pooled_predictions(harness, status.records)
    assert set(pool) == {(0, None), (0, harness.seed + 1)}
    assert all(harness.oof_path(path).is_file() for path in pool.values())
    assert pool[(0, harness.seed + 1)].name == f"exp-0000-seed{harness.seed + 1}.npy"

    # one member at the other seed: exported by the baseline's run at that seed
    member = Member(0, 1.0, harness.seed + 1)
    assert member.name == f"#0 seed {harness.seed + 1}"
    book = HoldoutBook(harness, Repo(ws))
    score, path = book.run(status.baseline, member.seed)
    assert path.name == f"holdout-{status.baseline.commit[:12]}-seed{harness.seed + 1}.npy"
    first, _ = book.run(status.baseline)
    assert book.key(status.baseline.commit, member.seed) != book.key(status.baseline.commit)
    assert np.isfinite(score) and np.isfinite(first)
    chosen = current_ensemble(status)  # the two seeds' runs average better than either
    assert chosen is not None and {m.seed for m in chosen.members} == {None, harness.seed + 1}
    line = research_status(ws).ensemble_line  # written right after the baseline
    assert line is not None and line.description.startswith(chosen.description)
    # the export blends both runs, the second run at its own seed
    done = export_research(ws, tmp_path / "model", "ensemble")
    assert {m.key for m in done.members} == {m.key for m in chosen.members}
    assert (tmp_path / "model" / "manifest.json").is_file()


def test_for_log_loss_the_ensemble_of_experiments_is_calibrated_out_of_fold(tmp_path, toy_csv):
    """For log loss the blend of experiments gets a temperature of its own, fitted on the
    training rows' out-of-fold predictions and applied to its predictions."""
    from assay.ensemble import tempered

    harness = init_research(
        str(toy_csv), "y", tmp_path / "ws", budget_per_exp_s=4, metric="logloss"
    )
    y = harness.encoded(harness.train_labels())
    n_valid = len(harness.valid_labels())
    rng = np.random.default_rng(0)
    # two experiments that are right more often than they say, with errors of their own
    log_odds = np.where(y == 1, 1.0, -1.0) * np.abs(rng.normal(0, 2, len(y)))
    paths = {}
    for no in (1, 2):
        p = 1 / (1 + np.exp(-2.5 * (log_odds + 0.5 * rng.normal(size=len(y)))))
        path = harness.predictions_of(f"exp-{no:04d}")
        path.parent.mkdir(exist_ok=True)
        q = rng.random(n_valid)
        np.save(path, np.column_stack([1 - q, q]))
        np.save(harness.oof_path(path), np.column_stack([1 - p, p]))
        paths[(no, None)] = path
    chosen = choose_ensemble(harness, paths)
    assert chosen is not None and len(chosen.members) == 2
    assert 0.25 < chosen.temperature < 0.9  # sharpened: they were not sure enough
    assert f"temperature {chosen.temperature:.3g}" in chosen.description
    mean = sum(m.weight * np.load(paths[m.key]) for m in chosen.members)
    np.testing.assert_allclose(chosen.predict(paths), tempered(mean, chosen.temperature))

"""What the search loop decides between trials: pruning weak configs after their first
folds, skipping configs that would not fit in memory, reproducible trial-count fits."""

import math

import numpy as np
import pytest

from assay import AutoML, Task
from assay.automl._policy import MemoryGuard, weak_config_pruner
from assay.automl._trials import TrialOutcome
from assay.data import prepare, read_table
from assay.evaluate import TrialPruned, cross_fit, get_metric, make_folds
from assay.models import MODELS
from assay.models._forest import MIN_TREES
from assay.search import Candidate, save_portfolio
from assay.store import TrialState, open_store


@pytest.fixture(scope="module")
def cancer():
    return read_table("builtin:breast_cancer")


def _cross_fit(cancer, prune):
    data = prepare(cancer, "target")
    y = np.unique(data.y.to_numpy(), return_inverse=True)[1]
    return cross_fit(
        MODELS["linear"],
        {},
        data.X,
        y,
        data.schema.types,
        make_folds(y, Task.BINARY, 5, 0),
        task=Task.BINARY,
        metric=get_metric("auc", Task.BINARY),
        n_classes=2,
        n_jobs=1,
        random_state=0,
        deadline=math.inf,
        prune=prune,
    )


def test_cross_fit_stops_a_config_its_pruner_rejects(cancer):
    seen = []

    def reject(fold_scores):
        seen.append(len(fold_scores))
        return True

    with pytest.raises(TrialPruned, match="after 2/5 folds") as caught:
        _cross_fit(cancer, reject)
    assert seen == [2] and len(caught.value.fold_scores) == 2
    assert len(_cross_fit(cancer, lambda scores: False).models) == 5  # kept: all folds


def _finished(fold_scores):
    class Fit:
        pass

    fit = Fit()
    fit.fold_scores = fold_scores
    return TrialOutcome(0, Candidate("linear", {}, "portfolio"), TrialState.COMPLETE, 0.0, fit)


def test_pruner_compares_with_the_nth_best_on_the_same_folds():
    auc = get_metric("auc", Task.BINARY)
    outcomes = [_finished([0.80 + i / 100, 0.5]) for i in range(9)]
    assert weak_config_pruner(outcomes, auc, rank=10) is None  # too few to judge
    outcomes.append(_finished([0.95, 0.5]))
    prune = weak_config_pruner(outcomes, auc, rank=10)
    # the 10th best mean over the first two folds is (0.80 + 0.5) / 2
    assert prune([0.79, 0.5]) and not prune([0.81, 0.5])


def test_memory_guard_refuses_a_big_forest_but_not_a_linear_model():
    guard = MemoryGuard(limit_mb=500, n_rows=100_000, n_features=20, n_folds=8)
    forest = MODELS["random_forest"]
    reason = guard.refuse(forest, {"n_estimators": 300}, n_classes=2)
    assert reason is not None and "MB of memory" in reason
    assert guard.refuse(MODELS["linear"], {}, n_classes=2) is None
    shallow = forest.memory_mb(87_500, 20, 2, {"n_estimators": 300, "min_samples_leaf": 64})
    full = forest.memory_mb(87_500, 20, 2, {"n_estimators": 300})
    # fully grown trees of ~175,000 nodes: past FOREST_MB after 9, so the fewest trees
    assert full == pytest.approx(MIN_TREES * 175_000 * (64 + 8 * 2) / 2**20)
    assert shallow < full / 5  # 300 trees of leaves of 64 rows


def test_fit_skips_what_would_not_fit_in_memory(cancer, tmp_path):
    url = f"sqlite:///{tmp_path / 'assay.db'}"
    automl = AutoML(
        # a forest per fold: ~50 MB or more for the 8 folds, linear models ~8 MB (one forest
        # out of bag on all 569 rows would be 6 to 12 MB, lighter than the linear models)
        models=["random_forest", "linear"],
        n_trials=2,
        memory_limit_mb=30,
        forests="folds",
        store=url,
    ).fit(cancer, target="target")
    assert set(automl.leaderboard().model) == {"ensemble", "linear"}
    trials = open_store(url).trials(automl.run_id_)
    skipped = [t for t in trials if t.state is TrialState.SKIPPED]
    assert skipped and all(t.model == "random_forest" for t in skipped)
    assert all("MB of memory" in t.error for t in skipped)


def test_a_trial_count_makes_the_fit_reproducible(cancer):
    def fit():
        automl = AutoML(models=["lightgbm", "linear", "knn"], n_trials=2, stack="off", store=False)
        return automl.fit(cancer, target="target")

    first, second = fit(), fit()
    assert first.predictor_.info["n_trials"] == 2
    np.testing.assert_array_equal(first.predict_proba(cancer), second.predict_proba(cancer))
    columns = ["model", "score", "weight", "config"]  # times differ; choices must not
    assert first.leaderboard()[columns].equals(second.leaderboard()[columns])


def test_a_portfolio_file_orders_the_trials_as_written(cancer, tmp_path):
    entries = [("linear", {"C": 0.1}), ("knn", {"n_neighbors": 7}), ("linear", {"C": 10.0})]
    path = save_portfolio(tmp_path / "mine.json", {"classification": entries}, about="a test")
    url = f"sqlite:///{tmp_path / 'assay.db'}"
    automl = AutoML(
        models=["linear", "knn"], n_trials=3, portfolio=str(path), store=url, stack="off"
    )
    automl.fit(cancer, target="target")
    trials = open_store(url).trials(automl.run_id_)
    assert [(t.model, dict(t.config)) for t in trials] == entries


def test_a_slow_portfolio_config_waits_behind_cheaper_ones_under_a_time_limit(cancer, tmp_path):
    # ~10,000 rounds at this learning rate: estimated far above a quarter of the budget
    slow = ("lightgbm", {"learning_rate": 0.0005, "num_leaves": 255, "min_child_samples": 1})
    entries = [slow, ("linear", {"C": 1.0}), ("linear", {"C": 0.1})]
    path = save_portfolio(tmp_path / "slow.json", {"classification": entries}, about="a test")
    url = f"sqlite:///{tmp_path / 'assay.db'}"
    AutoML(models=["lightgbm", "linear"], time_limit_s=8, portfolio=str(path), store=url).fit(
        cancer, target="target"
    )
    run = open_store(url).runs()[0]
    trials = open_store(url).trials(run.run_id)
    assert trials[0].model == "linear"  # the slow config, first in the portfolio, waited
    # on a loaded machine the time may run out before both linear configs ran (then the
    # slow one is skipped for time), but it never runs ahead of a cheaper portfolio config;
    # on a fast machine the tuner's own configs of both families follow the portfolio's
    ran = [t.model for t in trials if t.state is not TrialState.SKIPPED]
    assert ran[:2] == ["linear", "linear"][: len(ran)], ran


def test_configs_skipped_from_the_portfolio_do_not_end_the_search(cancer, tmp_path):
    heavy = [
        ("random_forest", {"min_samples_leaf": leaf, "max_features": share})
        for leaf in (1, 2)
        for share in ("sqrt", "log2", 0.5, 0.7, 1.0)
    ]
    entries = [*heavy, ("linear", {"C": 1.0})]  # ten configs that will not fit, then one
    path = save_portfolio(tmp_path / "heavy.json", {"classification": entries}, about="a test")
    automl = AutoML(
        models=["random_forest", "linear"],
        n_trials=1,
        memory_limit_mb=30,
        forests="folds",  # a forest per fold: none of the ten fits in 30 MB
        portfolio=str(path),
        store=False,
    ).fit(cancer, target="target")
    assert list(automl.leaderboard().model) == ["ensemble", "linear"]

import json

import numpy as np

from assay._types import Task
from assay.models import MODELS
from assay.search import Budget, Choice, CostModel, Float, Int, PortfolioSearcher, load_portfolio
from assay.search._space import from_dict, sample, to_dict


def test_space_round_trips_and_samples_inside():
    space = {"a": Int(1, 10, 3), "b": Float(1e-3, 1.0, 0.1, log=True), "c": Choice(("x", "y"), "x")}
    again = from_dict(json.loads(json.dumps(to_dict(space))))
    assert again == space
    rng = np.random.default_rng(0)
    for _ in range(50):
        config = sample(space, rng)
        assert all(space[k].contains(v) for k, v in config.items())


def test_portfolio_references_real_default_configs():
    for model, index in load_portfolio():
        assert model in MODELS, model
        assert all(index < len(MODELS[model].default_configs(t)) for t in MODELS[model].tasks)


def test_searcher_walks_the_portfolio_then_samples_good_families():
    searcher = PortfolioSearcher(MODELS, Task.BINARY, 1000, 10, random_state=0)
    first = searcher.ask()
    assert first.source == "portfolio" and first.model == "lightgbm"
    seen = [first]
    while (candidate := searcher.ask()).source == "portfolio":
        seen.append(candidate)
        searcher.tell(candidate, 0.1 if candidate.model == "catboost" else 0.5)
    assert len({(c.model, json.dumps(c.config, sort_keys=True)) for c in seen}) == len(seen)
    assert candidate.source == "random" and candidate.model in MODELS


def test_budget_keeps_a_reserve_and_costs_calibrate():
    budget = Budget(60, started=0.0)
    assert budget.deadline == 60 and 50 < budget.trial_deadline < 60
    costs = CostModel()
    cls = MODELS["lightgbm"]
    raw = costs.estimate_s(cls, 1000, 10, {}, 5)
    costs.observe(cls, 1000, 10, {}, 5, actual_s=raw * 4)
    assert np.isclose(costs.estimate_s(cls, 1000, 10, {}, 5), raw * 4)

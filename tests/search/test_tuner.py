"""Tuning after the portfolio: one TPE study per family, fed by every finished config."""

import math

from assay import Task
from assay.models import MODELS
from assay.search import Searcher
from assay.search._tuner import FamilyTuner


def _space():
    return MODELS["lightgbm"].search_space(1000, 10, Task.BINARY)


def test_tuner_asks_inside_the_space_and_learns_from_the_portfolio():
    space = _space()
    tuner = FamilyTuner("lightgbm", space, random_state=0)
    tuner.observe({"learning_rate": 0.05, "num_leaves": 31, "not_in_space": 1}, loss=0.2)
    tuner.observe({"learning_rate": 0.05}, loss=float("nan"))  # a failed config teaches nothing
    assert tuner.n_trials == 1
    for _ in range(6):
        number, config = tuner.ask()
        assert set(config) == set(space)
        assert all(space[k].contains(v) for k, v in config.items())
        tuner.tell(number, loss=config["learning_rate"])  # lower rate, lower loss
    number, _ = tuner.ask()
    tuner.tell(number, loss=math.nan)  # recorded as failed, not as a score
    assert tuner.n_trials == 8


def test_tuner_is_reproducible_for_a_seed():
    first, second = (FamilyTuner("lightgbm", _space(), random_state=3) for _ in range(2))
    asked = []
    for tuner in (first, second):
        configs = []
        for _ in range(6):
            number, config = tuner.ask()
            tuner.tell(number, loss=config["num_leaves"])
            configs.append(config)
        asked.append(configs)
    assert asked[0] == asked[1]


def test_searcher_tunes_the_families_that_lead():
    searcher = Searcher(MODELS, Task.BINARY, 1000, 10, random_state=0)
    while (candidate := searcher.ask()).source == "portfolio":
        loss = {"catboost": 0.1, "lightgbm": 0.2, "xgboost": 0.3}.get(candidate.model, 0.9)
        searcher.tell(candidate, loss)
    tuned = [candidate]
    for _ in range(30):
        searcher.tell(tuned[-1], 0.5)
        tuned.append(searcher.ask())
    assert all(c.source == "tpe" and c.tuner_trial is not None for c in tuned)
    families = [c.model for c in tuned]
    assert set(families) <= {"catboost", "lightgbm", "xgboost"}
    assert families.count("catboost") > families.count("xgboost")  # the best is tuned most

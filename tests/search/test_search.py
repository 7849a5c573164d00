import json
import math
import re
from types import SimpleNamespace

import numpy as np
import pytest

from assay import Task
from assay.errors import ConfigError
from assay.models import MODELS as EVERY_FAMILY
from assay.search import (
    Budget,
    Choice,
    CostModel,
    Float,
    Int,
    Searcher,
    load_portfolio,
    read_portfolio,
)
from assay.search._portfolio import Candidate, save_portfolio
from assay.search._space import from_dict, sample, to_dict

# the tabular families (the media networks need a column of files, which AutoML checks)
MODELS = {name: cls for name, cls in EVERY_FAMILY.items() if cls.kind is None}


def test_space_round_trips_and_samples_inside():
    space = {"a": Int(1, 10, 3), "b": Float(1e-3, 1.0, 0.1, log=True), "c": Choice(("x", "y"), "x")}
    again = from_dict(json.loads(json.dumps(to_dict(space))))
    assert again == space
    rng = np.random.default_rng(0)
    for _ in range(50):
        config = sample(space, rng)
        assert all(space[k].contains(v) for k, v in config.items())


@pytest.mark.parametrize("name", ["default", "handmade"])
@pytest.mark.parametrize("task", [Task.BINARY, Task.MULTICLASS, Task.REGRESSION])
@pytest.mark.parametrize("n_rows", [1000, 10**6])  # a large-data list where it has one
def test_packaged_portfolios_name_real_models_and_parameters(name, task, n_rows):
    entries = load_portfolio(name, task, n_rows)
    assert len(entries) >= 10
    for model, config in entries:
        space = MODELS[model].search_space(n_rows, 10, task)
        assert set(config) <= set(space) | {"n_estimators"}, (model, config)


def test_unknown_portfolio_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="portfolio='nope'"):
        load_portfolio("nope")
    with pytest.raises(ConfigError, match="no such file"):
        load_portfolio(tmp_path / "missing.json")


@pytest.mark.parametrize(
    ("document", "says"),
    [
        ("[]", "give a JSON object"),
        ('{"classification": {"model": "linear"}}', "'classification' is not a list"),
        ('{"classification": ["linear"]}', "entry 0 of 'classification' is 'linear'"),
        ('{"classification": [{"model": "linear", "config": 1}]}', "entry 0 of"),
        ('{"regression_large": [{"model": "linear"}]}', "no 'large_from_rows'"),
        ('{"large_from_rows": 0, "classification": []}', "'large_from_rows' is 0"),
        ('{"large_from_rows": true, "classification": []}', "'large_from_rows' is True"),
        ('{"classification": [{"model": "lgbm"}]}', "names model 'lgbm', which assay does not"),
    ],
)
def test_a_malformed_portfolio_is_refused_with_the_file_and_the_entry(tmp_path, document, says):
    path = tmp_path / "mine.json"
    path.write_text(document)
    with pytest.raises(ConfigError, match=f"portfolio {re.escape(str(path))}: .*{says}"):
        read_portfolio(path, known=MODELS)


def test_a_portfolio_entry_may_leave_out_its_config_and_name_a_family_not_installed(tmp_path):
    path = tmp_path / "mine.json"
    path.write_text('{"classification": [{"model": "linear"}, {"model": "not_here"}]}')
    known = {*MODELS, "not_here"}  # as the networks are where torch is not installed
    assert read_portfolio(path, known=known)["classification"][1]["model"] == "not_here"
    assert load_portfolio(path, Task.BINARY) == [("linear", {}), ("not_here", {})]
    searcher = Searcher(MODELS, Task.BINARY, 100, 3, portfolio=path)
    assert searcher.ask().model == "linear"  # the family not installed is passed over


def test_a_portfolios_large_data_list_is_read_from_its_rows_on(tmp_path):
    small, large = [("linear", {"C": 1.0})], [("lightgbm", {"num_leaves": 63})]
    pools = {"classification": small, "classification_large": large}
    path = save_portfolio(tmp_path / "p.json", pools, about="a test", large_from_rows=1000)
    assert load_portfolio(path, Task.BINARY) == small  # rows unknown: the general list
    assert load_portfolio(path, Task.BINARY, n_rows=999) == small
    assert load_portfolio(path, Task.MULTICLASS, n_rows=1000) == large
    assert load_portfolio(path, Task.REGRESSION, n_rows=5000) == []  # no large list: its own
    assert Searcher(MODELS, Task.BINARY, 999, 10, portfolio=path).ask().model == "linear"
    assert Searcher(MODELS, Task.BINARY, 5000, 10, portfolio=path).ask().model == "lightgbm"
    with pytest.raises(ValueError, match="large_from_rows"):
        save_portfolio(tmp_path / "q.json", pools, about="no threshold")


def test_searcher_walks_the_portfolio_then_samples_good_families():
    searcher = Searcher(MODELS, Task.BINARY, 1000, 10, random_state=0)
    first = searcher.ask()
    written = [(m, c) for m, c in load_portfolio("default", Task.BINARY) if m in MODELS]
    assert first.source == "portfolio" and (first.model, first.config) == written[0]
    seen = [first]
    while (candidate := searcher.ask()).source == "portfolio":
        seen.append(candidate)
        searcher.tell(candidate, 0.1 if candidate.model == "catboost" else 0.5)
    assert len({(c.model, json.dumps(c.config, sort_keys=True)) for c in seen}) == len(seen)
    assert candidate.source == "tpe" and candidate.model in MODELS


def test_a_deferred_portfolio_config_comes_back_once_after_the_others():
    searcher = Searcher(MODELS, Task.BINARY, 1000, 10, random_state=0)
    written = [(m, c) for m, c in load_portfolio("default", Task.BINARY) if m in MODELS]
    first = searcher.ask()
    assert searcher.defer(first)
    order = []
    while (candidate := searcher.ask()) is not None:  # None: the portfolio is done, untold
        order.append((candidate.model, candidate.config))
        if candidate == first:
            assert not searcher.defer(candidate)  # only once
    assert order == [*written[1:], written[0]]


def test_budget_keeps_a_reserve_and_costs_calibrate():
    budget = Budget(60, started=0.0)
    assert budget.deadline == 60 and 50 < budget.trial_deadline < 60
    costs = CostModel()
    cls = MODELS["lightgbm"]
    shape = SimpleNamespace(n_rows=1000, n_features=10, n_classes=2, n_folds=5)
    shape.fits_per_trial = lambda model_cls, config: shape.n_folds
    raw = costs.estimate_s(cls, {}, shape)
    costs.observe(cls, {}, shape, actual_s=raw * 4)
    assert np.isclose(costs.estimate_s(cls, {}, shape), raw * 4)
    # a trial that fits one model instead of one per fold costs a fifth
    once = SimpleNamespace(**{**vars(shape), "fits_per_trial": lambda model_cls, config: 1})
    assert np.isclose(costs.estimate_s(cls, {}, once), raw * 4 / 5)
    # 26 classes: a tree per class and round, and the calibration carries over
    many = costs.estimate_s(cls, {}, SimpleNamespace(**{**vars(shape), "n_classes": 26}))
    assert np.isclose(many, raw * 4 * 0.55 * 26)


def test_the_refit_reserve_is_kept_once_and_only_under_a_limit():
    budget = Budget(60, started=0.0)
    before = budget.trial_deadline
    budget.reserve_refit()
    budget.reserve_refit()  # a second call keeps the same reserve
    assert before - budget.trial_deadline == pytest.approx(0.12 * 60)
    untimed = Budget(math.inf, started=0.0)
    reserve = untimed.reserve_s
    untimed.reserve_refit()
    assert untimed.reserve_s == reserve and untimed.refit


def test_an_extra_trees_trial_costs_its_longer_boosting_and_leaves_plain_configs_as_they_were():
    """Extra trees take longer to early-stop (1.22x the seconds at the median of the design
    datasets, 3.0x on electricity). However slow an extra-trees trial is, the plain configs'
    estimates follow the plain trials and the machine's pace, not its slowness."""
    from assay.models._lgbm import EXTRA_TREES_SECONDS

    cls = MODELS["lightgbm"]
    plain, extra = {"num_leaves": 31}, {"num_leaves": 31, "extra_trees": True}
    n_rows, n_features = 36_000, 8
    ratio = (cls.cost(n_rows, n_features, extra) - 0.05) / (
        cls.cost(n_rows, n_features, plain) - 0.05
    )
    assert np.isclose(ratio, EXTRA_TREES_SECONDS)
    fixed = {**extra, "n_estimators": 500}  # a refit's known rounds: no longer boosting
    assert np.isclose(
        cls.cost(n_rows, n_features, fixed),
        cls.cost(n_rows, n_features, {**plain, "n_estimators": 500}),
    )
    assert cls.cost_kind(extra) != cls.cost_kind(plain) == cls.cost_kind(fixed)
    shape = SimpleNamespace(n_rows=n_rows, n_features=n_features, n_classes=2)
    shape.fits_per_trial = lambda model_cls, config: 3
    costs = CostModel()
    raw_plain, raw_extra = costs.estimate_s(cls, plain, shape), costs.estimate_s(cls, extra, shape)
    xgb, xgb_config = MODELS["xgboost"], {"max_depth": 6}
    raw_xgb = costs.estimate_s(xgb, xgb_config, shape)
    costs.observe(xgb, xgb_config, shape, actual_s=raw_xgb * 1.5)  # the machine's pace
    costs.observe(cls, extra, shape, actual_s=raw_extra * 3.0)  # electricity's tail
    # the next extra-trees config expects its kind's slowness
    assert np.isclose(costs.estimate_s(cls, extra, shape), raw_extra * 3.0)
    # a plain config, none measured yet, borrows the pace of every trial so far
    assert np.isclose(costs.estimate_s(cls, plain, shape), raw_plain * np.sqrt(1.5 * 3.0))
    costs.observe(cls, plain, shape, actual_s=raw_plain * 0.8)
    assert np.isclose(costs.estimate_s(cls, plain, shape), raw_plain * 0.8)  # then its own
    assert np.isclose(costs.estimate_s(xgb, xgb_config, shape), raw_xgb * 1.5)


def test_costs_grow_with_the_classes_only_where_the_work_does():
    for name in ("lightgbm", "xgboost", "catboost", "linear"):
        factors = [MODELS[name].classes_cost(k) for k in (0, 2, 3, 10, 26)]
        assert factors[:2] == [1.0, 1.0] and factors[2] < factors[3] < factors[4]
    for name in ("random_forest", "extra_trees", "knn", "mlp"):
        assert MODELS[name].classes_cost(26) == 1.0


class _ThreeWay:
    """A family whose whole search space is three configs."""

    tasks = (Task.BINARY,)

    @staticmethod
    def search_space(n_rows, n_features, task):
        return {"a": Choice(("x", "y", "z"), "x")}


def test_the_tuner_does_not_rerun_a_config_it_already_measured(tmp_path):
    empty = save_portfolio(tmp_path / "empty.json", {"classification": []}, about="a test")
    searcher = Searcher({"three": _ThreeWay}, Task.BINARY, 100, 3, portfolio=str(empty))
    searcher.tell(Candidate("three", {"a": "x"}, "portfolio"), 0.5)
    proposed = []
    for _ in range(2):
        candidate = searcher.ask()
        proposed.append(candidate.config["a"])
        searcher.tell(candidate, 0.4)
    assert sorted(proposed) == ["y", "z"]


def test_folds_for_budget_goes_by_rows_per_second_and_guards_the_head_cost() -> None:
    from assay.search import folds_for_budget

    cheap, dear = [0.1] * 6, [5.0] * 6  # the head's seconds a fold
    window = 56.4  # the trial time of a 60 s fit
    by_rows = [folds_for_budget(8, n, cheap, window) for n in (500, 1_999, 2_000, 9_999, 10_000)]
    assert by_rows == [8, 8, 5, 5, 3]  # FOLDS_BY_ROWS at 60 s
    assert folds_for_budget(8, 9_000, cheap, 5 * window) == 8  # 5x the time: 5x the rows
    assert folds_for_budget(8, 40_000, cheap, 5 * window) == 5
    assert folds_for_budget(8, 500, dear, window) == 3  # 5 x 30 s > 2 x 56.4 s: the guard
    assert folds_for_budget(8, 500, dear, window, share=3.0) == 5
    assert folds_for_budget(8, 500, [*cheap, 100.0], window) == 8  # only the head counts
    assert folds_for_budget(8, 10**6, dear, math.inf) == 8  # no time limit
    assert folds_for_budget(5, 500, cheap, window) == 5  # never above the data's own count
    assert folds_for_budget(3, 500, cheap, 1) == 3
    assert folds_for_budget(2, 500, cheap, 1) == 2  # tiny classes keep their 2 folds
    rows_rule = ((1_000, 8), (3_000, 5))
    assert folds_for_budget(8, 2_000, cheap, window, rows_rule=rows_rule) == 5


def test_the_tuner_does_not_rerun_a_pruned_config():
    # a pruned trial has no score; TPE kept proposing such a config (a 1-neighbour knn),
    # and after ten repeats it was run again: 33 distinct configs in 40 trials
    models = {name: MODELS[name] for name in ("linear", "knn")}
    searcher = Searcher(models, Task.BINARY, 300, 5, 12, "default")
    keys = []
    for _ in range(40):
        candidate = searcher.ask()
        keys.append(json.dumps([candidate.model, candidate.config], sort_keys=True))
        pruned = candidate.model == "knn" and candidate.config["n_neighbors"] <= 3
        searcher.tell(candidate, math.nan if pruned else -0.95)
    assert len(set(keys)) == len(keys)


def test_a_warm_started_search_runs_the_best_known_configs_first_and_never_the_rest():
    written = [(m, c) for m, c in load_portfolio("default", Task.BINARY) if m in MODELS]
    known = [
        {"model": m, "config": c, "loss": 0.5 - 0.01 * i} for i, (m, c) in enumerate(written[:6])
    ]
    known.append({"model": "no_such_model", "config": {}, "loss": 0.0})  # another library's
    searcher = Searcher(MODELS, Task.BINARY, 1000, 10, random_state=0)
    assert searcher.warm_start(known, n_first=2) == 6
    asked = []
    while (candidate := searcher.ask()) is not None and candidate.source == "portfolio":
        asked.append((candidate.model, candidate.config))
        searcher.tell(candidate, 0.3)
    best_two = [(t["model"], t["config"]) for t in sorted(known[:6], key=lambda t: t["loss"])[:2]]
    assert asked[:2] == best_two  # the best known first, to be fitted for the ensemble
    assert not any(pair in asked[2:] for pair in written[:6])  # the rest are not repeated
    assert asked[2:] == written[6:]  # then the portfolio where the earlier search stopped


@pytest.mark.parametrize("network", ["sound_cnn", "image_cnn"])
def test_a_media_network_runs_first_and_its_other_configs_soon_after(network):
    """On media data the network is the strongest family: all its default configs run
    within the first places of the queue, one in every three, the tabular portfolio's
    configs between them; a text network runs once, after two portfolio configs."""
    models = {**MODELS, network: EVERY_FAMILY[network], "minilm": EVERY_FAMILY["minilm"]}
    searcher = Searcher(models, Task.MULTICLASS, n_rows=2000, n_features=40)
    asked = [searcher.ask() for _ in range(12)]
    names = [c.model for c in asked]
    configs = EVERY_FAMILY[network].default_configs(Task.MULTICLASS)
    places = [i for i, name in enumerate(names) if name == network]
    assert places == [3 * i for i in range(len(configs))], names
    assert [asked[i].config for i in places] == configs
    assert names.count("minilm") == 1, names
    before_text = names[: names.index("minilm")]
    assert len([n for n in before_text if n in MODELS]) == 2, names  # two portfolio configs

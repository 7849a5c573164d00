"""SearchProposer: one-operator mutations of CONFIG, in range, never repeated, guided by
what was kept, and None when out of ideas."""

from __future__ import annotations

from assay import Task
from assay.research import ProposalContext, SearchProposer, read_config
from assay.research._init import template
from assay.research._ledger import hash_config
from assay.research._proposers import FEATURE_STEPS, operator_of

PIPELINE = template("pipeline.py")


def _ctx(pipeline=PIPELINE, ledger=(), last_error=None, metric="auc") -> ProposalContext:
    return ProposalContext("program", pipeline, list(ledger), last_error, metric, True)


def _changed(old: dict, new: dict) -> list[str]:
    keys = set(old) | set(new)
    return sorted(k for k in keys if old.get(k) != new.get(k))


def test_each_proposal_is_one_new_in_range_config_with_an_operator_description():
    from assay.models import MODELS

    proposer = SearchProposer(0)
    base = read_config(PIPELINE)
    seen = {hash_config(base)}
    ledger = [{"config_hash": hash_config(base), "status": "baseline", "source": "baseline"}]
    pipeline = PIPELINE
    for _ in range(40):
        change = proposer.propose(_ctx(pipeline, ledger))
        assert change is not None and change.source == "search"
        config = read_config(change.pipeline)
        key = hash_config(config)
        assert key not in seen  # never re-proposed
        seen.add(key)
        assert operator_of(change.description) is not None, change.description
        assert "\n" not in change.description
        assert set(config["features"]) <= set(FEATURE_STEPS)
        single = config["single_model"]
        if single:
            space = MODELS[single["model"]].search_space(1000, 10, Task.BINARY)
            for name, value in single["params"].items():
                assert space[name].contains(value), (name, value)
        # the code outside the config block is untouched
        assert (
            change.pipeline.split("# --- end config ---")[1]
            == PIPELINE.split("# --- end config ---")[1]
        )
        ledger.append({"config_hash": key, "description": change.description, "source": "search"})
        if len(ledger) % 5 == 0:  # sometimes a change is kept and becomes the base
            pipeline = change.pipeline


def test_param_mutations_describe_the_old_and_new_value():
    pipeline = PIPELINE.replace(
        '"single_model": None',
        '"single_model": {"model": "lightgbm", "params": {"num_leaves": 31}}',
    )
    proposer = SearchProposer(3)
    descriptions = [proposer.propose(_ctx(pipeline)).description for _ in range(30)]
    params = [d for d in descriptions if d.startswith("lightgbm: ")]
    assert params, descriptions
    assert all(" -> " in d for d in params)
    leaves = [d for d in params if d.startswith("lightgbm: num_leaves 31 -> ")]
    for d in leaves:
        assert int(d.rsplit(" ", 1)[1]) != 31


def test_the_family_that_gained_is_proposed_first():
    def line(description, score, status="discard"):
        return {"description": description, "score": score, "status": status, "source": "search"}

    ledger = [
        {"description": "baseline", "score": 0.80, "status": "baseline", "source": "baseline"},
        line("features: + row-wise missing count", 0.79),
        line("models: - knn", 0.795),
        line("n_folds: auto -> 5", 0.80),
        line("continue_search: on", 0.798),
        line("stack: auto -> off", 0.84, "keep"),
    ]
    first = [
        operator_of(SearchProposer(seed).propose(_ctx(ledger=ledger)).description)
        for seed in range(10)
    ]
    assert first.count("stack") >= 6, first  # the bandit's pick, but for exploration


def test_out_of_ideas_returns_none_and_fix_requests_are_declined():
    # a CONFIG with only feature steps: every subset within three steps of the empty list
    # (5 + 10 + 10 of them), then nothing new
    pipeline = PIPELINE.replace('"single_model": None', '"single_model": None, "x": 1')
    config = read_config(pipeline)
    config.pop("automl")
    from assay.research import write_config

    pipeline = write_config(pipeline, config)
    proposer = SearchProposer(1)
    ledger = [{"config_hash": hash_config(config)}]
    n = 0
    while (change := proposer.propose(_ctx(pipeline, ledger))) is not None:
        n += 1
        assert operator_of(change.description) == "features"
        assert n <= 25
    assert n == 25
    assert SearchProposer(0).propose(_ctx(last_error="Traceback ...")) is None


def test_regression_metrics_give_regression_search_spaces():
    pipeline = PIPELINE.replace(
        '"single_model": None', '"single_model": {"model": "linear", "params": {"alpha": 1.0}}'
    )
    proposer = SearchProposer(0)
    for _ in range(20):
        change = proposer.propose(_ctx(pipeline, metric="rmse"))
        params = (read_config(change.pipeline)["single_model"] or {}).get("params", {})
        assert "C" not in params  # the classification knob of the linear family


DISCOVERED = [
    {"spec": ["ratio", "a", "b"], "text": "a / b", "gain": 0.3},
    {"spec": ["mean_by", "x", "g"], "text": "mean of x by g", "gain": 0.2},
    {"spec": ["count", "g"], "text": "count of g", "gain": 0.1},
]


def test_discovered_features_are_proposed_in_words_and_only_where_the_pipeline_has_the_step():
    proposer = SearchProposer(0)
    ctx = ProposalContext("program", PIPELINE, [], None, "auc", True, discovered=DISCOVERED)
    added = []
    for _ in range(60):
        change = proposer.propose(ctx)
        if change.description.startswith("discovered: +") and ";" not in change.description:
            config = read_config(change.pipeline)
            assert config["discovered"] and all(
                s in [f["spec"] for f in DISCOVERED] for s in config["discovered"]
            )
            words = change.description.removeprefix("discovered: + ").split(", ")
            assert words == [f["text"] for f in DISCOVERED if f["spec"] in config["discovered"]]
            added.append(change.description)
    assert len(added) >= 3 and "discovered: + a / b" in added  # the best is proposed alone
    # a pipeline from before discovery (no "discovered" in CONFIG) never gets the operator
    old = PIPELINE.replace('    "discovered": [],\n', "")
    assert "discovered" not in read_config(old)
    ctx = ProposalContext("program", old, [], None, "auc", True, discovered=DISCOVERED)
    proposer = SearchProposer(1)
    assert all(operator_of(proposer.propose(ctx).description) != "discovered" for _ in range(30))

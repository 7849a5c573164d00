"""Hints mid-run: `assay research hint` and program.md's Hints section reach the next
proposal; the search proposer acts on the words it understands and says which it did not."""

from __future__ import annotations

import json

from research_helpers import commit_pipeline, with_config
from test_research_cli import assay

from assay.research import Ledger, ProposalContext, SearchProposer
from assay.research._hints import add_hint, hints_of, understand
from assay.research._init import template

COLUMNS = ["income", "debt", "age", "city"]
BASELINE = {"number": 0, "status": "baseline", "score": 0.7, "description": "baseline"}


def test_a_hint_names_columns_operators_families_and_what_to_stop():
    guidance = understand(
        ["try ratios of income and debt", "stop stacking and no knn", "more xgboost zorblat"],
        COLUMNS,
    )
    specs = [spec for spec, _ in guidance.features]
    assert ["ratio", "income", "debt"] in specs and ["ratio", "debt", "income"] in specs
    assert guidance.families["features"] == "try ratios of income and debt"
    assert "ensembling" in guidance.avoid and "knn" in guidance.avoid_models
    assert guidance.models == {"xgboost": "more xgboost zorblat"}
    assert guidance.unknown == {"more xgboost zorblat": ["zorblat"]}
    assert understand(["mean of age by city"], COLUMNS).features[0][0] == [
        "mean_by",
        "age",
        "city",
    ]


def test_hints_live_in_program_md_and_a_new_one_is_appended(tmp_path):
    (tmp_path / "program.md").write_text("# Research program\n\n## Rules\n\n1. x\n")
    add_hint(tmp_path, "try ratios of income and debt")
    add_hint(tmp_path, "stop   stacking")
    program = (tmp_path / "program.md").read_text()
    assert hints_of(program) == ["try ratios of income and debt", "stop stacking"]
    assert program.startswith("# Research program") and "## Rules" in program


def _context(pipeline: str, program: str) -> ProposalContext:
    return ProposalContext(
        program=program,
        pipeline=pipeline,
        ledger=[BASELINE],
        last_error=None,
        metric="auc",
        greater_is_better=True,
        columns=COLUMNS,
    )


def test_the_proposer_follows_a_hint_and_never_proposes_what_a_hint_stopped():
    pipeline = with_config(template("pipeline.py"), automl={"models": None, "n_folds": None})
    hinted = "## Hints\n\n- try ratios of income and debt\n- stop doing folds and stacking\n"
    first = SearchProposer(0).propose(_context(pipeline, hinted))
    assert first.description.startswith("discovered: + income / debt, debt / income")
    assert "try ratios of income and debt" in first.why
    for seed in range(30):
        change = SearchProposer(seed).propose(_context(first.pipeline, hinted))
        if change is None:
            continue
        assert not change.description.startswith(("n_folds", "stack")), change.description
    plain = [SearchProposer(s).propose(_context(pipeline, "")) for s in range(30)]
    assert any(c.description.startswith(("n_folds", "stack")) for c in plain if c is not None)


def test_a_hint_through_the_cli_changes_the_next_experiment(fast_ws):
    ws, harness = fast_ws
    base = with_config(
        template("pipeline.py"), automl={"models": ["linear"], "n_folds": 3}, discovered=[]
    )
    commit_pipeline(ws, base, "a template baseline")
    said = assay("research", "hint", str(ws), "try the ratio of a and b, zorblat").stdout
    assert "features ratio a b" in said and "not understood: zorblat" in said, said
    run = ["--max-exp", "1", "--noise-seeds", "1", "--discover", "0", "--no-holdout"]
    assay("research", "run", str(ws), *run)
    records = [r for r in Ledger(ws, harness.id, store=False).read() if r.status != "baseline"]
    assert records, "no experiment ran"
    first = records[0]
    assert first.description.startswith("discovered: + a / b, b / a"), first.description
    assert "hint" in first.description
    shown = json.dumps([r.description for r in records])
    assert "try the ratio of a and b" in shown


def test_parallel_search_proposers_each_keep_to_their_focus_and_sign_their_changes():
    from assay.research import ProposerTeam, search_team

    pipeline = with_config(template("pipeline.py"), automl={"models": None, "n_folds": None})
    team = search_team(3, random_state=0)
    assert isinstance(team, ProposerTeam)
    changes = [team.propose(_context(pipeline, "")) for _ in range(9)]
    sources = [c.source for c in changes]
    assert sources[:3] == ["search/features", "search/models", "search/ensembling"]
    assert sources[3:6] == sources[:3]
    for change in changes:
        assert "focus" in change.why or "hint" in change.why or "tried" in change.why
    operators = {}
    for change in changes:  # the first change of each: its one-step move of its family
        operators.setdefault(change.source, change.description.split(":")[0])
    assert all(c.description.startswith("stack") for c in changes[2::3])
    assert operators["search/features"] in ("discovered", "features")
    assert operators["search/ensembling"] == "stack"
    assert operators["search/models"] in ("models", "single model", "portfolio")


def test_a_proposer_focused_on_a_family_a_hint_stopped_proposes_from_the_others():
    pipeline = with_config(template("pipeline.py"), automl={"models": None, "n_folds": None})
    stopped = "## Hints\n\n- stop stacking\n"
    proposer = SearchProposer(0, focus="ensembling")
    changes = [proposer.propose(_context(pipeline, stopped)) for _ in range(5)]
    assert all(c is not None and not c.description.startswith("stack") for c in changes)

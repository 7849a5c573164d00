"""The research loop with a scripted proposer and a fast candidate: keep and discard,
crashes and fixes, refusals and seed-only changes, the ledger and the store agreeing."""

from __future__ import annotations

import pytest
from research_helpers import FAST_PIPELINE, ScriptedProposer, git, git_ok, with_config

from assay.research import Change, ExperimentStatus, Ledger, ResearchLoop
from assay.store import open_store

GOOD = with_config(FAST_PIPELINE, columns=["a", "b"])  # the signal: a big, certain gain
# the signal turned upside down (the farthest centroid wins): surely worse than the baseline
WORSE = GOOD.replace("S = np.column_stack([-(", "S = np.column_stack([(")
CRASH = FAST_PIPELINE.replace("RUN = json", 'raise RuntimeError("boom-42")\nRUN = json')


def _statuses(records):
    return [ExperimentStatus(r.status).value for r in records]


def _ledger(ws, harness):
    return Ledger(ws, harness.id, store=False).read()


def test_keep_and_discard_leave_git_ledger_and_store_consistent(fast_ws):
    ws, harness = fast_ws
    start = git(ws, "rev-parse", "HEAD")
    proposer = ScriptedProposer(
        [Change(GOOD, "use a and b"), Change(with_config(GOOD, columns=["c"]), "use c only")]
    )
    summary = ResearchLoop(ws, proposer, max_exp=5, n_noise_seeds=2).run()

    records = _ledger(ws, harness)
    assert _statuses(records) == ["baseline", "keep", "discard"]
    assert summary.n_experiments == 2 and summary.n_kept == 1
    assert summary.stopped_because == "the proposer is out of ideas"
    baseline, kept, discarded = records
    assert baseline.commit == start and len(baseline.seed_scores) == 2
    assert kept.parent == start and discarded.parent == kept.commit
    assert kept.score > baseline.score + summary.noise_floor
    assert discarded.score < kept.score
    # git: the branch is on the kept commit, with its pipeline; the discarded one is pinned
    assert git(ws, "rev-parse", "HEAD") == kept.commit == summary.best_commit
    assert (ws / "pipeline.py").read_text() == GOOD
    assert git(ws, "status", "--porcelain") == ""
    assert git(ws, "rev-parse", "refs/experiments/2") == discarded.commit
    assert not git_ok(ws, "merge-base", "--is-ancestor", discarded.commit, "HEAD")
    # the store mirrors results.tsv line for line
    stored = open_store().experiments(harness.id)
    assert [r.to_dict() for r in stored] == [r.to_dict() for r in records]
    # the proposer saw the ledger and the best pipeline each time
    second = proposer.contexts[1]
    assert second.pipeline == GOOD and second.last_error is None
    assert [e["number"] for e in second.ledger] == [0, 1]
    assert second.metric == "auc" and second.greater_is_better is True
    assert "Research program" in second.program


def test_a_crash_is_logged_and_a_fix_is_asked_for_with_the_log_tail(fast_ws):
    ws, harness = fast_ws
    crashed = Change(with_config(CRASH, columns=["a", "b"]), "a and b, with a bug")

    def fix(ctx):
        return Change(ctx.pipeline.replace('raise RuntimeError("boom-42")\n', ""), "drop the bug")

    proposer = ScriptedProposer([crashed, fix])
    ResearchLoop(ws, proposer, max_exp=5, n_noise_seeds=2).run()

    records = _ledger(ws, harness)
    assert _statuses(records) == ["baseline", "crash", "keep"]
    asked = proposer.contexts[1]
    assert asked.last_error is not None and "boom-42" in asked.last_error
    assert asked.pipeline == crashed.pipeline  # the fix edits what crashed
    assert records[2].source == "fix" and records[2].parent == records[0].commit
    assert proposer.contexts[2].last_error is None  # after a good run: normal proposals
    assert git(ws, "rev-parse", "HEAD") == records[2].commit
    assert (harness.logs / "exp-0001.log").read_text().count("boom-42") >= 1


def test_fix_attempts_stop_after_max_fixes(fast_ws):
    ws, harness = fast_ws
    still_broken = Change(CRASH.replace("boom-42", "boom-43"), "still broken")
    proposer = ScriptedProposer(
        [Change(CRASH, "bug"), still_broken, Change(CRASH.replace("boom-42", "boom-44"), "x")]
    )
    ResearchLoop(ws, proposer, max_exp=5, max_fixes=1, n_noise_seeds=1).run()
    records = _ledger(ws, harness)
    assert _statuses(records) == ["baseline", "crash", "crash", "crash"]
    asked = [c.last_error is not None for c in proposer.contexts]
    # one fix for the first crash (itself not fixed again), a new idea, a fix request for
    # that one answered None (no fix: go on), then the proposer is out of ideas
    assert asked == [False, True, False, True, False]
    assert [r.source for r in records[1:]] == ["search", "fix", "search"]
    assert git(ws, "rev-parse", "HEAD") == records[0].commit


def test_seed_only_and_refused_changes_are_never_run_nor_kept(fast_ws):
    ws, harness = fast_ws
    start = git(ws, "rev-parse", "HEAD")
    reseeded = FAST_PIPELINE.replace('default_rng(RUN["seed"])', 'default_rng(RUN["seed"] + 7)')
    broken = FAST_PIPELINE.replace("import json", "import json(")
    proposer = ScriptedProposer(
        [Change(reseeded, "another seed"), Change(broken, "typo"), Change(WORSE, "inverted")]
    )
    ResearchLoop(ws, proposer, max_exp=5, n_noise_seeds=2).run()

    records = _ledger(ws, harness)
    assert _statuses(records) == ["baseline", "seed-only", "refused", "discard"]
    for record in records[1:3]:
        assert record.commit is None and record.score is None and record.wall_s is None
        assert not (harness.logs / f"exp-{record.exp_no:04d}.log").exists()  # never ran
    assert "refused:" in records[2].description
    assert git(ws, "rev-parse", "HEAD") == start
    assert git(ws, "for-each-ref", "refs/experiments/").count("refs/experiments/") == 1


def test_max_exp_counts_every_line_and_numbers_continue_on_the_next_run(fast_ws):
    ws, harness = fast_ws
    configs = [with_config(FAST_PIPELINE, jitter=0.3 + i / 10) for i in range(1, 5)]
    ResearchLoop(ws, ScriptedProposer([Change(t, f"j{i}") for i, t in enumerate(configs)]),
                 max_exp=2, n_noise_seeds=1).run()  # fmt: skip
    assert [r.exp_no for r in _ledger(ws, harness)] == [0, 1, 2]
    proposer = ScriptedProposer([Change(configs[3], "j3")])
    summary = ResearchLoop(ws, proposer, max_exp=2, n_noise_seeds=1).run()
    records = _ledger(ws, harness)
    assert [r.exp_no for r in records] == [0, 1, 2, 3]  # no second baseline, no reused number
    assert summary.n_experiments == 1
    assert [e["number"] for e in proposer.contexts[0].ledger] == [0, 1, 2]


def test_parallel_runs_decide_in_completion_order(fast_ws):
    ws, harness = fast_ws
    changes = [
        Change(WORSE, "inverted"),
        Change(GOOD, "use a and b"),
        Change(with_config(WORSE, jitter=0.5), "inverted, more jitter"),
        Change(with_config(WORSE, jitter=0.1), "inverted, less jitter"),
    ]
    summary = ResearchLoop(
        ws, ScriptedProposer(changes), max_exp=4, parallel=2, n_noise_seeds=2
    ).run()
    records = _ledger(ws, harness)
    assert sorted(r.exp_no for r in records) == [0, 1, 2, 3, 4]
    first_two = [r for r in records if r.exp_no in (1, 2)]
    assert [r.parent for r in first_two] == [records[0].commit] * 2  # proposed side by side
    assert len({r.commit for r in records}) == 5
    kept = [r for r in records if ExperimentStatus(r.status).is_best]
    assert git(ws, "rev-parse", "HEAD") == kept[-1].commit == summary.best_commit
    kept_text = [r.description for r in records if r.status == "keep"]
    assert len(kept_text) == 1 and kept_text[0].startswith("use a and b [gain +")
    assert (ws / "pipeline.py").read_text() == GOOD
    assert git(ws, "status", "--porcelain") == ""
    worktrees = git(ws, "worktree", "list").splitlines()
    assert len(worktrees) == 1  # the parallel slots are gone


def test_an_unusable_llm_reply_is_refused_and_an_outage_stops_the_loop(fast_ws):
    from assay.errors import LLMError, ProposalError

    ws, harness = fast_ws

    def unusable(ctx):
        raise ProposalError("the reply has neither a ```diff block nor a ```python block")

    def outage(ctx):
        raise LLMError("the LLM server at http://localhost:1 did not answer")

    proposer = ScriptedProposer([unusable, Change(GOOD, "use a and b"), outage, Change(GOOD, "x")])
    summary = ResearchLoop(ws, proposer, max_exp=5, n_noise_seeds=1).run()
    records = _ledger(ws, harness)
    assert _statuses(records) == ["baseline", "refused", "keep"]
    assert "neither a ```diff block" in records[1].description and records[1].commit is None
    assert summary.stopped_because.startswith("the proposer failed: the LLM server")
    assert git(ws, "rev-parse", "HEAD") == records[2].commit


def test_min_se_also_asks_the_gain_to_beat_its_bootstrap_error(fast_ws):
    ws, harness = fast_ws
    proposer = ScriptedProposer([Change(GOOD, "use a and b")])
    ResearchLoop(ws, proposer, max_exp=1, n_noise_seeds=2, min_se=1e6).run()
    records = _ledger(ws, harness)
    assert _statuses(records) == ["baseline", "discard"]  # beyond the floor, not 1e6 SE
    assert "bootstrap SE, under 1e+06 for 1 of 1 tried against the best]" in records[1].description
    assert git(ws, "rev-parse", "HEAD") == records[0].commit

    ResearchLoop(ws, ScriptedProposer([Change(GOOD, "a and b again")]), max_exp=1).run()
    kept = _ledger(ws, harness)[-1]
    # the bar: two errors, or more for the best of several tries (one discard before it)
    assert kept.status == "keep" and "bootstrap SE, over 2 for 1 of 2 tried" in kept.description


def test_the_keep_bar_rises_with_the_changes_tried_against_the_same_best(fast_ws):
    from assay.research._ledger import keep_threshold

    # were no change better, luck keeps one of n tries with probability 5%: Sidak's bound
    bars = [keep_threshold(2.0, n) for n in (1, 2, 3, 5, 20, 100)]
    assert bars[:2] == [2.0, 2.0] and bars == sorted(bars)
    assert [round(b, 2) for b in bars[2:]] == [2.12, 2.32, 2.8, 3.28]
    assert keep_threshold(1.0, 1) == pytest.approx(1.645, abs=1e-3)
    assert keep_threshold(0.0, 50) == 0.0  # --min-se 0 turns the check off
    ws, harness = fast_ws
    noise = [
        Change(with_config(GOOD, columns=["c"]), "use c only"),
        Change(WORSE, "the signal upside down"),
        Change(with_config(GOOD, columns=["c", "d"]), "use c and d"),
    ]
    proposer = ScriptedProposer([*noise, Change(GOOD, "use a and b")])
    ResearchLoop(ws, proposer, max_exp=4, n_noise_seeds=2).run()
    records = [r for r in _ledger(ws, harness) if r.status != "ensemble"]
    assert _statuses(records) == ["baseline", "discard", "discard", "discard", "keep"]
    assert "for 1 of 4 tried against the best]" in records[-1].description


def test_experiments_run_on_a_dask_cluster(fast_ws):
    pytest.importorskip("distributed", reason="the dask extra is not installed")
    ws, harness = fast_ws
    proposer = ScriptedProposer(
        [Change(GOOD, "use a and b"), Change(with_config(GOOD, columns=["c"]), "use c only")]
    )
    summary = ResearchLoop(ws, proposer, max_exp=5, n_noise_seeds=2, cluster="local:2").run()
    assert _statuses(_ledger(ws, harness)) == ["baseline", "keep", "discard"]
    assert git(ws, "rev-parse", "HEAD") == summary.best_commit


def test_no_experiment_starts_after_the_time_limit(fast_ws):
    ws, _ = fast_ws
    changes = [Change(with_config(FAST_PIPELINE, jitter=j), f"jitter {j}") for j in (0.1, 0.2)]
    summary = ResearchLoop(
        ws, ScriptedProposer(changes), n_noise_seeds=1, time_limit_s=0.01, discover_s=0
    ).run()  # the baseline alone outlasts 0.01 s, however fast the machine
    assert summary.stopped_because == "time limit reached" and summary.n_experiments == 0

"""The other tables of the store (llm_calls, experiments, hypotheses) round trip on both
backends, and refuse a number recorded twice."""

from __future__ import annotations

import math

import pytest

from assay.errors import StoreError
from assay.store import SQLStore
from assay.store._experiments import ExperimentRecord
from assay.store._hypotheses import HypothesisRecord
from assay.store._llm_calls import LLMCallRecord


def test_llm_calls_round_trip_with_numbers_in_order(store: SQLStore) -> None:
    run_id = store.start_run(task="binary").run_id
    assert store.record_llm_call(run_id, model="m", prompt_tokens=10, cost_usd=0.5) == 1
    assert (
        store.record_llm_call(
            run_id,
            model="a-very/long-provider/model-name" * 5,
            completion_tokens=7,
            cost_usd=math.nan,
            latency_s=1.25,
            cached=True,
            created_at=1_700_000_000.5,
        )
        == 2
    )
    assert store.record_llm_call(run_id, model="m", error="HTTP 500: boom\nsecond line") == 3

    first, second, third = store.llm_calls(run_id[:6])
    assert first == LLMCallRecord(
        run_id, 1, "m", prompt_tokens=10, cost_usd=0.5, created_at=first.created_at
    )
    assert second.model == "a-very/long-provider/model-name" * 5
    assert second.cached is True and first.cached is False  # a real bool on both backends
    assert math.isnan(second.cost_usd) and second.created_at == 1_700_000_000.5
    assert second.latency_s == 1.25 and second.completion_tokens == 7
    assert third.cost_usd is None and third.error == "HTTP 500: boom\nsecond line"
    with pytest.raises(StoreError, match="no run"):
        store.record_llm_call("nope1234", model="m")


def _experiment(exp_no: int, **overrides) -> ExperimentRecord:
    values = dict(
        research_id="abc123def456",
        exp_no=exp_no,
        commit="f" * 40,
        parent=None,
        status="kept",
        score=0.8 + exp_no / 100,
        description="lower the learning rate — ünïcode survives",
        source="search",
        wall_s=12.5,
        peak_memory_mb=None,
        started_at=1_700_000_000.0 + exp_no,
        config_hash="0" * 64,
        seed_scores=(0.81, math.nan, math.inf),
    )
    values.update(overrides)
    return ExperimentRecord(**values)


def test_experiments_round_trip_and_refuse_a_number_twice(store: SQLStore) -> None:
    sent = [_experiment(1), _experiment(0, commit=None, score=math.nan, seed_scores=())]
    for record in sent:
        store.record_experiment(record)
    got = store.experiments("abc123def456")
    assert [r.exp_no for r in got] == [0, 1]
    assert got[0].commit is None and math.isnan(got[0].score) and got[0].seed_scores == ()
    assert got[1].description == sent[0].description and got[1].score == sent[0].score
    assert got[1].seed_scores[0] == 0.81 and math.isnan(got[1].seed_scores[1])
    assert got[1].seed_scores[2] == math.inf
    assert store.experiments("other") == []
    with pytest.raises(StoreError, match="already recorded"):
        store.record_experiment(_experiment(1, description="again"))
    assert [r.description for r in store.experiments("abc123def456")][1] == sent[0].description


def _hypothesis(seq: int, **overrides) -> HypothesisRecord:
    values = dict(
        run_id="d" * 32,
        seq=seq,
        hypothesis_id=f"h{seq:03d}",
        kind="activation",
        origin="grammar",
        status="evaluated",
        reward=0.25,
        predicted=None,
        description="x * sigmoid(x)",
        code="def f(x):\n    return x * torch.sigmoid(x)\n",
        created_at=1_700_000_000.0 + seq,
        details={"win_rate": 0.75, "p_value": math.nan, "parents": ["h000"], "ok": True},
    )
    values.update(overrides)
    return HypothesisRecord(**values)


def test_hypotheses_round_trip_and_refuse_a_sequence_number_twice(store: SQLStore) -> None:
    store.record_hypothesis(_hypothesis(1, reward=-math.inf, predicted=0.5))
    store.record_hypothesis(_hypothesis(0, status="invalid", reward=None, details={}))
    first, second = store.hypotheses("d" * 32)
    assert first == _hypothesis(0, status="invalid", reward=None, details={})
    assert second.reward == -math.inf and second.predicted == 0.5
    assert second.code == _hypothesis(1).code
    assert math.isnan(second.details["p_value"])
    assert second.details["parents"] == ["h000"] and second.details["ok"] is True
    with pytest.raises(StoreError, match="already recorded"):
        store.record_hypothesis(_hypothesis(1))
    assert store.hypotheses("e" * 32) == []

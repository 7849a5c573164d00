"""LLM calls recorded in the run store: StoreRecorder, the llm_calls table, its migration."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from assay.errors import LLMError, StoreError
from assay.llm import Message, OpenAIBackend, ResponseCache, StoreRecorder
from assay.store import open_store
from assay.testing import ScriptedOpenAIServer

ASK = [Message("user", "Which metric for an imbalanced target?")]


def test_store_recorder_writes_one_row_per_call(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'x.db'}")
    run_id = store.start_run(task="binary").run_id
    script = [
        {"content": "ROC AUC.", "usage": {"prompt_tokens": 2000, "completion_tokens": 10}},
        {"status": 404, "error": "model not found"},
    ]
    with ScriptedOpenAIServer(script) as server:
        llm = OpenAIBackend(
            server.base_url,
            "small-model",
            cache=ResponseCache(tmp_path / "cache"),
            recorder=StoreRecorder(store, run_id),
            price_per_1k=(0.001, 0.002),
        )
        llm.complete(ASK)
        llm.complete(ASK)  # from the cache
        with pytest.raises(LLMError):
            llm.complete([Message("user", "something else")])
    first, hit, failed = store.llm_calls(run_id[:8])  # a prefix is enough
    assert [c.call_no for c in (first, hit, failed)] == [1, 2, 3]
    assert {c.run_id for c in (first, hit, failed)} == {run_id}
    assert (first.model, first.prompt_tokens, first.completion_tokens) == ("small-model", 2000, 10)
    assert first.cost_usd == pytest.approx(0.002 + 0.00002)
    assert first.cached is False and first.error is None and first.latency_s > 0
    assert hit.cached is True and hit.cost_usd == 0.0 and hit.prompt_tokens == 2000
    assert failed.error is not None and "model not found" in failed.error
    assert failed.prompt_tokens == 0 and failed.cost_usd is None
    assert first.created_at <= hit.created_at <= failed.created_at
    store.close()
    with open_store(f"sqlite:///{tmp_path / 'x.db'}") as again:  # durable
        assert len(again.llm_calls(run_id)) == 3


def test_llm_calls_need_an_existing_run(tmp_path: Path) -> None:
    with open_store(f"sqlite:///{tmp_path / 'x.db'}") as store:
        with pytest.raises(StoreError, match="no run 'missing'"):
            store.record_llm_call("missing", model="m")
        run_id = store.start_run().run_id
        assert store.llm_calls(run_id) == []
        assert store.record_llm_call(run_id, model="m", cost_usd=None) == 1
        assert store.record_llm_call(run_id, model="m", cached=True) == 2
        other = store.start_run().run_id
        assert store.record_llm_call(other, model="m") == 1  # numbered per run
        assert [c.cached for c in store.llm_calls(run_id)] == [False, True]


def test_an_older_store_gets_the_llm_calls_table(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with open_store(f"sqlite:///{path}") as store:
        run_id = store.start_run().run_id
    with closing(sqlite3.connect(path)) as conn:  # make it look like a version-1 store
        conn.execute("DROP TABLE llm_calls")
        conn.execute("UPDATE schema_version SET version = 1")
        conn.commit()
    with open_store(f"sqlite:///{path}") as store:
        assert store.get_run(run_id).run_id == run_id  # old data kept
        store.record_llm_call(run_id, model="m", prompt_tokens=5)
        assert store.llm_calls(run_id)[0].prompt_tokens == 5
    with closing(sqlite3.connect(path)) as conn:
        (version,) = conn.execute("SELECT version FROM schema_version").fetchone()
    assert version >= 2

"""ScriptedBackend, and the scripted server's wire format as any HTTP client sees it."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from assay.errors import LLMError
from assay.llm import INVALID_JSON_KEY, LLM, Message, ScriptedBackend, Tool
from assay.testing import ScriptedOpenAIServer

TOOL = Tool("fit", "Fit.", {"type": "object", "properties": {}})


def test_scripted_backend_replays_in_order_and_records_what_it_was_sent() -> None:
    llm = ScriptedBackend(
        [
            {"tool_calls": [{"name": "fit", "arguments": {"dataset": "iris"}}]},
            {"raw_tool_arguments": "{broken", "name": "fit"},
            lambda messages, tools: f"you sent {len(messages)} messages and {len(tools)} tools",
            Message("assistant", "bye"),
        ]
    )
    assert isinstance(llm, LLM)
    first = llm.complete([Message("user", "fit iris")], [TOOL])
    second = llm.complete([Message("user", "again")], [TOOL])
    third = llm.complete([Message("user", "a"), Message("user", "b")], [TOOL])
    fourth = llm.complete([Message("user", "end")])
    assert [(c.name, c.arguments) for c in first.message.tool_calls] == [
        ("fit", {"dataset": "iris"})
    ]
    assert second.message.tool_calls[0].arguments == {INVALID_JSON_KEY: "{broken"}
    assert third.message.content == "you sent 2 messages and 1 tools"
    assert fourth.message.content == "bye"
    assert [m[0].content for m in llm.requests] == ["fit iris", "again", "a", "end"]
    assert llm.tools_sent[0] == [TOOL] and llm.tools_sent[3] == []
    assert first.usage.prompt_tokens == 2 and llm.remaining == 0
    with pytest.raises(LLMError, match="call 5 but its script has only 4 replies"):
        llm.complete([Message("user", "more?")])


def test_scripted_backend_reads_json_and_jsonl_scripts(tmp_path: Path) -> None:
    items = ["hello", {"tool_calls": [{"name": "fit", "arguments": {"k": 1}}]}]
    (tmp_path / "s.json").write_text(json.dumps(items))
    (tmp_path / "s.jsonl").write_text("\n".join(json.dumps(i) for i in items) + "\n")
    for name in ("s.json", "s.jsonl"):
        llm = ScriptedBackend(tmp_path / name)
        assert llm.complete([]).message.content == "hello"
        assert llm.complete([]).message.tool_calls[0].arguments == {"k": 1}
    (tmp_path / "bad.json").write_text("{not a list")
    with pytest.raises(LLMError, match=r"bad\.json"):
        ScriptedBackend(str(tmp_path / "bad.json"))


def _post(url: str, body: dict) -> tuple[int, bytes]:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_server_speaks_the_openai_wire_format() -> None:
    script = [
        "hi there",
        {"tool_calls": [{"name": "fit", "arguments": {"a": 1}}, {"name": "x", "arguments": "{"}]},
        lambda body: f"you asked for {body['model']}",
    ]
    body = {"model": "m1", "messages": [{"role": "user", "content": "one two three"}]}
    with ScriptedOpenAIServer(script) as server:
        url = server.base_url + "/chat/completions"
        status, raw = _post(url, body)
        assert status == 200
        text = json.loads(raw)
        assert text["object"] == "chat.completion" and text["model"] == "m1"
        assert text["id"] and isinstance(text["created"], int)
        (choice,) = text["choices"]
        assert choice["message"] == {"role": "assistant", "content": "hi there"}
        assert choice["finish_reason"] == "stop"
        assert text["usage"] == {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}
        calls = json.loads(_post(url, body)[1])["choices"][0]
        assert calls["finish_reason"] == "tool_calls"
        wire = calls["message"]["tool_calls"]
        assert [c["type"] for c in wire] == ["function", "function"]
        assert [c["function"]["arguments"] for c in wire] == ['{"a": 1}', "{"]
        assert json.loads(_post(url, body)[1])["choices"][0]["message"]["content"] == (
            "you asked for m1"
        )
        status, raw = _post(url, body)
        assert status == 500
        assert "script exhausted after 3 requests" in json.loads(raw)["error"]["message"]
        with urllib.request.urlopen(server.base_url + "/models", timeout=5) as response:
            assert json.loads(response.read())["object"] == "list"
    assert [r["model"] for r in server.requests] == ["m1"] * 4


def test_server_streams_server_sent_events() -> None:
    item = {"content": "ok then", "tool_calls": [{"name": "fit", "arguments": {"n": 12345}}]}
    body = {
        "model": "m",
        "messages": [],
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    with ScriptedOpenAIServer([item]) as server:
        status, raw = _post(server.base_url + "/chat/completions", body)
    assert status == 200
    events = [e for e in raw.decode().split("\n\n") if e]
    assert all(e.startswith("data: ") for e in events) and events[-1] == "data: [DONE]"
    chunks = [json.loads(e.removeprefix("data: ")) for e in events[:-1]]
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    deltas = [c["choices"][0]["delta"] for c in chunks if c["choices"]]
    assert "".join(d.get("content") or "" for d in deltas) == "ok then"
    pieces = [tc for d in deltas for tc in d.get("tool_calls", [])]
    assert pieces[0]["id"] and pieces[0]["function"]["name"] == "fit"
    assert json.loads("".join(p["function"]["arguments"] for p in pieces)) == {"n": 12345}
    assert len(pieces) > 2  # the arguments arrive in several deltas
    assert [c["choices"][0]["finish_reason"] for c in chunks if c["choices"]][-1] == "tool_calls"
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["completion_tokens"] > 0


def test_server_reports_a_broken_script_item() -> None:
    with ScriptedOpenAIServer([lambda body: body["missing"], {"tool_calls": [{}]}]) as server:
        url = server.base_url + "/chat/completions"
        for _ in range(2):
            status, raw = _post(url, {"messages": []})
            assert status == 500 and "script item failed" in json.loads(raw)["error"]["message"]
    assert len(server.errors) == 2 and "KeyError" in server.errors[0]


def test_server_fail_first_delay_and_url_down() -> None:
    with ScriptedOpenAIServer(["a"], fail_first=1, delay_s=0.2) as server:
        url = server.base_url + "/chat/completions"
        start = time.monotonic()
        assert _post(url, {"messages": []})[0] == 503
        assert _post(url, {"messages": []})[0] == 200
        assert time.monotonic() - start >= 0.4  # both answers delayed
        assert len(server.requests) == 2 and server.exhausted
    down = ScriptedOpenAIServer.url_down()
    assert down.startswith("http://127.0.0.1:") and down.endswith("/v1")
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(down + "/models", timeout=2)

"""OpenAIBackend against a real HTTP server on 127.0.0.1 that answers from a script."""

from __future__ import annotations

from pathlib import Path

import pytest

from assay.errors import LLMError
from assay.llm import (
    INVALID_JSON_KEY,
    Completion,
    Message,
    OpenAIBackend,
    ResponseCache,
    Tool,
    ToolCall,
    ToolMode,
)
from assay.testing import ScriptedOpenAIServer

FIT = Tool(
    "fit",
    "Fit a model on a dataset.",
    {
        "type": "object",
        "properties": {"dataset": {"type": "string"}, "time_s": {"type": "number"}},
        "required": ["dataset"],
    },
)
PROFILE = Tool("profile", "Describe a dataset.", {"type": "object", "properties": {}})
ASK = [Message("system", "You are a data scientist."), Message("user", "Fit iris for 30 s.")]


def backend(url: str, **kwargs) -> OpenAIBackend:
    kwargs.setdefault("backoff_s", 0.01)
    kwargs.setdefault("backoff_max_s", 0.05)
    return OpenAIBackend(url, "test-model", **kwargs)


def test_plain_text_reply_and_request_on_the_wire() -> None:
    with ScriptedOpenAIServer(["Iris is a small flower dataset."]) as server:
        completion = backend(server.base_url).complete(ASK)
    assert completion.message == Message("assistant", "Iris is a small flower dataset.")
    assert completion.model == "test-model"
    assert completion.cached is False and completion.latency_s > 0
    (sent,) = server.requests
    assert sent["model"] == "test-model"
    assert sent["messages"] == [
        {"role": "system", "content": "You are a data scientist."},
        {"role": "user", "content": "Fit iris for 30 s."},
    ]
    assert "tools" not in sent and "stream" not in sent


def test_native_tool_calls_come_back_with_dict_arguments() -> None:
    script = [
        {
            "tool_calls": [
                {"name": "fit", "arguments": {"dataset": "iris", "time_s": 30}},
                {"name": "profile", "arguments": {}},
            ]
        }
    ]
    with ScriptedOpenAIServer(script) as server:
        llm = backend(server.base_url, tool_mode="native")
        completion = llm.complete(ASK, [FIT, PROFILE])
    calls = completion.message.tool_calls
    assert [(c.name, c.arguments) for c in calls] == [
        ("fit", {"dataset": "iris", "time_s": 30}),
        ("profile", {}),
    ]
    assert calls[0].id != calls[1].id and all(c.id for c in calls)
    assert completion.message.content is None
    assert server.requests[0]["tools"] == [FIT.to_openai(), PROFILE.to_openai()]
    assert server.requests[0]["tools"][0]["function"]["parameters"]["required"] == ["dataset"]


def test_a_conversation_with_tool_results_goes_out_in_wire_format() -> None:
    call = ToolCall("call_7", "fit", {"dataset": "iris"})
    history = [
        *ASK,
        Message("assistant", None, [call]),
        Message("tool", '{"score": 0.97}', tool_call_id="call_7", name="fit"),
    ]
    with ScriptedOpenAIServer(["Done: accuracy 0.97."]) as server:
        completion = backend(server.base_url, tool_mode="native").complete(history, [FIT])
    assert completion.message.content == "Done: accuracy 0.97."
    sent = server.requests[0]["messages"]
    assert sent[2] == {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": "call_7",
                "type": "function",
                "function": {"name": "fit", "arguments": '{"dataset": "iris"}'},
            }
        ],
    }
    assert sent[3] == {
        "role": "tool",
        "content": '{"score": 0.97}',
        "tool_call_id": "call_7",
        "name": "fit",
    }


@pytest.mark.parametrize(
    "item",
    [
        "A fairly long answer, streamed in many small pieces to the client.",
        {"tool_calls": [{"name": "fit", "arguments": {"dataset": "a b c", "time_s": 12.5}}]},
        {
            "content": "Let me profile first.",
            "tool_calls": [{"name": "profile", "arguments": {}}, {"name": "fit", "arguments": {}}],
        },
        {"raw_tool_arguments": '{"dataset": "iris",', "name": "fit"},
    ],
)
def test_streaming_gives_the_same_completion_as_a_plain_request(item) -> None:
    with ScriptedOpenAIServer([item]) as server:
        plain = backend(server.base_url).complete(ASK, [FIT, PROFILE])
    tokens: list[str] = []
    with ScriptedOpenAIServer([item]) as streaming:
        streamed_llm = backend(streaming.base_url, stream=True, on_token=tokens.append)
        streamed = streamed_llm.complete(ASK, [FIT, PROFILE])
    assert "stream" not in server.requests[0] and streaming.requests[0]["stream"] is True
    assert streamed.message == plain.message
    assert streamed.usage == plain.usage and plain.usage.completion_tokens > 0
    assert "".join(tokens) == (plain.message.content or "")
    if plain.message.content and len(plain.message.content) > 12:
        assert len(tokens) > 1  # really arrived in pieces


def test_auto_mode_falls_back_to_json_when_the_server_rejects_tools() -> None:
    script = [
        {"status": 400, "error": "this model does not support tools"},
        'I will fit it.\n```json\n{"tool": "fit", "arguments": {"dataset": "iris"}}\n```',
        "All done.",
    ]
    with ScriptedOpenAIServer(script) as server:
        llm = backend(server.base_url)
        assert llm.effective_tool_mode is ToolMode.NATIVE
        first = llm.complete(ASK, [FIT])
        assert llm.effective_tool_mode is ToolMode.JSON
        call_id = first.message.tool_calls[0].id
        history = [*ASK, first.message, Message("tool", "score 0.97", tool_call_id=call_id)]
        second = llm.complete(history, [FIT])
    (call,) = first.message.tool_calls
    assert (call.name, call.arguments) == ("fit", {"dataset": "iris"})
    assert second.message == Message("assistant", "All done.")
    assert "tools" in server.requests[0]
    for sent in server.requests[1:]:
        assert "tools" not in sent
        assert {m["role"] for m in sent["messages"]} <= {"system", "user", "assistant"}
        system = sent["messages"][0]
        assert system["role"] == "system" and system["content"].startswith("You are a data")
        assert '{"tool": "<tool name>"' in system["content"] and "fit" in system["content"]
    replayed = server.requests[2]["messages"]
    assert '"tool": "fit"' in replayed[-2]["content"]  # the call, as text
    assert replayed[-1]["role"] == "user" and "Result of tool fit" in replayed[-1]["content"]
    assert "score 0.97" in replayed[-1]["content"]


def test_auto_mode_switches_when_the_model_writes_calls_as_text() -> None:
    script = ['{"tool": "fit", "arguments": {"dataset": "wine"}}', "ok"]
    with ScriptedOpenAIServer(script) as server:
        llm = backend(server.base_url)
        completion = llm.complete(ASK, [FIT])
        llm.complete(ASK, [FIT])
    assert [(c.name, c.arguments) for c in completion.message.tool_calls] == [
        ("fit", {"dataset": "wine"})
    ]
    assert llm.effective_tool_mode is ToolMode.JSON
    assert "tools" in server.requests[0] and "tools" not in server.requests[1]


def test_json_text_naming_an_unknown_tool_is_a_plain_answer_in_auto_mode() -> None:
    text = 'Example config: {"tool": "lightgbm", "arguments": {"lr": 0.1}}'
    with ScriptedOpenAIServer([text]) as server:
        llm = backend(server.base_url)
        completion = llm.complete(ASK, [FIT])
    assert completion.message.tool_calls == [] and completion.message.content == text
    assert llm.effective_tool_mode is ToolMode.NATIVE


def test_native_mode_never_falls_back() -> None:
    with ScriptedOpenAIServer([{"status": 400, "error": "tools not supported"}]) as server:
        llm = backend(server.base_url, tool_mode="native")
        with pytest.raises(LLMError, match="tools not supported") as info:
            llm.complete(ASK, [FIT])
    assert "after 1 attempt" in str(info.value) and len(server.requests) == 1


def test_json_mode_sends_no_tools_and_parses_calls() -> None:
    script = [
        '[{"tool": "profile", "arguments": {}}, {"tool": "fit", "arguments": {"dataset": "x"}}]'
    ]
    with ScriptedOpenAIServer(script) as server:
        completion = backend(server.base_url, tool_mode="json").complete(ASK, [FIT, PROFILE])
    assert [c.name for c in completion.message.tool_calls] == ["profile", "fit"]
    assert "tools" not in server.requests[0]
    assert "profile: Describe a dataset." in server.requests[0]["messages"][0]["content"]


def test_malformed_tool_arguments_come_back_marked_not_raised() -> None:
    raw = '{"dataset": "iris", "time_s": }'
    with ScriptedOpenAIServer([{"raw_tool_arguments": raw, "name": "fit"}]) as server:
        completion = backend(server.base_url).complete(ASK, [FIT])
    (call,) = completion.message.tool_calls
    assert call.name == "fit" and call.arguments == {INVALID_JSON_KEY: raw}
    assert call.is_malformed
    # sent back in a history, the model's text goes back exactly as it wrote it
    assert call.to_openai()["function"]["arguments"] == raw


def test_transient_failures_are_retried() -> None:
    with ScriptedOpenAIServer(["third time lucky"], fail_first=2) as server:
        seen: list[dict] = []
        llm = backend(server.base_url, max_retries=3, recorder=lambda c, s: seen.append(s))
        completion = llm.complete(ASK)
    assert completion.message.content == "third time lucky"
    assert len(server.requests) == 3
    assert seen[0]["attempts"] == 3 and seen[0]["error"] is None


@pytest.mark.parametrize("status", [429, 500, 502])
def test_rate_limits_and_server_errors_are_retried(status: int) -> None:
    with ScriptedOpenAIServer([{"status": status, "error": "busy"}, "fine"]) as server:
        completion = backend(server.base_url, max_retries=1).complete(ASK)
    assert completion.message.content == "fine" and len(server.requests) == 2


@pytest.mark.parametrize("status, advice", [(401, "ASSAY_LLM_API_KEY"), (404, "ASSAY_LLM_MODEL")])
def test_client_errors_are_not_retried_and_say_what_to_do(status: int, advice: str) -> None:
    script = [{"status": status, "error": "nope"}, "unused"]
    with ScriptedOpenAIServer(script) as server, pytest.raises(LLMError) as info:
        backend(server.base_url, max_retries=3).complete(ASK)
    assert len(server.requests) == 1
    message = str(info.value)
    assert f"HTTP {status}" in message and advice in message and server.base_url in message


def test_retries_give_up_with_the_servers_message() -> None:
    pattern = r"after 3 attempts.*HTTP 503.*fail_first"
    with ScriptedOpenAIServer([], fail_first=5) as server, pytest.raises(LLMError, match=pattern):
        backend(server.base_url, max_retries=2).complete(ASK)
    assert len(server.requests) == 3


def test_a_down_endpoint_raises_an_error_naming_the_url() -> None:
    url = ScriptedOpenAIServer.url_down()
    summaries: list[dict] = []
    llm = backend(url, timeout_s=1, max_retries=1, recorder=lambda c, s: summaries.append(s))
    with pytest.raises(LLMError) as info:
        llm.complete(ASK)
    message = str(info.value)
    assert url in message and "test-model" in message
    assert "after 2 attempts" in message and "ASSAY_LLM_BASE_URL" in message
    assert summaries[0]["attempts"] == 2 and summaries[0]["error"] == message


@pytest.mark.parametrize("stream", [False, True])
def test_a_slow_server_times_out_with_advice(stream: bool) -> None:
    script = [{"sleep": 3, "reply": "late"}, {"sleep": 3, "reply": "late"}]
    with ScriptedOpenAIServer(script) as server:
        llm = backend(server.base_url, timeout_s=0.3, max_retries=1, stream=stream)
        with pytest.raises(LLMError) as info:
            llm.complete(ASK)
    message = str(info.value)
    assert "timeout" in message and "timeout_s=0.3" in message and "after 2 attempts" in message
    assert len(server.requests) == 2


def test_an_exhausted_script_is_a_clear_error_not_a_hang() -> None:
    with ScriptedOpenAIServer(["only one"]) as server:
        llm = backend(server.base_url, max_retries=1)
        llm.complete(ASK)
        with pytest.raises(LLMError, match="script exhausted after 1 requests"):
            llm.complete(ASK)
    assert server.exhausted


def test_the_cache_serves_repeats_from_disk(tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path / "cache")
    script = [{"tool_calls": [{"name": "fit", "arguments": {"dataset": "iris"}}]}, "other"]
    with ScriptedOpenAIServer(script) as server:
        llm = backend(server.base_url, cache=cache, price_per_1k=(1.0, 1.0))
        first = llm.complete(ASK, [FIT])
        again = llm.complete(ASK, [FIT])
        assert len(server.requests) == 1
        different = llm.complete([*ASK, Message("user", "and wine?")], [FIT])
        assert len(server.requests) == 2
    assert first.cached is False and again.cached is True and different.cached is False
    assert again.message == first.message and again.usage.prompt_tokens == first.usage.prompt_tokens
    assert again.usage.cost_usd == 0.0 and first.usage.cost_usd > 0
    assert different.message.content == "other"
    files = sorted(p.name for p in (tmp_path / "cache").rglob("*") if p.is_file())
    assert len(files) == 2 and all(not f.startswith(".tmp") for f in files)
    # the key does not depend on the server's URL: a fresh backend elsewhere replays it
    with ScriptedOpenAIServer([]) as moved:
        replay = backend(moved.base_url, cache=ResponseCache(tmp_path / "cache"))
        assert replay.complete(ASK, [FIT]).message == first.message
    assert moved.requests == []


def test_the_cache_key_covers_model_tools_and_temperature(tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path)
    with ScriptedOpenAIServer(["a", "b", "c", "d"]) as server:
        backend(server.base_url, cache=cache).complete(ASK, [FIT])
        backend(server.base_url, cache=cache).complete(ASK, [FIT, PROFILE])
        backend(server.base_url, cache=cache, temperature=0.7).complete(ASK, [FIT])
        OpenAIBackend(server.base_url, "other-model", cache=cache).complete(ASK, [FIT])
    assert len(server.requests) == 4 and len(cache) == 4


def test_usage_and_cost_are_accounted() -> None:
    script = [
        {"content": "x", "usage": {"prompt_tokens": 1000, "completion_tokens": 500}},
        {"content": "y", "usage": {"prompt_tokens": 3000, "completion_tokens": 0}},
    ]
    with ScriptedOpenAIServer(script) as server:
        priced = backend(server.base_url, price_per_1k=(0.5, 2.0))
        one = priced.complete(ASK)
        two = priced.complete(ASK)
    assert (one.usage.prompt_tokens, one.usage.completion_tokens) == (1000, 500)
    assert one.usage.cost_usd == pytest.approx(0.5 + 1.0)
    assert two.usage.cost_usd == pytest.approx(1.5)
    assert priced.n_calls == 2
    assert priced.total_usage.prompt_tokens == 4000
    assert priced.total_usage.cost_usd == pytest.approx(3.0)


def test_usage_counts_from_the_server_and_unknown_price() -> None:
    with ScriptedOpenAIServer(["four words right here"]) as server:
        completion = backend(server.base_url).complete([Message("user", "two words")])
    assert completion.usage.prompt_tokens == 2 and completion.usage.completion_tokens == 4
    assert completion.usage.cost_usd is None


def test_the_recorder_sees_every_call_and_its_failures_do_not_break_calls() -> None:
    seen: list[tuple[Completion, dict]] = []

    def broken(completion: Completion, summary: dict) -> None:
        seen.append((completion, summary))
        raise RuntimeError("disk full")

    with ScriptedOpenAIServer(["ok", {"status": 404, "error": "no such model"}]) as server:
        llm = backend(server.base_url, recorder=broken)
        assert llm.complete(ASK, [FIT]).message.content == "ok"
        with pytest.raises(LLMError):
            llm.complete(ASK)
    (ok, ok_summary), (failed, failed_summary) = seen
    assert ok.message.content == "ok" and ok.cached is False
    assert ok_summary["error"] is None and ok_summary["n_tools"] == 1
    assert ok_summary["tool_mode"] == "native" and ok_summary["n_messages"] == 2
    assert failed.message.content is None and failed.usage.prompt_tokens == 0
    assert "no such model" in failed_summary["error"]


def test_bad_settings_are_refused() -> None:
    with pytest.raises(LLMError, match="tool_mode"):
        OpenAIBackend("http://127.0.0.1:1/v1", "m", tool_mode="sometimes")
    with pytest.raises(LLMError, match="ASSAY_LLM_MODEL"):
        OpenAIBackend("http://127.0.0.1:1/v1", "")


def test_a_url_that_is_not_the_api_root_is_reported() -> None:
    with ScriptedOpenAIServer(["unused"]) as server:
        wrong = server.base_url.removesuffix("/v1") + "/nothing"
        with pytest.raises(LLMError, match="HTTP 404") as info:
            backend(wrong, max_retries=2).complete(ASK)
    assert wrong in str(info.value) and "ending in /v1" in str(info.value)
    assert server.requests == [] and server.n_replies == 0


def test_no_key_sends_no_authorization_header_and_a_key_is_sent_as_bearer() -> None:
    with ScriptedOpenAIServer(["one", "two"]) as server:
        backend(server.base_url).complete(ASK)
        backend(server.base_url, api_key="secret").complete(ASK)
    keyless, keyed = server.headers
    assert "authorization" not in keyless
    assert keyed["authorization"] == "Bearer secret"


def test_retry_after_is_read_in_seconds_milliseconds_and_as_a_date() -> None:
    import time
    from email.utils import formatdate

    from assay.llm._retry import retry_after_s

    assert retry_after_s({"retry-after": "2"}) == 2.0
    assert retry_after_s({"retry-after-ms": "1500", "retry-after": "9"}) == 1.5
    later = retry_after_s({"retry-after": formatdate(time.time() + 30, usegmt=True)})
    assert later is not None and 25 < later <= 30
    assert retry_after_s({"retry-after": "soon"}) is None and retry_after_s({}) is None


def test_a_server_asking_for_a_long_wait_gets_an_error_not_a_hammering() -> None:
    script = [{"status": 429, "error": "slow down", "retry_after": "3600"}, "unused"]
    with ScriptedOpenAIServer(script) as server, pytest.raises(LLMError) as info:
        backend(server.base_url, max_retries=3).complete(ASK)
    assert len(server.requests) == 1  # no retry before the hour it asked for
    assert "Retry-After" in str(info.value) and "3600" in str(info.value)


def test_a_short_retry_after_is_waited_then_retried() -> None:
    script = [{"status": 503, "error": "busy", "retry_after": "0"}, "fine"]
    with ScriptedOpenAIServer(script) as server:
        completion = backend(server.base_url, max_retries=1).complete(ASK)
    assert completion.message.content == "fine" and len(server.requests) == 2

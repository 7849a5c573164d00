"""The Messages-API mapping of AnthropicBackend (pure functions; no calls to the service)."""

from __future__ import annotations

import importlib.util

import pytest

from assay.errors import LLMError
from assay.llm import (
    AnthropicBackend,
    Message,
    Tool,
    ToolCall,
    from_anthropic,
    to_anthropic,
    tools_to_anthropic,
)


def test_messages_map_to_system_and_alternating_turns() -> None:
    messages = [
        Message("system", "Be brief."),
        Message("user", "Fit iris."),
        Message("assistant", "Fitting.", [ToolCall("tu_1", "fit", {"dataset": "iris"})]),
        Message("tool", "score 0.97", tool_call_id="tu_1"),
        Message("user", "And now?"),
        Message("system", "Second rule."),
    ]
    system, turns = to_anthropic(messages)
    assert system == "Be brief.\n\nSecond rule."
    assert [t["role"] for t in turns] == ["user", "assistant", "user"]
    assert turns[0]["content"] == [{"type": "text", "text": "Fit iris."}]
    assert turns[1]["content"] == [
        {"type": "text", "text": "Fitting."},
        {"type": "tool_use", "id": "tu_1", "name": "fit", "input": {"dataset": "iris"}},
    ]
    assert turns[2]["content"] == [  # tool result and the next user text merged in one turn
        {"type": "tool_result", "tool_use_id": "tu_1", "content": "score 0.97"},
        {"type": "text", "text": "And now?"},
    ]


def test_no_system_prompt_and_tools() -> None:
    system, turns = to_anthropic([Message("user", "hi")])
    assert system is None and len(turns) == 1
    schema = {"type": "object", "properties": {"k": {"type": "integer"}}}
    assert tools_to_anthropic([Tool("tune", "Tune it.", schema)]) == [
        {"name": "tune", "description": "Tune it.", "input_schema": schema}
    ]


def test_responses_map_back() -> None:
    response = {
        "content": [
            {"type": "text", "text": "Let me check. "},
            {"type": "tool_use", "id": "tu_9", "name": "profile", "input": {"path": "a.csv"}},
            {"type": "text", "text": "Then fit."},
        ],
        "usage": {"input_tokens": 100, "output_tokens": 20, "cache_read_input_tokens": 50},
    }
    message, usage = from_anthropic(response)
    assert message.content == "Let me check. Then fit."
    assert message.tool_calls == [ToolCall("tu_9", "profile", {"path": "a.csv"})]
    assert (usage.prompt_tokens, usage.completion_tokens) == (150, 20)
    text_only, _ = from_anthropic({"content": [{"type": "text", "text": "Done."}]})
    assert text_only == Message("assistant", "Done.")


@pytest.mark.skipif(importlib.util.find_spec("anthropic") is not None, reason="installed")
def test_missing_sdk_says_what_to_install() -> None:
    with pytest.raises(LLMError, match=r"pip install anthropic==2\.12\.0"):
        AnthropicBackend("claude-x", max_retries=0).complete([Message("user", "hi")])

"""Message wire round trips and parsing tool calls written as JSON text."""

from __future__ import annotations

import pytest

from assay.llm import (
    INVALID_JSON_KEY,
    Completion,
    Message,
    Tool,
    ToolCall,
    Usage,
    parse_arguments,
    parse_tool_json,
    tools_prompt,
)


def test_messages_round_trip_through_the_wire_form() -> None:
    messages = [
        Message("system", "rules"),
        Message("assistant", None, [ToolCall("c1", "fit", {"a": [1, 2], "b": "é"})]),
        Message("assistant", "hm", [ToolCall("c2", "fit", {INVALID_JSON_KEY: "{bad"})]),
        Message("tool", "result", tool_call_id="c1", name="fit"),
    ]
    for message in messages:
        assert Message.from_openai(message.to_openai()) == message
    wire = messages[1].to_openai()["tool_calls"][0]
    assert wire["type"] == "function" and isinstance(wire["function"]["arguments"], str)
    completion = Completion(messages[2], Usage(3, 4, 0.5), "m", 1.25, cached=False)
    assert Completion.from_dict(completion.to_dict()) == completion


def test_from_openai_fills_gaps() -> None:
    message = Message.from_openai(
        {
            "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}],
            "tool_calls": [{"function": {"name": "f", "arguments": ""}}],
        }
    )
    assert message.role == "assistant" and message.content == "ab"
    assert message.tool_calls == [ToolCall("call_0", "f", {})]


@pytest.mark.parametrize(
    "raw, expected",
    [
        ('{"a": 1}', {"a": 1}),
        ("", {}),
        (None, {}),
        ({"a": 1}, {"a": 1}),
        ("[1, 2]", {INVALID_JSON_KEY: "[1, 2]"}),
        ("{'a': 1}", {INVALID_JSON_KEY: "{'a': 1}"}),
    ],
)
def test_parse_arguments(raw, expected) -> None:
    assert parse_arguments(raw) == expected


@pytest.mark.parametrize(
    "text, calls",
    [
        ('{"tool": "fit", "arguments": {"k": 2}}', [("fit", {"k": 2})]),
        ('Sure.\n```json\n{"tool": "fit", "arguments": {}}\n```\n', [("fit", {})]),
        ('I will call {"tool": "fit", "arguments": {"x": "}"}} now', [("fit", {"x": "}"})]),
        ('{"name": "fit", "arguments": {"k": 1}}', [("fit", {"k": 1})]),
        ('{"tool": "fit"}', [("fit", {})]),
        ('{"tool": "fit", "arguments": "{\\"k\\": 3}"}', [("fit", {"k": 3})]),
        ('{"tool": "fit", "arguments": [1]}', [("fit", {INVALID_JSON_KEY: "[1]"})]),
        ("The answer is 42.", []),
        ('{"name": "Ada", "age": 36}', []),
        ('{"tool": 3}', []),
        ("", []),
    ],
)
def test_parse_tool_json(text: str, calls) -> None:
    assert [(c.name, c.arguments) for c in parse_tool_json(text)] == calls


def test_parse_tool_json_with_known_names_and_ids() -> None:
    text = '{"tool": "rm", "arguments": {}}'
    assert parse_tool_json(text, known={"fit"}) == []
    first = parse_tool_json(text)
    assert first[0].id == parse_tool_json(text)[0].id  # stable, so replays match
    assert first[0].id != parse_tool_json(text + " ")[0].id


def test_tools_prompt_names_every_tool_and_the_format() -> None:
    prompt = tools_prompt([Tool("fit", "Fit a model.", {"type": "object"})])
    assert "- fit: Fit a model." in prompt and '"type": "object"' in prompt
    assert '{"tool": "<tool name>", "arguments":' in prompt

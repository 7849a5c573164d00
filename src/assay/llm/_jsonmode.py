"""Tool calling for models without it: tools described in the system prompt, calls as JSON.

The model answers either with plain text (a final answer) or with one JSON object
`{"tool": NAME, "arguments": {...}}` (a list of them for several calls), bare or inside a
```json fence. The history is rewritten to plain system/user/assistant turns, because
servers without tool support often reject `role: "tool"` and `tool_calls` too.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from assay.llm._base import (
    INVALID_JSON_KEY,
    Message,
    Tool,
    ToolCall,
    dump_arguments,
    parse_arguments,
)

_FENCE = re.compile(r"```(?:json|JSON)?\s*\n?(.*?)```", re.DOTALL)


def tools_prompt(tools: list[Tool]) -> str:
    """The system-prompt section that replaces the `tools` request field."""
    lines = [
        "You can call these tools:",
        "",
    ]
    for tool in tools:
        schema = json.dumps(tool.parameters, ensure_ascii=False, sort_keys=True)
        lines.append(f"- {tool.name}: {tool.description}\n  arguments (JSON schema): {schema}")
    lines += [
        "",
        "To call a tool, answer with only one JSON object and nothing else:",
        '{"tool": "<tool name>", "arguments": {<arguments matching the schema>}}',
        "The result will come back in the next message. To give your final answer, reply "
        "with plain text and no JSON tool object.",
    ]
    return "\n".join(lines)


def _calls_from_value(value: Any) -> list[tuple[str, Any]] | None:
    items = value if isinstance(value, list) else [value]
    calls: list[tuple[str, Any]] = []
    for item in items:
        if not isinstance(item, dict):
            return None
        # {"tool": NAME, ...} as instructed, or {"name": NAME, "arguments": ...} as some
        # models trained on native tool calling write it
        name = item.get("tool") if "tool" in item else item.get("name")
        if (
            not isinstance(name, str)
            or not name
            or ("tool" not in item and "arguments" not in item)
        ):
            return None
        calls.append((name, item.get("arguments", {})))
    return calls or None


def _json_candidates(text: str) -> list[Any]:
    """JSON values found in `text`: the whole text, fenced blocks, then bare objects."""
    found: list[Any] = []
    decoder = json.JSONDecoder()
    blocks = [text.strip()] + [m.group(1).strip() for m in _FENCE.finditer(text)]
    for block in blocks:
        try:
            found.append(json.loads(block))
        except ValueError:
            continue
    if found:
        return found
    for match in re.finditer(r"[\[{]", text):
        try:
            value, _ = decoder.raw_decode(text, match.start())
        except ValueError:
            continue
        found.append(value)
    return found


def parse_tool_json(text: str | None, known: set[str] | None = None) -> list[ToolCall]:
    """Tool calls written as JSON in `text` (empty when it is a plain answer).

    With `known`, only calls naming known tools count; that keeps a final answer that merely
    shows some JSON from being taken for a call.
    """
    if not text or ("{" not in text):
        return []
    for value in _json_candidates(text):
        calls = _calls_from_value(value)
        if calls is None or (known is not None and any(n not in known for n, _ in calls)):
            continue
        digest = hashlib.sha256(text.encode()).hexdigest()[:8]
        return [
            ToolCall(
                id=f"call_{digest}_{i}",
                name=name,
                arguments=_arguments(args),
            )
            for i, (name, args) in enumerate(calls)
        ]
    return []


def _arguments(args: Any) -> dict[str, Any]:
    if isinstance(args, (dict, str)):
        return parse_arguments(args)
    return {INVALID_JSON_KEY: json.dumps(args)}


def _call_text(calls: list[ToolCall]) -> str:
    objects = [
        f'{{"tool": {json.dumps(c.name)}, "arguments": {dump_arguments(c.arguments)}}}'
        for c in calls
    ]
    return objects[0] if len(objects) == 1 else "[" + ", ".join(objects) + "]"


def to_json_mode(messages: list[Message], tools: list[Tool]) -> list[dict[str, Any]]:
    """Wire messages for a server without tools: tools in the system prompt, plain roles."""
    names = {c.id: c.name for m in messages for c in m.tool_calls}
    out: list[dict[str, Any]] = []
    for message in messages:
        if message.role == "tool":
            name = message.name or names.get(message.tool_call_id or "", "the tool")
            text = f"Result of tool {name} (call {message.tool_call_id}):\n{message.content or ''}"
            out.append({"role": "user", "content": text})
        elif message.role == "assistant" and message.tool_calls:
            text = message.content or ""
            if not parse_tool_json(text):
                text = (text + "\n" + _call_text(message.tool_calls)).strip()
            out.append({"role": "assistant", "content": text})
        else:
            out.append({"role": message.role, "content": message.content or ""})
    if tools:
        prompt = tools_prompt(tools)
        if out and out[0]["role"] == "system":
            out[0] = {"role": "system", "content": f"{out[0]['content']}\n\n{prompt}".strip()}
        else:
            out.insert(0, {"role": "system", "content": prompt})
    return out

"""ScriptedBackend: a deterministic LLM that replays a script, for tests and offline demos.

A script item is one of:
- a string: a plain text answer;
- `{"content": "...", "tool_calls": [{"name": N, "arguments": {...} or "raw text"}]}`
  (arguments given as a string are parsed like a server's, so malformed JSON becomes
  `{"__invalid_json__": text}`);
- `{"raw_tool_arguments": "...", "name": N}`: one call with those exact arguments;
- a Message;
- a callable `(messages, tools) -> item`, to answer depending on what was sent.
A script is a list of items, or a path to a .json file (a list) or a .jsonl file (one item
per line).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from assay.errors import LLMError
from assay.llm._base import Completion, Message, Tool, ToolCall, Usage, parse_arguments

ScriptItem = str | dict[str, Any] | Message | Callable[[list[Message], list[Tool]], Any]


def load_script(path: str | os.PathLike[str]) -> list[Any]:
    """Script items from a .json list or a .jsonl file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".jsonl":
            return [json.loads(line) for line in text.splitlines() if line.strip()]
        items = json.loads(text)
    except (OSError, ValueError) as exc:
        raise LLMError(
            f"cannot read the LLM script {path}: {exc}. It must be a JSON list of replies "
            "or a .jsonl file with one reply per line."
        ) from exc
    if not isinstance(items, list):
        raise LLMError(f"the LLM script {path} must hold a JSON list of replies")
    return items


def message_from_item(item: Any, call_no: int = 0) -> Message:
    """The assistant message a script item stands for."""
    if isinstance(item, Message):
        return item
    if isinstance(item, str):
        return Message("assistant", item)
    if not isinstance(item, dict):
        raise LLMError(
            f"script item {call_no} is a {type(item).__name__}; use a string, a dict with "
            "'content' and/or 'tool_calls', a Message or a callable"
        )
    specs = list(item.get("tool_calls") or [])
    if "raw_tool_arguments" in item:
        specs.append({"name": item.get("name", "tool"), "arguments": item["raw_tool_arguments"]})
    calls = [
        ToolCall(
            id=spec.get("id") or f"call_{call_no}_{i}",
            name=spec["name"],
            arguments=parse_arguments(spec.get("arguments")),
        )
        for i, spec in enumerate(specs)
    ]
    return Message("assistant", item.get("content"), calls)


def _n_words(text: str | None) -> int:
    return len((text or "").split())


class ScriptedBackend:
    """Replays `responses` in order and keeps what it was sent in `requests`."""

    def __init__(
        self, responses: Sequence[ScriptItem] | str | os.PathLike[str], model: str = "scripted"
    ) -> None:
        if isinstance(responses, (str, os.PathLike)):
            responses = load_script(responses)
        self.responses = list(responses)
        self.model = model
        self.requests: list[list[Message]] = []
        self.tools_sent: list[list[Tool]] = []

    def __repr__(self) -> str:
        return f"ScriptedBackend({len(self.responses)} replies, {len(self.requests)} used)"

    @property
    def remaining(self) -> int:
        return len(self.responses) - len(self.requests)

    def complete(self, messages: list[Message], tools: list[Tool] | None = None) -> Completion:
        """The next scripted reply; LLMError once the script has run out."""
        start = time.monotonic()
        call_no = len(self.requests) + 1
        if call_no > len(self.responses):
            raise LLMError(
                f"the scripted LLM got call {call_no} but its script has only "
                f"{len(self.responses)} replies; add replies to the script"
            )
        self.requests.append(list(messages))
        self.tools_sent.append(list(tools or []))
        item = self.responses[call_no - 1]
        if callable(item) and not isinstance(item, Message):
            item = item(list(messages), list(tools or []))
        message = message_from_item(item, call_no)
        prompt = sum(_n_words(m.content) for m in messages)
        completion = _n_words(message.content) + sum(
            _n_words(json.dumps(c.arguments)) for c in message.tool_calls
        )
        return Completion(
            message=message,
            usage=Usage(prompt, completion, 0.0),
            model=self.model,
            latency_s=time.monotonic() - start,
        )

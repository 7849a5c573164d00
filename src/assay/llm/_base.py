"""The types every backend speaks: messages, tool calls, tools, usage, and the LLM protocol.

Messages follow the OpenAI chat-completions shape because nearly every server speaks it;
other providers (Anthropic) map to and from it at their edge.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

INVALID_JSON_KEY = "__invalid_json__"
"""A tool call whose arguments are not a JSON object gets `{INVALID_JSON_KEY: raw_text}`
instead of an exception, so the agent can tell the model what went wrong and let it retry."""


def parse_arguments(raw: str | dict[str, Any] | None) -> dict[str, Any]:
    """Tool-call arguments as a dict; `{INVALID_JSON_KEY: raw}` when they are not an object."""
    if isinstance(raw, dict):
        return raw
    if raw is None or not raw.strip():
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        return {INVALID_JSON_KEY: raw}
    return value if isinstance(value, dict) else {INVALID_JSON_KEY: raw}


def dump_arguments(arguments: dict[str, Any]) -> str:
    """The wire form of arguments; malformed ones go back exactly as the model wrote them."""
    if set(arguments) == {INVALID_JSON_KEY} and isinstance(arguments[INVALID_JSON_KEY], str):
        return arguments[INVALID_JSON_KEY]
    return json.dumps(arguments, ensure_ascii=False)


@dataclass(frozen=True)
class ToolCall:
    id: str
    name: str
    arguments: dict[str, Any]

    @property
    def is_malformed(self) -> bool:
        """True when the model's arguments were not a JSON object (see INVALID_JSON_KEY)."""
        return INVALID_JSON_KEY in self.arguments

    def to_openai(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": "function",
            "function": {"name": self.name, "arguments": dump_arguments(self.arguments)},
        }


@dataclass(frozen=True)
class Message:
    role: str  # system | user | assistant | tool
    content: str | None = None
    tool_calls: list[ToolCall] = field(default_factory=list)
    tool_call_id: str | None = None  # on role="tool": the call this answers
    name: str | None = None  # on role="tool": the tool's name (optional on the wire)

    def to_openai(self) -> dict[str, Any]:
        """The chat-completions wire form (arguments as a JSON string)."""
        out: dict[str, Any] = {"role": self.role, "content": self.content}
        if self.tool_calls:
            out["tool_calls"] = [call.to_openai() for call in self.tool_calls]
        if self.tool_call_id is not None:
            out["tool_call_id"] = self.tool_call_id
        if self.name is not None:
            out["name"] = self.name
        return out

    @classmethod
    def from_openai(cls, data: dict[str, Any]) -> Message:
        """Parse a wire message; calls without an id get `call_<i>`, bad arguments are kept."""
        calls = []
        for i, raw in enumerate(data.get("tool_calls") or []):
            function = raw.get("function") or {}
            calls.append(
                ToolCall(
                    id=raw.get("id") or f"call_{i}",
                    name=function.get("name") or "",
                    arguments=parse_arguments(function.get("arguments")),
                )
            )
        content = data.get("content")
        if isinstance(content, list):  # content parts: keep the text ones
            content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
        return cls(
            role=data.get("role") or "assistant",
            content=content,
            tool_calls=calls,
            tool_call_id=data.get("tool_call_id"),
            name=data.get("name"),
        )


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    parameters: dict[str, Any]  # JSON schema of the arguments object

    def to_openai(self) -> dict[str, Any]:
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": self.parameters,
            },
        }


@dataclass(frozen=True)
class Usage:
    """Tokens as the server reported them; `cost_usd` is money spent by this call (0.0 for
    a cache hit, None when the price is unknown)."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float | None = None

    def __add__(self, other: Usage) -> Usage:
        costs = [c for c in (self.cost_usd, other.cost_usd) if c is not None]
        return Usage(
            self.prompt_tokens + other.prompt_tokens,
            self.completion_tokens + other.completion_tokens,
            sum(costs) if costs else None,
        )


@dataclass(frozen=True)
class Completion:
    message: Message
    usage: Usage
    model: str
    latency_s: float
    cached: bool = False

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON form (for the cache and for logs)."""
        return {
            "message": self.message.to_openai(),
            "usage": {
                "prompt_tokens": self.usage.prompt_tokens,
                "completion_tokens": self.usage.completion_tokens,
                "cost_usd": self.usage.cost_usd,
            },
            "model": self.model,
            "latency_s": self.latency_s,
            "cached": self.cached,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Completion:
        usage = data.get("usage") or {}
        return cls(
            message=Message.from_openai(data["message"]),
            usage=Usage(
                int(usage.get("prompt_tokens") or 0),
                int(usage.get("completion_tokens") or 0),
                usage.get("cost_usd"),
            ),
            model=data.get("model") or "",
            latency_s=float(data.get("latency_s") or 0.0),
            cached=bool(data.get("cached", False)),
        )


@runtime_checkable
class LLM(Protocol):
    """Anything that turns a conversation (and the tools it may call) into the next message."""

    def complete(self, messages: list[Message], tools: list[Tool] | None = None) -> Completion:
        """The assistant's next message; raises LLMError when no usable answer came back."""
        ...

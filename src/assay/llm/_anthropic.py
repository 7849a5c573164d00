"""AnthropicBackend: Claude models through the Messages API (`pip install anthropic==2.12.0`).

The Messages API differs from chat completions in three ways the mapping below handles:
the system prompt is a separate field, tool calls are `tool_use` content blocks of the
assistant, and tool results are `tool_result` blocks inside a *user* turn (consecutive user
turns are merged so roles alternate).
"""

from __future__ import annotations

from typing import Any

from assay.errors import LLMError
from assay.llm._accounting import Accounting, Recorder
from assay.llm._base import Completion, Message, Tool, ToolCall, Usage, parse_arguments
from assay.llm._cache import ResponseCache, request_key
from assay.llm._retry import with_retries

INSTALL_HINT = "pip install anthropic==2.12.0"


def tools_to_anthropic(tools: list[Tool]) -> list[dict[str, Any]]:
    return [
        {"name": t.name, "description": t.description, "input_schema": t.parameters} for t in tools
    ]


def _blocks(message: Message) -> list[dict[str, Any]]:
    if message.role == "tool":
        return [
            {
                "type": "tool_result",
                "tool_use_id": message.tool_call_id or "",
                "content": message.content or "",
            }
        ]
    blocks: list[dict[str, Any]] = []
    if message.content:
        blocks.append({"type": "text", "text": message.content})
    for call in message.tool_calls:
        blocks.append(
            {"type": "tool_use", "id": call.id, "name": call.name, "input": call.arguments}
        )
    return blocks


def to_anthropic(messages: list[Message]) -> tuple[str | None, list[dict[str, Any]]]:
    """(system prompt, Messages-API turns) for our messages."""
    system = [m.content for m in messages if m.role == "system" and m.content]
    turns: list[dict[str, Any]] = []
    for message in messages:
        if message.role == "system":
            continue
        role = "assistant" if message.role == "assistant" else "user"
        blocks = _blocks(message)
        if not blocks:
            continue
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"].extend(blocks)
        else:
            turns.append({"role": role, "content": blocks})
    return ("\n\n".join(system) or None), turns


def from_anthropic(response: dict[str, Any]) -> tuple[Message, Usage]:
    """Our message and usage for a Messages-API response (as a plain dict)."""
    texts: list[str] = []
    calls: list[ToolCall] = []
    for block in response.get("content") or []:
        if block.get("type") == "text":
            texts.append(block.get("text") or "")
        elif block.get("type") == "tool_use":
            calls.append(
                ToolCall(
                    id=block.get("id") or f"call_{len(calls)}",
                    name=block.get("name") or "",
                    arguments=parse_arguments(block.get("input")),
                )
            )
    raw = response.get("usage") or {}
    prompt = sum(
        int(raw.get(k) or 0)
        for k in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
    )
    usage = Usage(prompt, int(raw.get("output_tokens") or 0), None)
    return Message("assistant", "".join(texts) or None, calls), usage


class AnthropicBackend(Accounting):
    """Claude through the `anthropic` SDK, with the same retries and accounting as OpenAI's."""

    def __init__(
        self,
        model: str,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout_s: float = 60.0,
        max_retries: int = 3,
        cache: ResponseCache | None = None,
        recorder: Recorder | None = None,
        price_per_1k: tuple[float, float] | None = None,
        *,
        max_tokens: int = 4096,
        temperature: float | None = None,
        backoff_s: float = 0.5,
        backoff_max_s: float = 8.0,
    ) -> None:
        if not model:
            raise LLMError("the Anthropic backend needs a model name; set ASSAY_LLM_MODEL")
        self.model = model
        self.api_key = api_key
        self.base_url = base_url
        self.timeout_s = float(timeout_s)
        self.max_retries = int(max_retries)
        self.max_tokens = max_tokens
        self.temperature = temperature
        self.backoff_s = backoff_s
        self.backoff_max_s = backoff_max_s
        self._init_accounting(cache, recorder, price_per_1k)
        self._client_obj: Any = None

    def __repr__(self) -> str:
        return f"AnthropicBackend({self.model!r})"

    def _client(self) -> Any:
        if self._client_obj is None:
            try:
                import anthropic
            except ImportError as exc:
                raise LLMError(
                    f"ASSAY_LLM_PROVIDER=anthropic needs the anthropic package: {INSTALL_HINT}"
                ) from exc
            self._client_obj = anthropic.Anthropic(
                api_key=self.api_key,
                base_url=self.base_url,
                timeout=self.timeout_s,
                max_retries=0,  # our own loop, see _retry
            )
        return self._client_obj

    def complete(self, messages: list[Message], tools: list[Tool] | None = None) -> Completion:
        """The next assistant message; LLMError when the API gives no usable answer."""
        messages, tools = list(messages), list(tools or [])
        key = None
        if self.cache is not None:
            key = request_key(
                model=self.model,
                messages=messages,
                tools=tools,
                temperature=self.temperature,
                tool_mode="anthropic",
                extra={"max_tokens": self.max_tokens},
            )
        summary: dict[str, Any] = {
            "provider": "anthropic",
            "base_url": self.base_url,
            "model": self.model,
            "n_messages": len(messages),
            "n_tools": len(tools),
            "tool_mode": "native" if tools else None,
            "stream": False,
        }
        return self._call(
            key,
            lambda attempts: self._request(messages, tools, attempts),
            lambda n, error: {**summary, "attempts": n, "error": error},
        )

    def _request(
        self, messages: list[Message], tools: list[Tool], attempts: list[int]
    ) -> tuple[Message, Usage, str]:
        system, turns = to_anthropic(messages)
        request: dict[str, Any] = {"model": self.model, "max_tokens": self.max_tokens}
        request["messages"] = turns
        if system:
            request["system"] = system
        if tools:
            request["tools"] = tools_to_anthropic(tools)
        if self.temperature is not None:
            request["temperature"] = self.temperature
        client = self._client()
        response = with_retries(
            lambda: client.messages.create(**request),
            where=f"{self.base_url or 'the Anthropic API'} (model {self.model})",
            timeout_s=self.timeout_s,
            max_retries=self.max_retries,
            backoff_s=self.backoff_s,
            backoff_max_s=self.backoff_max_s,
            attempts=attempts,
        )
        message, usage = from_anthropic(response.model_dump())
        return message, usage, getattr(response, "model", None) or self.model

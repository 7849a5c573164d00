"""OpenAIBackend: any OpenAI-compatible /v1/chat/completions (OpenAI, Ollama, vLLM,
llama.cpp server, LM Studio) through the `openai` SDK.

Many local servers do not support tool calling. In tool_mode="auto" the backend starts with
native tools and switches to the JSON-in-text protocol of `_jsonmode` for the rest of its life
when the server rejects `tools` or the model writes its calls as JSON text instead.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from enum import Enum
from typing import Any

from assay.errors import LLMError
from assay.llm._accounting import Accounting, Recorder
from assay.llm._base import Completion, Message, Tool, Usage
from assay.llm._cache import ResponseCache, request_key
from assay.llm._jsonmode import parse_tool_json, to_json_mode
from assay.llm._retry import Failure, with_retries
from assay.log import get_logger

log = get_logger(__name__)

_TOOLS_WORDS = re.compile(r"\btool|\bfunction", re.IGNORECASE)


class ToolMode(str, Enum):
    AUTO = "auto"  # native tools until the server or model shows it cannot, then JSON
    NATIVE = "native"  # the `tools` request field only
    JSON = "json"  # tools described in the system prompt, calls parsed from the text


def _tools_rejected(failure: Failure) -> bool:
    """Whether an error means "this server does not do tool calling" (not worth retrying)."""
    status = failure.status or 0
    return status in (400, 422, 500, 501) and bool(_TOOLS_WORDS.search(failure.detail))


class OpenAIBackend(Accounting):
    """An LLM behind an OpenAI-compatible API; see the module docstring for tool modes."""

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str | None = None,
        timeout_s: float = 60.0,
        max_retries: int = 3,
        tool_mode: ToolMode | str = ToolMode.AUTO,
        cache: ResponseCache | None = None,
        recorder: Recorder | None = None,
        price_per_1k: tuple[float, float] | None = None,
        *,
        stream: bool = False,
        on_token: Callable[[str], None] | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        backoff_s: float = 0.5,
        backoff_max_s: float = 8.0,
    ) -> None:
        if not base_url or not model:
            raise LLMError(
                "an OpenAI-compatible backend needs a base URL and a model name; set "
                "ASSAY_LLM_BASE_URL (e.g. http://localhost:11434/v1) and ASSAY_LLM_MODEL"
            )
        try:
            self.tool_mode = ToolMode(tool_mode)
        except ValueError:
            choices = ", ".join(m.value for m in ToolMode)
            raise LLMError(f"tool_mode {tool_mode!r} is not one of {choices}") from None
        if timeout_s <= 0 or max_retries < 0:
            raise LLMError("timeout_s must be > 0 and max_retries >= 0")
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.api_key = api_key
        self.timeout_s = float(timeout_s)
        self.max_retries = int(max_retries)
        self._init_accounting(cache, recorder, price_per_1k)
        self.stream = stream
        self.on_token = on_token
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.backoff_s = backoff_s
        self.backoff_max_s = backoff_max_s
        self._json_mode = self.tool_mode is ToolMode.JSON
        self._client_obj: Any = None

    def __repr__(self) -> str:
        return f"OpenAIBackend({self.base_url!r}, {self.model!r})"

    def close(self) -> None:
        """Close pooled connections; the backend reconnects if used again."""
        if self._client_obj is not None:
            self._client_obj.close()
            self._client_obj = None

    @property
    def effective_tool_mode(self) -> ToolMode:
        """NATIVE or JSON: what the next request with tools will use."""
        return ToolMode.JSON if self._json_mode else ToolMode.NATIVE

    # -- the call -------------------------------------------------------------------------

    def complete(self, messages: list[Message], tools: list[Tool] | None = None) -> Completion:
        """The next assistant message; LLMError when the server gives no usable answer."""
        messages, tools = list(messages), list(tools or [])
        key = None
        if self.cache is not None:
            key = request_key(
                model=self.model,
                messages=messages,
                tools=tools,
                temperature=self.temperature,
                tool_mode=self.tool_mode.value,
                extra={"max_tokens": self.max_tokens} if self.max_tokens else None,
            )
        return self._call(
            key,
            lambda attempts: self._request(messages, tools, attempts),
            lambda n, error: self._summary(messages, tools, n, error),
        )

    def _request(
        self, messages: list[Message], tools: list[Tool], attempts: list[int]
    ) -> tuple[Message, Usage, str]:
        if tools and not self._json_mode:
            payload = {"messages": [m.to_openai() for m in messages]}
            payload["tools"] = [t.to_openai() for t in tools]
            auto = self.tool_mode is ToolMode.AUTO
            try:
                message, usage, model = self._send(payload, attempts, auto)
            except LLMError:
                raise
            except Exception as exc:  # passed through: the server rejected `tools`
                self._switch_to_json(f"the server rejected tools ({exc})")
                return self._request(messages, tools, attempts)
            if auto and not message.tool_calls:
                calls = parse_tool_json(message.content, known={t.name for t in tools})
                if calls:
                    self._switch_to_json("the model wrote its tool call as JSON text")
                    message = replace(message, tool_calls=calls)
            return message, usage, model
        payload = {"messages": to_json_mode(messages, tools)}
        message, usage, model = self._send(payload, attempts, False)
        if tools:
            message = replace(message, tool_calls=parse_tool_json(message.content))
        return message, usage, model

    def _switch_to_json(self, reason: str) -> None:
        if not self._json_mode:
            log.warning(
                "%s: %s; using JSON-in-text tool calls from now on (set tool_mode='json' to "
                "skip the first try)",
                self,
                reason,
            )
        self._json_mode = True

    def _send(
        self, payload: dict[str, Any], attempts: list[int], tools_may_fail: bool
    ) -> tuple[Message, Usage, str]:
        client = self._client()
        payload = {"model": self.model, **payload}
        if self.temperature is not None:
            payload["temperature"] = self.temperature
        if self.max_tokens is not None:
            payload["max_tokens"] = self.max_tokens

        def call() -> tuple[Message, Usage, str]:
            if self.stream:
                return self._stream_once(client, payload)
            return self._parse(client.chat.completions.create(**payload, **self._keyless()))

        return with_retries(
            call,
            where=f"{self.base_url} (model {self.model})",
            timeout_s=self.timeout_s,
            max_retries=self.max_retries,
            backoff_s=self.backoff_s,
            backoff_max_s=self.backoff_max_s,
            attempts=attempts,
            passthrough=_tools_rejected if tools_may_fail else None,
        )

    # -- wire -----------------------------------------------------------------------------

    def _client(self) -> Any:
        if self._client_obj is None:
            try:
                import openai
            except ImportError as exc:
                raise LLMError(
                    "the OpenAI-compatible backend needs the openai package: "
                    "pip install 'assay[llm]' (or pip install openai==3.54.0)"
                ) from exc
            self._client_obj = openai.OpenAI(
                base_url=self.base_url,
                api_key=self.api_key or "unsent",  # never sent: see _keyless
                timeout=self.timeout_s,
                max_retries=0,  # our own loop, see _retry
            )
        return self._client_obj

    def _keyless(self) -> dict[str, Any]:
        """Without a key, each request omits the Authorization header (a local server needs
        none), instead of sending a placeholder: the SDK insists on a key, and drops its
        header only when a request says to."""
        if self.api_key:
            return {}
        import openai

        return {"extra_headers": {"Authorization": openai.Omit()}}

    def _not_a_completion(self, what: object) -> LLMError:
        return LLMError(
            f"the server at {self.base_url} (model {self.model}) did not answer with a chat "
            f"completion ({str(what)[:200]!r}). Check that ASSAY_LLM_BASE_URL is the root of "
            "an OpenAI-compatible API (usually ending in /v1)."
        )

    def _parse(self, response: Any) -> tuple[Message, Usage, str]:
        choices = getattr(response, "choices", None)
        if not choices:
            raise self._not_a_completion(response)
        message = Message.from_openai(choices[0].message.model_dump())
        usage = getattr(response, "usage", None)
        return message, _usage(usage), getattr(response, "model", None) or self.model

    def _stream_once(self, client: Any, payload: dict[str, Any]) -> tuple[Message, Usage, str]:
        stream = client.chat.completions.create(
            **payload, stream=True, stream_options={"include_usage": True}, **self._keyless()
        )
        parts: list[str] = []
        calls: dict[int, dict[str, str]] = {}
        usage, model, seen = None, self.model, False
        with stream:
            for chunk in stream:
                seen = True
                model = getattr(chunk, "model", None) or model
                usage = getattr(chunk, "usage", None) or usage
                for choice in (getattr(chunk, "choices", None) or [])[:1]:
                    delta = choice.delta
                    if delta.content:
                        parts.append(delta.content)
                        if self.on_token is not None:
                            self.on_token(delta.content)
                    for piece in delta.tool_calls or []:
                        slot = calls.setdefault(piece.index, {"id": "", "name": "", "args": ""})
                        slot["id"] = piece.id or slot["id"]
                        if piece.function is not None:
                            slot["name"] += piece.function.name or ""
                            slot["args"] += piece.function.arguments or ""
        if not seen:
            raise self._not_a_completion("an empty stream")
        wire = {
            "role": "assistant",
            "content": "".join(parts) or None,
            "tool_calls": [
                {"id": s["id"], "function": {"name": s["name"], "arguments": s["args"]}}
                for _, s in sorted(calls.items())
            ],
        }
        return Message.from_openai(wire), _usage(usage), model

    # -- accounting -----------------------------------------------------------------------

    def _summary(
        self, messages: list[Message], tools: list[Tool], attempts: int, error: str | None
    ) -> dict[str, Any]:
        return {
            "provider": "openai",
            "base_url": self.base_url,
            "model": self.model,
            "n_messages": len(messages),
            "n_tools": len(tools),
            "tool_mode": self.effective_tool_mode.value if tools else None,
            "stream": self.stream,
            "attempts": attempts,
            "error": error,
        }


def _usage(raw: Any) -> Usage:
    if raw is None:
        return Usage(0, 0, None)
    return Usage(
        int(getattr(raw, "prompt_tokens", 0) or 0),
        int(getattr(raw, "completion_tokens", 0) or 0),
        None,
    )

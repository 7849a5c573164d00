"""ScriptedOpenAIServer: a real OpenAI-compatible HTTP server on 127.0.0.1 that answers from
a script, for tests and offline demos of anything that talks to an LLM.

    from assay.testing import ScriptedOpenAIServer

    script = [
        {"tool_calls": [{"name": "profile", "arguments": {"path": "train.csv"}}]},
        "The target is imbalanced; I suggest ROC AUC.",
    ]
    with ScriptedOpenAIServer(script) as server:
        # point any client at it, e.g. ASSAY_LLM_BASE_URL=server.base_url ASSAY_LLM_MODEL=x
        ...
        server.requests  # the JSON bodies it received, in order
        server.headers   # and their HTTP headers (lower-case names)

For a demo outside a with block: `server = ScriptedOpenAIServer(script).start()`, then
`server.close()` when done (its thread is a daemon, so an exiting program never waits on it).

It answers `POST /v1/chat/completions` with the next script item in the exact wire format
(also as server-sent events when the request says `"stream": true`) and `GET /v1/models`.
A script item is one of:
- `"text"`: an assistant text reply;
- `{"tool_calls": [{"name": N, "arguments": {...} | "raw string"}], "content": ...}`;
- `{"raw_tool_arguments": "{not json", "name": N}`: one call with malformed arguments;
- `{"status": 500}` or `{"status": 400, "error": "tools not supported"}`: an HTTP error
  (`"retry_after": "2"` adds that Retry-After header);
- `{"sleep": seconds, "reply": item}`: answer `reply` (default a short text) that late;
- any item with `"usage": {"prompt_tokens": P, "completion_tokens": C}` to set the counts
  (otherwise words are counted);
- a callable `(request_json) -> item`, to answer depending on what was sent.
`fail_first=N` answers the first N chat requests with 503 (without using the script),
`delay_s` delays every answer. When the script runs out every further request gets HTTP 500
"scripted server: script exhausted after N requests", so a test fails clearly instead of
hanging; a script item that raises (a callable, a bad dict) is answered with HTTP 500 naming
the error, also kept in `server.errors`.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from assay.log import get_logger

log = get_logger(__name__)

_HOST = "127.0.0.1"


def _words(text: str | None) -> int:
    return len((text or "").split())


def _wire_calls(item: dict[str, Any], reply_no: int) -> list[dict[str, Any]]:
    specs = list(item.get("tool_calls") or [])
    if "raw_tool_arguments" in item:
        specs.append({"name": item.get("name", "tool"), "arguments": item["raw_tool_arguments"]})
    calls = []
    for i, spec in enumerate(specs):
        args = spec.get("arguments", {})
        calls.append(
            {
                "id": spec.get("id") or f"call_{reply_no}_{i}",
                "type": "function",
                "function": {
                    "name": spec["name"],
                    "arguments": args if isinstance(args, str) else json.dumps(args),
                },
            }
        )
    return calls


def _prompt_words(body: dict[str, Any]) -> int:
    total = 0
    for message in body.get("messages") or []:
        content = message.get("content")
        total += _words(content if isinstance(content, str) else json.dumps(content))
        for call in message.get("tool_calls") or []:
            total += _words((call.get("function") or {}).get("arguments"))
    return max(total, 1)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.0"  # one request per connection: no keep-alive bookkeeping

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("scripted server: " + format, *args)

    def _send_json(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, message: str, retry_after: str | None = None) -> None:
        error = {"message": message, "type": "scripted_error", "code": status}
        data = json.dumps({"error": error}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if retry_after is not None:
            self.send_header("Retry-After", retry_after)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if self.path.split("?")[0].rstrip("/") == "/v1/models":
            model = {"id": "scripted", "object": "model", "created": 0, "owned_by": "assay"}
            self._send_json(200, {"object": "list", "data": [model]})
        else:
            self._error(404, f"scripted server: no route GET {self.path}")

    def do_POST(self) -> None:
        try:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            self._error(400, "scripted server: the request body is not JSON")
            return
        if self.path.split("?")[0].rstrip("/") != "/v1/chat/completions":
            self._error(404, f"scripted server: no route POST {self.path}")
            return
        try:
            self._answer(body)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (a timeout)
            log.debug("scripted server: client went away before the answer")
        except Exception as exc:  # a bad script item: say so instead of dropping the line
            message = f"scripted server: the script item failed: {type(exc).__name__}: {exc}"
            self.server.owner.errors.append(message)
            self._error(500, message)

    def _answer(self, body: dict[str, Any]) -> None:
        headers = {name.lower(): value for name, value in self.headers.items()}
        item, request_no, reply_no = self.server.owner._next(body, headers)
        if self.server.owner.delay_s:
            time.sleep(self.server.owner.delay_s)
        if item is None:
            self._error(503, "scripted server: failing on purpose (fail_first)")
            return
        if isinstance(item, _Exhausted):
            self._error(500, str(item))
            return
        while True:
            if callable(item):
                item = item(body)
            elif isinstance(item, dict) and "sleep" in item:
                time.sleep(float(item["sleep"]))
                item = item.get("reply", "(a slow reply)")
            else:
                break
        if isinstance(item, dict) and "status" in item:
            after = item.get("retry_after")
            said = str(item.get("error", "scripted error"))
            self._error(int(item["status"]), said, None if after is None else str(after))
            return
        item = {"content": item} if isinstance(item, str) else dict(item)
        calls = _wire_calls(item, reply_no)
        content = item.get("content")
        completion_words = _words(content) + sum(_words(c["function"]["arguments"]) for c in calls)
        usage = {"prompt_tokens": _prompt_words(body), "completion_tokens": completion_words}
        usage.update(item.get("usage") or {})
        usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
        base = {
            "id": f"chatcmpl-scripted-{request_no}",
            "created": int(time.time()),
            "model": body.get("model") or "scripted",
        }
        finish = "tool_calls" if calls else "stop"
        if body.get("stream"):
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            self._stream(base, content, calls, finish, usage if include_usage else None)
            return
        message: dict[str, Any] = {"role": "assistant", "content": content}
        if calls:
            message["tool_calls"] = calls
        choice = {"index": 0, "message": message, "finish_reason": finish, "logprobs": None}
        self._send_json(
            200, {**base, "object": "chat.completion", "choices": [choice], "usage": usage}
        )

    def _stream(
        self,
        base: dict[str, Any],
        content: str | None,
        calls: list[dict[str, Any]],
        finish: str,
        usage: dict[str, Any] | None,
    ) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()

        def event(delta: dict[str, Any], finish_reason: str | None = None) -> None:
            choice = {"index": 0, "delta": delta, "finish_reason": finish_reason}
            chunk = {**base, "object": "chat.completion.chunk", "choices": [choice]}
            self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
            self.wfile.flush()

        event({"role": "assistant", "content": ""})
        for piece in _pieces(content or "", 6):
            event({"content": piece})
        for index, call in enumerate(calls):
            head = {"name": call["function"]["name"], "arguments": ""}
            start = {"index": index, "id": call["id"], "type": "function", "function": head}
            event({"tool_calls": [start]})
            for piece in _pieces(call["function"]["arguments"], 7):
                event({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
        event({}, finish)
        if usage is not None:
            chunk = {**base, "object": "chat.completion.chunk", "choices": [], "usage": usage}
            self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()


def _pieces(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


class _Exhausted(str):
    """Marks "the script ran out" so the handler answers 500 with this text."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    owner: ScriptedOpenAIServer


ScriptItem = str | dict[str, Any] | Callable[[dict[str, Any]], Any]


class ScriptedOpenAIServer:
    """See the module docstring; use as a context manager or call start() / close()."""

    def __init__(
        self,
        script: Sequence[ScriptItem],
        *,
        delay_s: float = 0.0,
        fail_first: int = 0,
        port: int = 0,
    ) -> None:
        self.script = list(script)
        self.delay_s = delay_s
        self.fail_first = fail_first
        self.port = port
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []  # each request's headers, names lower-case
        self.errors: list[str] = []  # script items that raised, as answered
        self.n_replies = 0
        self._exhausted_after: int | None = None
        self._bound_port: int | None = None  # kept after close, for messages
        self._lock = threading.Lock()
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        """The API root to give clients, e.g. http://127.0.0.1:PORT/v1."""
        if self._bound_port is None:
            raise RuntimeError("the scripted server has not started; use it in a with block")
        return f"http://{_HOST}:{self._bound_port}/v1"

    @property
    def exhausted(self) -> bool:
        return self.n_replies >= len(self.script)

    def _next(self, body: dict[str, Any], headers: dict[str, str]) -> tuple[Any, int, int]:
        """(script item or None for a fail_first answer, request number, reply number)."""
        with self._lock:
            self.requests.append(body)
            self.headers.append(headers)
            request_no = len(self.requests)
            if request_no <= self.fail_first:
                return None, request_no, 0
            if self.n_replies >= len(self.script):
                if self._exhausted_after is None:
                    self._exhausted_after = request_no - 1
                message = (
                    f"scripted server: script exhausted after {self._exhausted_after} requests "
                    f"({len(self.script)} scripted replies; request {request_no} has none). "
                    "Add replies to the script."
                )
                return _Exhausted(message), request_no, 0
            self.n_replies += 1
            return self.script[self.n_replies - 1], request_no, self.n_replies

    def start(self) -> ScriptedOpenAIServer:
        if self._httpd is None:
            self._httpd = _Server((_HOST, self.port), _Handler)
            self._httpd.owner = self
            self._bound_port = int(self._httpd.server_address[1])
            self._thread = threading.Thread(
                target=self._httpd.serve_forever,
                kwargs={"poll_interval": 0.05},  # so close() returns at once
                name="scripted-openai",
                daemon=True,
            )
            self._thread.start()
        return self

    def close(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> ScriptedOpenAIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    @classmethod
    def url_down(cls) -> str:
        """An API root on 127.0.0.1 where nothing listens (a port just bound and released)."""
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind((_HOST, 0))
            port = sock.getsockname()[1]
        return f"http://{_HOST}:{port}/v1"

"""Our own retry loop (the SDKs' retries are switched off) so every backend has the same,
bounded behaviour: a few quick retries on transient failures, then one LLMError that says
what happened and what to do.

Exceptions are classified by duck typing because the openai and anthropic SDKs share their
exception design (APIConnectionError, APITimeoutError, APIStatusError.status_code) and
neither should be imported just to catch its errors.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from assay.errors import LLMError
from assay.log import get_logger

log = get_logger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class Failure:
    kind: str  # timeout | connection | status | other
    status: int | None
    detail: str

    @property
    def retryable(self) -> bool:
        if self.kind in ("timeout", "connection"):
            return True
        return self.status is not None and (self.status == 429 or self.status >= 500)


def _server_message(exc: BaseException) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])
        if isinstance(error, str):
            return error
    return str(getattr(exc, "message", None) or exc)


def classify(exc: BaseException) -> Failure:
    names = {cls.__name__ for cls in type(exc).__mro__}
    # the SDK wraps transport errors of the request; a stream fails mid-way with httpx's own
    if names & {"APITimeoutError", "TimeoutException"} or isinstance(exc, TimeoutError):
        return Failure("timeout", None, "no answer before the timeout")
    if names & {"APIConnectionError", "TransportError"} or isinstance(exc, ConnectionError):
        cause = exc.__cause__ or exc.__context__
        detail = f"cannot connect ({cause or exc})"
        return Failure("connection", None, detail)
    status = getattr(exc, "status_code", None)
    if isinstance(status, int):
        return Failure("status", status, f"HTTP {status}: {_server_message(exc)}")
    return Failure("other", None, f"{type(exc).__name__}: {exc}")


def advice(failure: Failure, timeout_s: float) -> str:
    """What the user can do about a failure, for the end of an LLMError message."""
    if failure.kind == "timeout":
        return (
            f"The server did not answer within timeout_s={timeout_s:g} s: the model may be "
            "slow or the server overloaded. Raise the timeout (timeout_s) or use a smaller model."
        )
    if failure.kind == "connection":
        return (
            "Check that the LLM server is running and that ASSAY_LLM_BASE_URL points to it "
            "(OpenAI-compatible servers usually end in /v1)."
        )
    status = failure.status or 0
    if status in (401, 403):
        return "Check the API key (ASSAY_LLM_API_KEY)."
    if status == 404:
        return (
            "Check that ASSAY_LLM_MODEL names a model this server serves and that "
            "ASSAY_LLM_BASE_URL is the API root (usually ending in /v1)."
        )
    if status == 429:
        return "The server is rate limiting: wait a while or lower the request rate."
    if status >= 500:
        return "The server failed; look at its logs, or retry later."
    if failure.kind == "status":
        return "The server rejected the request; see its message above."
    return "Check ASSAY_LLM_BASE_URL and that the server speaks the expected API."


def with_retries(
    call: Callable[[], T],
    *,
    where: str,
    timeout_s: float,
    max_retries: int,
    backoff_s: float,
    backoff_max_s: float,
    attempts: list[int] | None = None,
    passthrough: Callable[[Failure], bool] | None = None,
) -> T:
    """`call()` with up to `max_retries` retries on transient failures; LLMError otherwise.

    Each attempt appends its number to `attempts` when given, so callers can count them.
    Failures for which `passthrough` returns True are re-raised as they are, for the caller.
    """
    n_attempts = max_retries + 1
    for attempt in range(1, n_attempts + 1):
        if attempts is not None:
            attempts.append(attempt)
        try:
            return call()
        except LLMError:
            raise
        except Exception as exc:
            failure = classify(exc)
            if passthrough is not None and passthrough(failure):
                raise
            if not failure.retryable or attempt == n_attempts:
                tries = f"{attempt} attempt" + ("s" if attempt > 1 else "")
                raise LLMError(
                    f"LLM request to {where} failed after {tries}: {failure.detail}. "
                    f"{advice(failure, timeout_s)}"
                ) from exc
            delay = _delay(exc, attempt, backoff_s, backoff_max_s)
            if delay > MAX_RETRY_AFTER_S:
                raise LLMError(
                    f"LLM request to {where} failed: {failure.detail}. The server asks to "
                    f"wait {delay:.0f} s before retrying (Retry-After), more than the "
                    f"{MAX_RETRY_AFTER_S:.0f} s assay waits; try again later."
                ) from exc
            log.info(
                "LLM request to %s failed (%s); retry %d/%d in %.2f s",
                where,
                failure.detail,
                attempt,
                max_retries,
                delay,
            )
            time.sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover


MAX_RETRY_AFTER_S = 120.0  # a server asking for a longer wait gets an error instead


def retry_after_s(headers: Any) -> float | None:
    """The wait a response asks for: `retry-after-ms`, or `Retry-After` in seconds or as
    an HTTP date; None when it asks for none (or says something unreadable)."""
    if headers is None:
        return None
    try:
        millis = headers.get("retry-after-ms")
        if millis is not None:
            return max(0.0, float(millis) / 1000)
    except (TypeError, ValueError):
        pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except (TypeError, ValueError):
        pass
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(str(value))
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _delay(exc: Any, attempt: int, base_s: float, cap_s: float) -> float:
    """The server's Retry-After when it gives one (however long: a longer wait than
    MAX_RETRY_AFTER_S ends the retries), else exponential backoff with jitter."""
    asked = retry_after_s(getattr(getattr(exc, "response", None), "headers", None))
    if asked is not None:
        return asked
    return min(cap_s, base_s * 2 ** (attempt - 1)) * (0.5 + random.random() / 2)

"""What every HTTP backend does around a request: the response cache, prices, running
totals and the recorder callback. Shared so that cache hits and failures are counted the same
way whichever provider answered."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from assay.errors import LLMError
from assay.llm._base import Completion, Message, Usage
from assay.llm._cache import ResponseCache
from assay.log import get_logger

log = get_logger(__name__)

Recorder = Callable[[Completion, dict[str, Any]], None]
"""Called after every call: cache hits (cached=True, cost 0.0) and failures too (then with
an empty message, zero tokens and the error text in `request_summary["error"]`)."""


class Accounting:
    """Mixin state: `cache`, `recorder`, `price_per_1k`, and totals over the backend's life."""

    model: str
    cache: ResponseCache | None
    recorder: Recorder | None
    price_per_1k: tuple[float, float] | None

    def _init_accounting(
        self,
        cache: ResponseCache | None,
        recorder: Recorder | None,
        price_per_1k: tuple[float, float] | None,
    ) -> None:
        self.cache = cache
        self.recorder = recorder
        self.price_per_1k = price_per_1k
        self.total_usage = Usage(0, 0, None)
        self.n_calls = 0

    def _call(
        self,
        key: str | None,
        request: Callable[[list[int]], tuple[Message, Usage, str]],
        summary: Callable[[int, str | None], dict[str, Any]],
    ) -> Completion:
        """One request with the cache, prices, totals and the recorder around it, the same
        for every provider. `request(attempts)` returns (message, usage, model) and appends to
        `attempts` per try; `summary(n_attempts, error)` describes the call for the recorder."""
        start = time.monotonic()
        hit = self._cache_hit(key, start)
        if hit is not None:
            self._account(hit, summary(0, None))
            return hit
        attempts: list[int] = []
        try:
            message, usage, model = request(attempts)
        except LLMError as exc:
            self._account(self._failed(start), summary(len(attempts), str(exc)))
            raise
        completion = Completion(message, self._priced(usage), model, time.monotonic() - start)
        if self.cache is not None and key is not None:
            self.cache.put(key, completion)
        self._account(completion, summary(len(attempts), None))
        return completion

    def _cache_hit(self, key: str | None, start: float) -> Completion | None:
        if self.cache is None or key is None:
            return None
        hit = self.cache.get(key)
        if hit is None:
            return None
        usage = replace(hit.usage, cost_usd=0.0)  # nothing was spent on a hit
        return replace(hit, usage=usage, latency_s=time.monotonic() - start)

    def _failed(self, start: float) -> Completion:
        return Completion(
            Message("assistant"), Usage(0, 0, None), self.model, time.monotonic() - start
        )

    def _priced(self, usage: Usage) -> Usage:
        if self.price_per_1k is None:
            return usage
        prompt_price, completion_price = self.price_per_1k
        cost = usage.prompt_tokens * prompt_price + usage.completion_tokens * completion_price
        return replace(usage, cost_usd=cost / 1000.0)

    def _account(self, completion: Completion, summary: dict[str, Any]) -> None:
        self.n_calls += 1
        self.total_usage = self.total_usage + completion.usage
        if self.recorder is None:
            return
        try:
            self.recorder(completion, summary)
        except Exception as exc:  # accounting must not end the conversation
            log.warning("could not record an LLM call with %r: %s", self.recorder, exc)

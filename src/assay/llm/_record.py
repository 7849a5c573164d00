"""StoreRecorder: the `recorder` of a backend that writes every call to the run store.

One row per call (cache hits and failures included) in the store's `llm_calls` table, so the
tokens and money a run spent on its LLM can be read back with `store.llm_calls(run_id)`.
"""

from __future__ import annotations

from typing import Any

from assay.llm._base import Completion


class StoreRecorder:
    """Writes each Completion of a backend as a row of `llm_calls` for run `run_id`."""

    def __init__(self, store: Any, run_id: str) -> None:
        self.store = store
        self.run_id = run_id

    def __repr__(self) -> str:
        return f"StoreRecorder({self.store!r}, {self.run_id!r})"

    def __call__(self, completion: Completion, request_summary: dict[str, Any]) -> None:
        self.store.record_llm_call(
            self.run_id,
            model=completion.model or str(request_summary.get("model") or ""),
            prompt_tokens=completion.usage.prompt_tokens,
            completion_tokens=completion.usage.completion_tokens,
            cost_usd=completion.usage.cost_usd,
            latency_s=completion.latency_s,
            cached=completion.cached,
            error=request_summary.get("error"),
        )

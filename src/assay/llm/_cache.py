"""An on-disk cache of completions, so a run can be replayed exactly and cheaply.

The key is the SHA-256 of the canonical JSON of what decides the answer (model, messages,
tools, temperature, tool mode) and not the server's URL, so the same conversation sent to a
moved server still hits. Entries are written to a temporary file and renamed into place, so
a reader never sees half an entry, even with several processes sharing the folder.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from assay._atomic import atomic_write_text
from assay.errors import LLMError
from assay.llm._base import Completion, Message, Tool
from assay.log import get_logger

log = get_logger(__name__)

KEY_VERSION = 1  # bump when the key's contents change meaning


def request_key(
    *,
    model: str,
    messages: list[Message],
    tools: list[Tool] | None,
    temperature: float | None,
    tool_mode: str,
    extra: dict[str, Any] | None = None,
) -> str:
    """SHA-256 of the canonical JSON of a request."""
    request = {
        "v": KEY_VERSION,
        "model": model,
        "messages": [m.to_openai() for m in messages],
        "tools": [t.to_openai() for t in tools or []],
        "temperature": temperature,
        "tool_mode": tool_mode,
        "extra": extra or {},
    }
    canonical = json.dumps(request, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class ResponseCache:
    """Completions by request key, one JSON file each under `folder/<2 hex>/<key>.json`."""

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.folder = Path(folder).expanduser()

    def __repr__(self) -> str:
        return f"ResponseCache({str(self.folder)!r})"

    def _path(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}.json"

    def get(self, key: str) -> Completion | None:
        """The stored completion (marked cached=True), or None on a miss or unreadable entry."""
        path = self._path(key)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            completion = Completion.from_dict(data)
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("ignoring unreadable LLM cache entry %s: %s", path, exc)
            return None
        return Completion(
            message=completion.message,
            usage=completion.usage,
            model=completion.model,
            latency_s=completion.latency_s,
            cached=True,
        )

    def put(self, key: str, completion: Completion) -> None:
        """Store `completion` under `key` atomically (temporary file, then rename)."""
        path = self._path(key)
        text = json.dumps(completion.to_dict(), ensure_ascii=False, indent=1)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # private, as before: conversations may quote the user's data
            atomic_write_text(path, text, permissions=0o600)
        except OSError as exc:
            raise LLMError(
                f"cannot write the LLM response cache at {self.folder}: {exc.strerror or exc}. "
                "Point ASSAY_LLM_CACHE to a writable folder, or set ASSAY_LLM_CACHE=off."
            ) from exc

    def __len__(self) -> int:
        return sum(1 for _ in self.folder.glob("*/*.json")) if self.folder.exists() else 0

"""Which LLM to use, from the environment or a small JSON file; nothing configured is fine.

Sources, strongest first: keyword overrides, `ASSAY_LLM_*` environment variables, then the
first of `ASSAY_HOME/llm.json` and `~/.config/assay/llm.json` (`$XDG_CONFIG_HOME` honoured)
that exists, with the same keys in lower case:

    {"base_url": "http://localhost:11434/v1", "model": "qwen2.5:7b", "api_key": null,
     "provider": "openai", "timeout_s": 120, "tool_mode": "auto"}

Where assay's own settings leave them out, the providers' variables are read: the key from
`OPENAI_API_KEY` (or `ANTHROPIC_API_KEY` with the anthropic provider), and for a configured
model without a URL, `OPENAI_BASE_URL`. assay passes a provider's key only to that
provider's own endpoint (its default URL, or `OPENAI_BASE_URL` set beside the key), not to
another server configured for assay (the anthropic SDK itself still reads
`ANTHROPIC_API_KEY` when no key is given). With neither a base URL nor a model configured,
`llm_from_env` returns None and the agent works offline; no key means no Authorization
header, not a placeholder. Responses are cached under `ASSAY_HOME/cache/llm` unless
`ASSAY_LLM_CACHE` is "off" (or names another folder).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from assay.config import settings
from assay.errors import LLMError
from assay.llm._base import LLM
from assay.llm._cache import ResponseCache
from assay.log import get_logger

log = get_logger(__name__)

OPENAI_URL = "https://api.openai.com/v1"
PROVIDERS = ("openai", "anthropic")
_MAIN_KEYS = ("base_url", "model", "api_key", "provider", "cache")
_BACKEND_KEYS: tuple[str, ...] = ("timeout_s", "max_retries", "tool_mode", "price_per_1k")
_BACKEND_KEYS += ("temperature", "max_tokens", "stream")
_OFF = {"off", "0", "false", "no", "none"}


def config_files() -> list[Path]:
    """Where an llm.json is looked for, in order."""
    xdg = os.environ.get("XDG_CONFIG_HOME") or str(Path("~/.config").expanduser())
    return [settings().home / "llm.json", Path(xdg) / "assay" / "llm.json"]


def _read_file() -> dict[str, Any]:
    for path in config_files():
        if not path.is_file():
            continue
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise LLMError(f"cannot read the LLM config {path}: {exc}; fix or remove it") from exc
        if not isinstance(data, dict):
            raise LLMError(f"the LLM config {path} must hold one JSON object")
        unknown = set(data) - set(_MAIN_KEYS) - set(_BACKEND_KEYS)
        if unknown:
            allowed = ", ".join(_MAIN_KEYS + _BACKEND_KEYS)
            raise LLMError(
                f"the LLM config {path} has unknown keys {sorted(unknown)}; allowed: {allowed}"
            )
        log.debug("LLM settings from %s", path)
        return {k: v for k, v in data.items() if v is not None}
    return {}


def llm_settings(**overrides: Any) -> dict[str, Any]:
    """The merged settings (file < environment < overrides) that `llm_from_env` uses."""
    merged = _read_file()
    for key in _MAIN_KEYS:
        value = os.environ.get(f"ASSAY_LLM_{key.upper()}")
        if value:
            merged[key] = value
    merged.update({k: v for k, v in overrides.items() if v is not None or k == "cache"})
    return _providers_variables(merged)


def _providers_variables(merged: dict[str, Any]) -> dict[str, Any]:
    """`merged` completed from OPENAI_API_KEY, OPENAI_BASE_URL and ANTHROPIC_API_KEY where it
    lacks a key or URL (see the module docstring for when they apply)."""
    anthropic = str(merged.get("provider", "openai")).lower() == "anthropic"
    own_url = not merged.get("base_url")
    if not anthropic and own_url and merged.get("model") and os.environ.get("OPENAI_BASE_URL"):
        merged["base_url"] = os.environ["OPENAI_BASE_URL"]
    if not merged.get("api_key") and own_url:
        key = os.environ.get("ANTHROPIC_API_KEY" if anthropic else "OPENAI_API_KEY")
        if key:
            merged["api_key"] = key
    return merged


def _cache(value: Any) -> ResponseCache | None:
    if value is None or isinstance(value, ResponseCache):
        return value
    if str(value).strip().lower() in _OFF:
        return None
    return ResponseCache(value)


def llm_from_env(**overrides: Any) -> LLM | None:
    """The configured backend, or None when no LLM is configured.

    Overrides take the settings' names (`base_url`, `model`, `api_key`, `provider`, `cache`)
    or any keyword of the backend (`timeout_s`, `recorder`, `on_token`, ...).
    """
    config = llm_settings(**overrides)
    base_url, model = config.pop("base_url", None), config.pop("model", None)
    api_key = config.pop("api_key", None)
    provider = str(config.pop("provider", "openai")).lower()
    if provider not in PROVIDERS:
        raise LLMError(f"ASSAY_LLM_PROVIDER={provider!r} is not one of {', '.join(PROVIDERS)}")
    if not base_url and not model:
        return None
    if not model:
        raise LLMError(
            f"an LLM server is configured ({base_url}) but no model: set ASSAY_LLM_MODEL "
            "(e.g. the name `ollama list` shows)"
        )
    if "cache" in config:
        cache = _cache(config.pop("cache"))
    else:
        cache = ResponseCache(settings().home / "cache" / "llm")
    if isinstance(config.get("price_per_1k"), list):
        config["price_per_1k"] = tuple(config["price_per_1k"])
    if provider == "anthropic":
        from assay.llm._anthropic import AnthropicBackend

        for key in ("tool_mode", "stream"):  # Claude always has native tools; no streaming
            config.pop(key, None)
        return AnthropicBackend(model, api_key=api_key, base_url=base_url, cache=cache, **config)
    from assay.llm._openai import OpenAIBackend

    if not base_url:
        base_url = OPENAI_URL
    return OpenAIBackend(base_url, model, api_key=api_key, cache=cache, **config)

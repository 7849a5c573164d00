"""llm_from_env: environment over file, None when nothing is configured."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assay.errors import LLMError
from assay.llm import AnthropicBackend, Message, OpenAIBackend, llm_from_env
from assay.testing import ScriptedOpenAIServer

KEYS = ("BASE_URL", "MODEL", "API_KEY", "PROVIDER", "CACHE")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for key in KEYS:
        monkeypatch.delenv(f"ASSAY_LLM_{key}", raising=False)
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "ANTHROPIC_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    config_home = tmp_path / "xdg"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config_home))
    return config_home


def test_nothing_configured_means_no_llm(monkeypatch: pytest.MonkeyPatch) -> None:
    assert llm_from_env() is None
    monkeypatch.setenv("ASSAY_LLM_API_KEY", "sk-only-a-key")
    assert llm_from_env() is None


def test_environment_configures_an_openai_compatible_backend(
    monkeypatch: pytest.MonkeyPatch, assay_home: Path
) -> None:
    monkeypatch.setenv("ASSAY_LLM_BASE_URL", "http://localhost:11434/v1/")
    monkeypatch.setenv("ASSAY_LLM_MODEL", "qwen2.5:7b")
    monkeypatch.setenv("ASSAY_LLM_API_KEY", "secret")
    llm = llm_from_env(timeout_s=5)
    assert isinstance(llm, OpenAIBackend)
    assert (llm.base_url, llm.model, llm.api_key) == (
        "http://localhost:11434/v1",
        "qwen2.5:7b",
        "secret",
    )
    assert llm.timeout_s == 5
    assert llm.cache is not None and llm.cache.folder == assay_home / "cache" / "llm"
    monkeypatch.setenv("ASSAY_LLM_CACHE", "off")
    assert llm_from_env().cache is None


def test_a_model_alone_means_the_openai_api(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASSAY_LLM_MODEL", "gpt-x")
    assert llm_from_env().base_url == "https://api.openai.com/v1"


def test_a_url_without_a_model_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASSAY_LLM_BASE_URL", "http://localhost:8000/v1")
    with pytest.raises(LLMError, match="ASSAY_LLM_MODEL"):
        llm_from_env()


def test_file_settings_and_environment_wins(
    monkeypatch: pytest.MonkeyPatch, assay_home: Path, clean_env: Path
) -> None:
    user_file = clean_env / "assay" / "llm.json"
    user_file.parent.mkdir(parents=True)
    user_file.write_text(json.dumps({"base_url": "http://user:1/v1", "model": "user-model"}))
    assert llm_from_env().model == "user-model"
    assay_home.mkdir(parents=True, exist_ok=True)
    settings = {
        "base_url": "http://file:1/v1",
        "model": "file-model",
        "tool_mode": "json",
        "price_per_1k": [0.1, 0.2],
        "cache": "off",
    }
    (assay_home / "llm.json").write_text(json.dumps(settings))
    llm = llm_from_env()
    assert (llm.base_url, llm.model) == ("http://file:1/v1", "file-model")  # ASSAY_HOME first
    assert llm.tool_mode.value == "json" and llm.price_per_1k == (0.1, 0.2) and llm.cache is None
    monkeypatch.setenv("ASSAY_LLM_MODEL", "env-model")
    llm = llm_from_env()
    assert (llm.base_url, llm.model) == ("http://file:1/v1", "env-model")
    assert llm_from_env(model="override").model == "override"


def test_a_bad_file_is_reported(assay_home: Path) -> None:
    assay_home.mkdir(parents=True, exist_ok=True)
    (assay_home / "llm.json").write_text('{"model": "m", "colour": "blue"}')
    with pytest.raises(LLMError, match=r"unknown keys.*colour"):
        llm_from_env()
    (assay_home / "llm.json").write_text("{oops")
    with pytest.raises(LLMError, match=r"llm\.json"):
        llm_from_env()


def test_provider_selection(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASSAY_LLM_MODEL", "claude-x")
    monkeypatch.setenv("ASSAY_LLM_PROVIDER", "anthropic")
    assert isinstance(llm_from_env(), AnthropicBackend)
    monkeypatch.setenv("ASSAY_LLM_PROVIDER", "mistery")
    with pytest.raises(LLMError, match="openai, anthropic"):
        llm_from_env()


def test_a_configured_backend_talks_to_the_server(monkeypatch: pytest.MonkeyPatch) -> None:
    with ScriptedOpenAIServer(["configured and working"]) as server:
        monkeypatch.setenv("ASSAY_LLM_BASE_URL", server.base_url)
        monkeypatch.setenv("ASSAY_LLM_MODEL", "local")
        llm = llm_from_env()
        assert llm.complete([Message("user", "hi")]).message.content == "configured and working"
        again = llm_from_env().complete([Message("user", "hi")])  # default cache: a hit
    assert again.cached and len(server.requests) == 1


def test_the_providers_own_variables_fill_in_where_assays_are_not_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-openai-env")
    monkeypatch.setenv("OPENAI_BASE_URL", "https://gateway.example/v1")
    assert llm_from_env() is None  # a key and a URL, but no model: nothing to talk to
    monkeypatch.setenv("ASSAY_LLM_MODEL", "gpt-x")
    llm = llm_from_env()
    assert (llm.base_url, llm.api_key) == ("https://gateway.example/v1", "sk-from-openai-env")
    monkeypatch.delenv("OPENAI_BASE_URL")
    llm = llm_from_env()
    assert (llm.base_url, llm.api_key) == ("https://api.openai.com/v1", "sk-from-openai-env")
    monkeypatch.setenv("ASSAY_LLM_API_KEY", "assay-key")  # assay's own setting wins
    assert llm_from_env().api_key == "assay-key"


def test_a_providers_key_never_goes_to_another_server(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-openai-env")
    monkeypatch.setenv("ASSAY_LLM_BASE_URL", "http://127.0.0.1:11434/v1")
    monkeypatch.setenv("ASSAY_LLM_MODEL", "qwen")
    assert llm_from_env().api_key is None


def test_the_anthropic_key_goes_with_the_anthropic_provider(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-openai")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant")
    monkeypatch.setenv("ASSAY_LLM_PROVIDER", "anthropic")
    monkeypatch.setenv("ASSAY_LLM_MODEL", "claude-x")
    llm = llm_from_env()
    assert isinstance(llm, AnthropicBackend) and llm.api_key == "sk-ant"

"""LLM backends behind one small protocol: `complete(messages, tools) -> Completion`.

`llm_from_env()` builds the configured backend (or returns None to work offline);
`ScriptedBackend` replays a script for tests and demos. Heavy SDKs (openai, anthropic) are
imported only when a request is made.
"""

from assay.llm._accounting import Recorder
from assay.llm._anthropic import AnthropicBackend, from_anthropic, to_anthropic, tools_to_anthropic
from assay.llm._base import (
    INVALID_JSON_KEY,
    LLM,
    Completion,
    Message,
    Tool,
    ToolCall,
    Usage,
    parse_arguments,
)
from assay.llm._blocks import PYTHON_TAGS, CodeBlock, code_blocks, prose
from assay.llm._cache import ResponseCache, request_key
from assay.llm._config import llm_from_env, llm_settings
from assay.llm._jsonmode import parse_tool_json, tools_prompt
from assay.llm._openai import OpenAIBackend, ToolMode
from assay.llm._record import StoreRecorder
from assay.llm._scripted import ScriptedBackend, load_script

__all__ = [
    "INVALID_JSON_KEY",
    "LLM",
    "PYTHON_TAGS",
    "AnthropicBackend",
    "CodeBlock",
    "Completion",
    "Message",
    "OpenAIBackend",
    "Recorder",
    "ResponseCache",
    "ScriptedBackend",
    "StoreRecorder",
    "Tool",
    "ToolCall",
    "ToolMode",
    "Usage",
    "code_blocks",
    "from_anthropic",
    "llm_from_env",
    "llm_settings",
    "load_script",
    "parse_arguments",
    "parse_tool_json",
    "prose",
    "request_key",
    "to_anthropic",
    "tools_prompt",
    "tools_to_anthropic",
]

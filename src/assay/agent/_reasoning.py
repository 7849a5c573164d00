"""The reasoning agent: reads a request, plans tool calls, runs them, reads the results
and revises its plan, then answers in plain language. The loop is short on purpose (as in
mini-swe-agent): the model does the planning, the tools do the work, the log keeps both."""

from __future__ import annotations

from assay.agent._tools import Toolbox, tool_json
from assay.log import get_logger

logger = get_logger(__name__)

SYSTEM = """You are assay's AutoML assistant. You work by calling tools on the user's data.
Plan the steps a data scientist would take: describe_data (load the file), set_target
(the column to predict, the metric if the user named one), fit (with the time budget the
user gave, in seconds), then leaderboard, explain, stats, compare, report or predict as the
request asks. Use run_code only for a step no tool covers (a new feature, a filter, a plot).
Read every tool result before the next step; if a call fails, fix the arguments and retry.
When the work is done, answer in plain language: what you did, the key numbers, what
drives the target when asked, and the paths of the files written. Use only numbers the
tools returned."""


class ReasoningAgent:
    def __init__(self, llm, toolbox: Toolbox, log, *, max_steps: int = 16):
        from assay.llm import Message

        self.llm = llm
        self.toolbox = toolbox
        self.log = log
        self.max_steps = max_steps
        self.messages = [Message("system", SYSTEM)]

    def respond(self, text: str) -> str:
        from assay.llm import Message

        state = self.toolbox.state
        context = f"\n(Session: data {state.data or 'not loaded'}"
        context += f", columns {state.columns[:50]}" if state.columns else ""
        context += f", target {state.target}" if state.target else ""
        context += ", a model is fitted" if state.predictor_path else ""
        self.messages.append(Message("user", text + context + ")"))
        tools = self.toolbox.specs()
        for _ in range(self.max_steps):
            completion = self.llm.complete(self.messages, tools=tools)
            message = completion.message
            self.log.event(
                "assistant",
                content=message.content,
                tool_calls=[{"name": c.name, "arguments": c.arguments} for c in message.tool_calls],
                tokens=[completion.usage.prompt_tokens, completion.usage.completion_tokens],
                cached=completion.cached,
            )
            self.messages.append(message)
            if not message.tool_calls:
                return message.content or ""
            for call in message.tool_calls:
                self.log.event("tool_call", name=call.name, arguments=call.arguments)
                self.toolbox.progress(f"running {tool_json(call.name, call.arguments)}")
                result = self.toolbox.call(call.name, call.arguments)
                self.log.event("tool_result", name=call.name, ok=result.ok, content=result.content)
                self.messages.append(
                    Message("tool", result.content, tool_call_id=call.id, name=call.name)
                )
        return (
            f"I stopped after {self.max_steps} steps without finishing. What was done is in "
            f"the session log ({self.log.path})."
        )

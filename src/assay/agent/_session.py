"""A conversation with assay: the session state, the agent (reasoning with an LLM, or the
rule-based planner without one), and an audit log of every message, tool call and result
(`session.jsonl` in the session folder)."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from assay.agent._tools import SessionState, Toolbox, tool_json
from assay.log import get_logger

if TYPE_CHECKING:
    from assay.agent._reasoning import ReasoningAgent

logger = get_logger(__name__)


class SessionLog:
    """Append-only JSON lines, flushed at once: a killed session keeps its history."""

    def __init__(self, path: Path):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)

    def event(self, kind: str, **fields) -> None:
        line = json.dumps({"time": time.time(), "kind": kind, **fields}, default=str)
        with self.path.open("a") as handle:
            handle.write(line + "\n")

    def events(self) -> list[dict]:
        if not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_text().splitlines() if line]


@dataclass
class Reply:
    text: str
    artifacts: list[str] = field(default_factory=list)
    log_path: str = ""
    offline: bool = False
    steps: list[dict] = field(default_factory=list)  # this turn's tool calls and results

    def transcript(self, max_lines: int = 12) -> str:
        """The tool calls of this turn with the first lines of each result."""
        out = []
        for step in self.steps:
            lines = step["content"].splitlines()
            shown = "\n".join(f"  {line}" for line in lines[:max_lines])
            more = (
                f"\n  [... {len(lines) - max_lines} more lines in the log]"
                if len(lines) > max_lines
                else ""
            )
            mark = "" if step["ok"] else " (failed)"
            out.append(f"> {tool_json(step['name'], step['arguments'])}{mark}\n{shown}{more}")
        return "\n".join(out)


class OfflineAgent:
    """Without an LLM: the rule-based planner's plan, run step by step, and a plain answer
    of what was done, what was not understood and what is still needed."""

    def __init__(self, toolbox: Toolbox, log: SessionLog):
        self.toolbox, self.log = toolbox, log

    def respond(self, text: str) -> str:
        from assay.agent._offline import plan_request

        state = self.toolbox.state
        plan = plan_request(text, data=state.data, columns=state.columns, state=state.summary())
        first = plan.calls[0] if plan.calls else None
        if first is not None and first.tool == "describe_data":  # learn the columns, then plan
            self._run(first.tool, first.args)
            if state.frame is not None:
                plan = plan_request(
                    text, data=state.data, columns=state.columns, state=state.summary()
                )
                plan.calls = [c for c in plan.calls if c.tool != "describe_data"]
        self.log.event(
            "plan",
            calls=[{"tool": c.tool, "args": c.args} for c in plan.calls],
            understood=plan.understood,
            not_understood=plan.not_understood,
            questions=plan.questions,
        )
        lines = []
        if plan.understood:
            lines.append("Understood: " + "; ".join(plan.understood) + ".")
        for call in plan.calls:
            result = self._run(call.tool, call.args)
            lines.append(f"\n> {tool_json(call.tool, call.args)}\n{result.content}")
            if not result.ok:
                lines.append("Stopped here: that step failed.")
                break
        if plan.not_understood:
            lines.append("\nNot understood: " + "; ".join(plan.not_understood) + ".")
        lines += [f"Question: {q}" for q in plan.questions]
        if not plan.calls and not plan.questions:
            lines.append("I did not find anything to do in that request.")
        return "\n".join(lines)

    def _run(self, name: str, args: dict):
        self.log.event("tool_call", name=name, arguments=args)
        self.toolbox.progress(f"running {tool_json(name, args)}")
        result = self.toolbox.call(name, args)
        self.log.event("tool_result", name=name, ok=result.ok, content=result.content)
        return result


class Session:
    """`Session(data, llm="auto")`: `llm="auto"` uses the endpoint configured in the
    environment (ASSAY_LLM_BASE_URL, ASSAY_LLM_MODEL) and works offline when there is none;
    `llm=None` always works offline; or pass an LLM backend."""

    def __init__(
        self,
        data: str | None = None,
        *,
        llm="auto",
        home: str | Path | None = None,
        progress: Callable[[str], None] | None = None,
        sandbox=None,
    ):
        from assay.config import settings

        root = Path(home) if home else settings().home / "sessions"
        self.folder = root / f"{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"
        self.folder.mkdir(parents=True)
        self.store, self.run_id = None, None
        if llm == "auto":
            llm = self._llm_from_env(data)
        self.log = SessionLog(self.folder / "session.jsonl")
        self.state = SessionState(self.folder)
        coder = None
        if llm is not None:
            from assay.agent._coding import CodingAgent

            coder = CodingAgent(llm, sandbox)
        self.toolbox = Toolbox(self.state, coder=coder, progress=progress)
        self.llm = llm
        self.agent: OfflineAgent | ReasoningAgent
        if llm is None:
            self.agent = OfflineAgent(self.toolbox, self.log)
        else:
            from assay.agent._reasoning import ReasoningAgent

            self.agent = ReasoningAgent(llm, self.toolbox, self.log)
        self.log.event("start", data=data, llm=type(llm).__name__ if llm else None)
        if data is not None:
            result = self.toolbox.call("describe_data", {"path": data})
            self.log.event(
                "tool_result", name="describe_data", ok=result.ok, content=result.content
            )
            if not result.ok:
                from assay.errors import DataError

                raise DataError(result.content)

    def _llm_from_env(self, data):
        """The configured LLM, its calls (tokens, cost, latency) recorded in the store
        under a run of its own; None when no LLM is configured."""
        from assay.llm import StoreRecorder, llm_from_env, llm_settings
        from assay.store import open_store

        if not llm_settings().get("base_url") and not llm_settings().get("model"):
            return None
        self.store = open_store()
        run = self.store.start_run(
            task="agent", source=data, settings={"session": str(self.folder)}
        )
        self.run_id = run.run_id
        return llm_from_env(recorder=StoreRecorder(self.store, run.run_id))

    def close(self) -> None:
        """Mark the session's run finished (its LLM calls stay in the store)."""
        if self.store is not None and self.run_id is not None:
            from assay._types import RunState

            self.store.finish_run(self.run_id, RunState.FINISHED)
            self.run_id = None

    def ask(self, text: str) -> Reply:
        start = len(self.log.events())
        self.log.event("user", content=text)
        try:
            answer = self.agent.respond(text)
        except Exception as exc:
            self.log.event("error", error=f"{type(exc).__name__}: {exc}")
            raise
        self.log.event("answer", content=answer)
        steps, pending = [], {}
        for event in self.log.events()[start:]:
            if event["kind"] == "tool_call":
                pending = event
            elif event["kind"] == "tool_result":
                args = pending.get("arguments", {}) if pending.get("name") == event["name"] else {}
                steps.append({**event, "arguments": args})
        return Reply(
            answer, list(self.state.artifacts), str(self.log.path), self.llm is None, steps
        )

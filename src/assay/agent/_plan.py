"""What a planner hands the agent loop: tool calls in order, plus what it took from the
request, what it could not place and what the user still has to say. Both the LLM agent and
the rule-based planner speak this, so the loop runs and reports either the same way."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class Tool(str, Enum):
    """The agent's tools, in the order the standard plan calls them (run_code last)."""

    DESCRIBE_DATA = "describe_data"
    SET_TARGET = "set_target"
    FIT = "fit"
    LEADERBOARD = "leaderboard"
    EXPLAIN = "explain"
    STATS = "stats"
    COMPARE = "compare"
    REPORT = "report"
    PREDICT = "predict"
    RUN_CODE = "run_code"


TOOL_NAMES: tuple[str, ...] = tuple(tool.value for tool in Tool)


@dataclass(frozen=True)
class PlannedCall:
    tool: str  # one of TOOL_NAMES
    args: dict  # JSON-serializable keyword arguments of the tool
    why: str = ""  # one short sentence for the user


@dataclass
class Plan:
    calls: list[PlannedCall]
    understood: list[str] = field(default_factory=list)  # e.g. "target: churn"
    not_understood: list[str] = field(default_factory=list)  # fragments of the request, verbatim
    questions: list[str] = field(default_factory=list)  # what the user must still say

    @property
    def tools(self) -> list[str]:
        return [call.tool for call in self.calls]

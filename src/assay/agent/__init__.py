"""The conversational agent: a reasoning agent that plans tool calls with an LLM, a coding
agent that writes and runs code in the sandbox, and a rule-based planner for use without
any LLM."""

from assay.agent._coding import CodeResult, CodingAgent
from assay.agent._offline import plan_request
from assay.agent._plan import TOOL_NAMES, Plan, PlannedCall
from assay.agent._session import Reply, Session, SessionLog
from assay.agent._tools import SessionState, Toolbox, ToolResult

__all__ = [
    "TOOL_NAMES",
    "CodeResult",
    "CodingAgent",
    "Plan",
    "PlannedCall",
    "Reply",
    "Session",
    "SessionLog",
    "SessionState",
    "ToolResult",
    "Toolbox",
    "plan_request",
]

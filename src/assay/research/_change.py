"""What a proposer hands the research loop: one candidate pipeline.py and why.

A change is the whole new file rather than a diff so the ledger, the validator and the
workspace never have to re-apply anything; proposers that think in diffs apply them first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class Change:
    pipeline: str  # the full new text of pipeline.py
    description: str  # one line, for the ledger
    source: str = "search"  # "search" | "llm" | "fix"
    why: str = ""  # why this change now (the search proposer's bandit); ledger and log


@dataclass(frozen=True)
class ProposalContext:
    program: str  # program.md
    pipeline: str  # current (best) pipeline.py
    ledger: list[dict]  # past experiments, oldest first (number, score, status, description)
    last_error: str | None  # the log tail of the last crashed experiment, when asking for a fix
    metric: str
    greater_is_better: bool
    # features that discovery found on the training rows, best first:
    # {"spec": ["ratio", "a", "b"], "text": "a / b", "gain": ...}
    discovered: list[dict] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)  # the training table's, target aside


class Proposer(Protocol):
    def propose(self, ctx: ProposalContext) -> Change | None: ...

"""LLMProposer: asks a language model for the next experiment as an edit of pipeline.py.

The model answers with a one-line description and either a unified diff or the whole
file. Diffs are cheap to write but models get them wrong, so an unusable reply (a diff that
does not apply, no code block) earns exactly one retry that says why; after that the
proposal is refused, not guessed at. A diff that edits another file is refused at once.
The loop must catch ProposalError, log the attempt as "refused" with its message and go on;
it still runs validate_change on every Change this returns.
"""

from __future__ import annotations

import re
from typing import Any

from assay.errors import DiffError, DiffTargetError, ProposalError
from assay.llm import LLM, PYTHON_TAGS, Message, code_blocks, prose
from assay.research._change import Change, ProposalContext
from assay.research._config import BEGIN, END
from assay.research._validate import apply_diff

N_LEDGER_SHOWN = 20
N_ERROR_CHARS = 4000
N_DISCOVERED_SHOWN = 20
_DESCRIPTION = re.compile(r"^\W*description\W*:\**\s*(.+)$", re.I | re.M)

SYSTEM = """You improve a machine-learning pipeline one experiment at a time. Each experiment \
is one change to pipeline.py; a fixed harness, which you cannot see or change, trains it and \
scores it by {metric} ({direction} is better). Follow program.md: it says what may change and \
what matters.
Rules:
- Only pipeline.py may change. Do not read labels, holdout or harness files, leave the \
working folder, use the network or start processes.
- Keep `CONFIG = {{...}}` a plain dict literal between the lines "{begin}" and "{end}".
- One idea per experiment. A small gain that adds ugly complexity is not worth keeping.
Answer in this form and nothing else:
DESCRIPTION: <one line: what this experiment tries and why>
then either a unified diff of pipeline.py in a ```diff block (headers --- a/pipeline.py and \
+++ b/pipeline.py; hunks starting @@ -l,n +l,n @@ whose context lines are copied exactly \
from the current file), or the whole new pipeline.py in a ```python block."""


def _score(value: Any) -> str:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"{value:.6g}"
    return "-" if value is None else str(value)


def _best(ledger: list[dict], greater_is_better: bool) -> dict | None:
    scored = [
        e
        for e in ledger
        if isinstance(e.get("score"), (int, float)) and e.get("status") not in ("crash", "refused")
    ]
    if not scored:
        return None
    pick = max if greater_is_better else min
    return pick(scored, key=lambda e: e["score"])


def ledger_summary(ledger: list[dict], greater_is_better: bool) -> str:
    """The best run and the last N_LEDGER_SHOWN experiments, one line each."""
    if not ledger:
        return "No experiments yet: this is the first one."
    lines = []
    best = _best(ledger, greater_is_better)
    if best is not None:
        lines.append(
            f"Best so far: #{best.get('number')} score {_score(best['score'])}: "
            f"{best.get('description', '')}"
        )
    if len(ledger) > N_LEDGER_SHOWN:
        lines.append(f"({len(ledger) - N_LEDGER_SHOWN} earlier experiments not shown)")
    lines.append("number | status | score | description")
    for e in ledger[-N_LEDGER_SHOWN:]:
        lines.append(
            f"#{e.get('number')} | {e.get('status')} | {_score(e.get('score'))} | "
            f"{e.get('description', '')}"
        )
    return "\n".join(lines)


def parse_reply(text: str, pipeline: str) -> tuple[str, str]:
    """(description, new pipeline text) from a reply; DiffError or ProposalError if unusable."""
    match = _DESCRIPTION.search(text)
    first = next((line.strip() for line in prose(text).splitlines() if line.strip()), "")
    description = (match.group(1) if match else first).strip().strip("*").strip()
    blocks = code_blocks(text)
    diffs = [b.code for b in blocks if b.language in ("diff", "patch")]
    diffs += [
        b.code for b in blocks if not b.language and b.code.lstrip().startswith(("---", "@@"))
    ]
    if diffs:
        return description, apply_diff(pipeline, max(diffs, key=len))
    files = [b.code for b in blocks if b.language in PYTHON_TAGS]
    if files:
        return description, max(files, key=len).strip("\n") + "\n"
    raise ProposalError("the reply has neither a ```diff block nor a ```python block")


class LLMProposer:
    """Proposes changes to pipeline.py with `llm`; `last_refusal` keeps the last reason a
    reply was unusable (None after a usable one). `max_tokens_hint`, when set, asks the
    model to keep its answer under that many tokens (it then prefers a diff)."""

    def __init__(self, llm: LLM, *, max_tokens_hint: int | None = None) -> None:
        self.llm = llm
        self.max_tokens_hint = max_tokens_hint
        self.last_refusal: str | None = None

    def messages(self, ctx: ProposalContext) -> list[Message]:
        """The conversation that asks for one experiment."""
        system = SYSTEM.format(
            metric=ctx.metric,
            direction="higher" if ctx.greater_is_better else "lower",
            begin=BEGIN,
            end=END,
        )
        if self.max_tokens_hint:
            system += (
                f"\nKeep the answer under about {self.max_tokens_hint} tokens: "
                "send a diff unless the file is short."
            )
        parts = [
            f"## program.md\n{ctx.program.strip()}",
            f"## Experiments so far\n{ledger_summary(ctx.ledger, ctx.greater_is_better)}",
            f"## Current pipeline.py\n```python\n{ctx.pipeline.rstrip()}\n```",
        ]
        if ctx.discovered:
            found = "\n".join(
                f"- {f['text']}: {f['spec']!r} (gain {f['gain']:.3g})"
                for f in ctx.discovered[:N_DISCOVERED_SHOWN]
            )
            parts.insert(
                2,
                "## Features discovery found on the training rows (best first)\n"
                f"{found}\nAdd one by putting its list in CONFIG['discovered'].",
            )
        if ctx.last_error:
            last = ctx.ledger[-1] if ctx.ledger else {}
            what = f" (#{last.get('number')}: {last.get('description', '')})" if last else ""
            parts.append(
                f"## The last experiment{what} crashed\nThe end of its log:\n"
                f"```\n{ctx.last_error[-N_ERROR_CHARS:].strip()}\n```\n"
                "Fix the last change: edit the pipeline.py above so that it runs, keeping the "
                "idea if it can work."
            )
        else:
            parts.append(f"Propose the next experiment to improve {ctx.metric}.")
        return [Message("system", system), Message("user", "\n\n".join(parts))]

    def propose(self, ctx: ProposalContext) -> Change:
        """One Change; ProposalError (the reason, also in `last_refusal`) for a reply that
        is unusable after one retry, or at once for a diff that edits another file.
        LLMError from the backend passes through: that is an outage, not a refusal."""
        messages = self.messages(ctx)
        for attempt in (1, 2):
            reply = self.llm.complete(messages).message.content or ""
            try:
                description, pipeline = parse_reply(reply, ctx.pipeline)
                break
            except (DiffError, ProposalError) as exc:
                if attempt == 2 or isinstance(exc, DiffTargetError):  # no retry for policy
                    self.last_refusal = str(exc)
                    raise ProposalError(str(exc)) from exc
                retry = (
                    f"That change cannot be used: {exc}. Send it again in the same form: the "
                    "DESCRIPTION line, then a ```diff block whose context lines are copied "
                    "exactly from pipeline.py as shown above, or the whole new pipeline.py in a "
                    "```python block."
                )
                messages = [*messages, Message("assistant", reply), Message("user", retry)]
        self.last_refusal = None
        fallback = "fix the last crash" if ctx.last_error else "LLM edit of pipeline.py"
        description = " ".join(description.split())[:200] or fallback
        return Change(pipeline, description, source="fix" if ctx.last_error else "llm")

"""LLMGenerator: a language model writes new components, one per reply (after arXiv 2409.05258).

Two prompts pull in opposite directions: the incremental one shows the best components so far
with their win rates and asks for a small change that could beat one of them (exploitation);
the novel one shows what exists and asks for an idea clearly different from all of it
(exploration). "alternate" switches prompt call by call so every batch holds both. Both state
the kind's exact contract and show recent refusals with their reasons, because a model that
is not told what the validator refuses keeps writing it. Replies are parsed, never repaired
beyond dropping imports of names the code already has; validation happens downstream.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

from assay.discover._spec import (
    BASELINE_CODE,
    REG_STRENGTH,
    SAFE_BUILTINS,
    Hypothesis,
    Kind,
    baselines,
)
from assay.errors import ConfigError, LLMError, ReplyError
from assay.llm import LLM, PYTHON_TAGS, Message, code_blocks, prose
from assay.log import get_logger
from assay.research._llm_proposer import _DESCRIPTION

log = get_logger(__name__)

MODES = ("incremental", "novel", "alternate")
N_REFUSED_SHOWN = 4
N_DESCRIPTION_CHARS = 200
# imports of exactly what the namespace already provides: harmless, so dropped, not refused
_REDUNDANT_IMPORTS = {"import torch", "import math", "import numpy as np"}

CONTRACTS: dict[Kind, str] = {
    Kind.ACTIVATION: """\
Write `def activation(x)`. x is a float32 torch tensor of any shape (the pre-activations of \
a hidden layer); return a float tensor of exactly x's shape. It must be element-wise: each \
output depends only on the matching input, so no reductions (sum, mean, max over x) and no \
mixing across positions. It must be differentiable almost everywhere and stay finite for \
large positive and negative inputs.""",
    Kind.PREPROCESSING: """\
Write two functions. `def fit(x)`: x is one training column, a float64 numpy array without \
NaN; return the state, a dict whose values are plain floats (lists of floats are fine). \
`def transform(x, state)`: x is a float64 numpy array of that column (training or new data, \
possibly outside the training range) and state is what fit returned; return a float array \
of exactly x's shape, finite everywhere. The transformed column is fed to the network.""",
    Kind.REGULARIZER: """\
Write `def penalty(w)`. w is one weight matrix of the network, a 2-d float32 torch tensor; \
return a scalar (0-d) torch tensor, differentiable in w and finite. The training loss adds \
{strength} x the mean of penalty(w) over the layers. Optionally also set a module-level \
constant `DROPOUT = p` (a number with 0 <= p < 1) to drop hidden units with probability p.""",
}

SYSTEM = """You invent new {kind} components for small neural networks trained on tabular \
data. Each component is judged by its win rate against established baselines over many \
datasets and seeds.
The contract, checked before the code ever runs:
{contract}
Rules:
- The code sees only `torch`, `np` (numpy) and `math`, plus the builtins {builtins}. No \
imports, no other names, no files, network or printing.
- Use vectorized tensor/array operations: no Python loops over the data.
- Define the function(s) above (and constants if you need them), nothing else; keep it short.
The baselines, as examples of the exact form:
{examples}
Answer with one component in this form and nothing else:
DESCRIPTION: <one line: the idea and why it could beat the baselines>
```python
<the code>
```"""

INCREMENTAL = """Propose a small modification of one of the components shown above that \
could beat it: change one thing (a constant, a term, a gate, a clipping), keep what makes it \
work, and do not repeat anything shown here."""

NOVEL = """Propose a new idea that is clearly different from all of the components shown \
above and from the baselines: not a rescaling, shift or small tweak of any of them, but a \
different mechanism that could still work well."""


@dataclass(frozen=True)
class Evaluated:
    """What the generator is shown about a past hypothesis: `reward` is its win rate against
    the main baseline (0..1, None when not evaluated), `reason` why it was invalid or a
    duplicate."""

    hypothesis: Hypothesis
    status: str  # "evaluated", "invalid", "duplicate"
    reward: float | None
    reason: str = ""


def _defines(code: str, kind: Kind) -> bool:
    return all(re.search(rf"^def\s+{name}\s*\(", code, re.M) for name in kind.entry_points)


def _drop_redundant_imports(code: str) -> str:
    return "\n".join(line for line in code.splitlines() if line.rstrip() not in _REDUNDANT_IMPORTS)


def parse_reply(text: str, kind: Kind) -> tuple[str, str]:
    """(description, code) from a reply; ReplyError when no code block defines the kind's
    entry points. Of several complete blocks the last wins; blocks that only together define
    them (fit and transform apart) are joined."""
    blocks = [block.code for block in code_blocks(text, PYTHON_TAGS)]
    blocks = [_drop_redundant_imports(body) for body in blocks]
    complete = [body for body in blocks if _defines(body, kind)]
    if complete:
        code = complete[-1]
    elif len(blocks) > 1 and _defines("\n\n".join(blocks), kind):
        code = "\n\n".join(blocks)
    else:
        wanted = ", ".join(f"def {name}" for name in kind.entry_points)
        found = f"{len(blocks)} code block(s), none defining" if blocks else "no ```python block"
        raise ReplyError(f"the reply has {found} {wanted}")
    match = _DESCRIPTION.search(text)
    first = next((line.strip() for line in prose(text).splitlines() if line.strip()), "")
    description = (match.group(1) if match else first).strip().strip("*").strip()
    return " ".join(description.split())[:N_DESCRIPTION_CHARS], code


def _reward(value: float | None) -> str:
    return "not evaluated" if value is None else f"win rate {value:.3f}"


def _entry(number: int, e: Evaluated) -> str:
    title = e.hypothesis.description or e.hypothesis.id
    return f"### {number}. {_reward(e.reward)}: {title}\n```python\n{e.hypothesis.code}```"


class LLMGenerator:
    """Generates hypotheses of one kind with `llm`; see the module docstring for the modes.
    The alternation and the sampling of shown components carry over between calls."""

    origin = "llm"

    def __init__(
        self,
        llm: LLM,
        kind: Kind,
        *,
        mode: str = "alternate",
        n_shown: int = 8,
        random_state: int = 0,
    ) -> None:
        if mode not in MODES:
            raise ConfigError(f"unknown generator mode {mode!r}: use one of {', '.join(MODES)}.")
        if n_shown < 1:
            raise ConfigError(f"n_shown must be at least 1, got {n_shown}.")
        self.llm = llm
        self.kind = Kind.parse(kind)
        self.mode = mode
        self.n_shown = n_shown
        self.rng = random.Random(random_state)
        self.n_calls = 0
        self.system = self._system()
        self._baseline_ids = {h.id for h in baselines(self.kind).values()}

    def __repr__(self) -> str:
        return f"LLMGenerator({self.kind.value}, mode={self.mode!r})"

    def _system(self) -> str:
        examples = "\n".join(
            f"{name}:\n```python\n{code}```" for name, code in BASELINE_CODE[self.kind].items()
        )
        return SYSTEM.format(
            kind=self.kind.value,
            contract=CONTRACTS[self.kind].format(strength=REG_STRENGTH),
            builtins=", ".join(SAFE_BUILTINS),
            examples=examples,
        )

    def _next_mode(self) -> str:
        self.n_calls += 1
        if self.mode != "alternate":
            return self.mode
        return "incremental" if self.n_calls % 2 == 1 else "novel"

    def shown(self, mode: str, history: list[Evaluated]) -> list[Evaluated]:
        """The evaluated components a prompt shows: the best n_shown for incremental; for
        novel the best half and a random sample of the rest, so each call sees more."""
        unique: dict[str, Evaluated] = {}
        for e in history:
            if e.status == "evaluated" and e.reward is not None:
                unique[e.hypothesis.id] = e
        ranked = sorted(unique.values(), key=lambda e: -float(e.reward or 0.0))
        if mode == "incremental" or len(ranked) <= self.n_shown:
            return ranked[: self.n_shown]
        n_best = self.n_shown // 2
        sample = self.rng.sample(ranked[n_best:], self.n_shown - n_best)
        return ranked[:n_best] + sorted(sample, key=lambda e: -float(e.reward or 0.0))

    def messages(
        self, mode: str, history: list[Evaluated], batch: list[Hypothesis]
    ) -> tuple[list[Message], list[Evaluated]]:
        """The conversation asking for one component, and the history entries it shows."""
        shown = self.shown(mode, history)
        n_eval = sum(e.status == "evaluated" for e in history)
        parts = [
            f"So far {n_eval} {self.kind.value} components were evaluated and "
            f"{len(history) - n_eval} refused. Win rate: the fraction of comparisons a "
            "component won against the main baseline (0 to 1, higher is better)."
        ]
        if shown:
            head = "The best components so far" if mode == "incremental" else "What exists"
            entries = "\n".join(_entry(i, e) for i, e in enumerate(shown, 1))
            parts.append(f"## {head}\n{entries}")
        else:
            parts.append("## Nothing evaluated yet\nThe baselines above are what exists.")
        refused = [e for e in history if e.status != "evaluated"][-N_REFUSED_SHOWN:]
        if refused:
            lines = [
                f"- {e.status}: {e.reason or 'no reason given'}\n```python\n{e.hypothesis.code}```"
                for e in refused
            ]
            parts.append("## Recently refused (avoid these mistakes)\n" + "\n".join(lines))
        if batch:
            codes = "\n".join(f"```python\n{h.code}```" for h in batch)
            parts.append(f"## Already proposed in this round (do not repeat)\n{codes}")
        parts.append(INCREMENTAL if mode == "incremental" else NOVEL)
        user = "\n\n".join(parts)
        return [Message("system", self.system), Message("user", user)], shown

    def generate(self, n: int, history: list[Evaluated]) -> list[Hypothesis]:
        """Up to n new hypotheses from at most n LLM calls. Unusable replies and duplicates
        (of history, baselines or this batch) are skipped and logged, not retried; an
        LLMError ends the batch and propagates only when nothing was produced."""
        seen = {e.hypothesis.id for e in history} | self._baseline_ids
        out: list[Hypothesis] = []
        for _ in range(max(0, n)):
            mode = self._next_mode()
            messages, shown = self.messages(mode, history, out)
            try:
                reply = self.llm.complete(messages).message.content or ""
            except LLMError as exc:
                if not out:
                    raise
                log.warning("the LLM failed after %d hypotheses; keeping them: %s", len(out), exc)
                break
            try:
                description, code = parse_reply(reply, self.kind)
            except ReplyError as exc:
                log.info("skipped an LLM %s reply (%s mode): %s", self.kind.value, mode, exc)
                continue
            parents = tuple(e.hypothesis.id for e in shown) if mode == "incremental" else ()
            hypothesis = Hypothesis(
                self.kind,
                code,
                origin=self.origin,
                description=description or f"LLM {self.kind.value} ({mode})",
                parents=parents,
            )
            if hypothesis.id in seen:
                log.info("dropped a duplicate LLM %s: %s", self.kind.value, hypothesis.id)
                continue
            seen.add(hypothesis.id)
            out.append(hypothesis)
        return out

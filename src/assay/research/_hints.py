"""Human guidance mid-run: hints in program.md's "## Hints" section (`assay research hint
WS "try ratios of income and debt"` appends one), read before every proposal.

The search proposer understands a hint as far as its words name things it knows:

- columns of the training table, with an operator word ("ratio", "sum", "difference",
  "product", "mean by", "count", "target mean", "bins"): features to add, as discovered
  features are ("try ratios of income and debt" -> income / debt and debt / income);
- operator families ("features", "models", "tuning", "stacking" or "ensembles", "folds" or
  "validation") and model families ("lightgbm", "knn", ...): proposals from them first;
- a negation ("stop", "no", "avoid", "don't", "without", "never") before any of these: no
  more proposals of it.

Every other word of a hint is reported as not understood (common words aside), so a
person sees what reached the search and what did not. An LLM proposer reads program.md,
hints included, as it is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from itertools import permutations
from pathlib import Path

SECTION = "## Hints"
FAMILY_WORDS = {
    "feature": "features",
    "features": "features",
    "model": "models",
    "models": "models",
    "tune": "tuning",
    "tuning": "tuning",
    "hyperparameters": "tuning",
    "stack": "ensembling",
    "stacking": "ensembling",
    "ensemble": "ensembling",
    "ensembles": "ensembling",
    "ensembling": "ensembling",
    "fold": "validation",
    "folds": "validation",
    "n_folds": "validation",
    "validation": "validation",
    "bagging": "validation",
}
OPERATOR_WORDS = {
    "ratio": "ratio", "ratios": "ratio", "divide": "ratio", "per": "ratio",
    "sum": "add", "sums": "add", "add": "add", "plus": "add",
    "difference": "sub", "differences": "sub", "minus": "sub", "subtract": "sub",
    "product": "mul", "products": "mul", "multiply": "mul", "times": "mul",
    "mean": "mean_by", "average": "mean_by", "means": "mean_by",
    "count": "count", "counts": "count", "frequency": "count",
    "target": "target_mean", "encoding": "target_mean",
    "bins": "bins", "binning": "bins", "quantiles": "bins",
}  # fmt: skip
MODEL_WORDS = {
    "lightgbm": "lightgbm", "lgbm": "lightgbm", "xgboost": "xgboost", "catboost": "catboost",
    "knn": "knn", "linear": "linear", "logistic": "linear", "mlp": "mlp", "neural": "mlp",
    "forest": "random_forest", "random_forest": "random_forest", "extra_trees": "extra_trees",
}  # fmt: skip
NEGATIONS = {"stop", "no", "avoid", "don't", "dont", "without", "never", "not", "less"}
COMMON = {
    "try", "the", "a", "an", "of", "and", "or", "with", "more", "some", "please", "use",
    "using", "doing", "do", "between", "by", "on", "in", "to", "for", "it", "them", "is",
    "any", "again", "also", "first", "instead", "maybe", "pairs", "pair", "columns", "column",
    "all", "other", "others", "from", "new", "add", "adding", "work", "works", "seems",
}  # fmt: skip
BINARY = {"ratio", "add", "sub", "mul"}


@dataclass
class Guidance:
    """What the hints ask for, as the search proposer can act on it."""

    hints: list[str] = field(default_factory=list)
    families: dict[str, str] = field(default_factory=dict)  # family -> hint that named it
    avoid: set[str] = field(default_factory=set)  # families never to propose again
    models: dict[str, str] = field(default_factory=dict)  # model family -> hint
    avoid_models: set[str] = field(default_factory=set)
    features: list[tuple[list[str], str]] = field(default_factory=list)  # (spec, hint)
    unknown: dict[str, list[str]] = field(default_factory=dict)  # hint -> words not understood

    @property
    def empty(self) -> bool:
        return not (self.families or self.avoid or self.models or self.features)

    def lines(self) -> list[str]:
        """What was understood and what was not, one line per hint."""
        out = []
        for hint in self.hints:
            parts = [f"features {' '.join(s)}" for s, h in self.features if h == hint]
            parts += [f"more {f}" for f, h in self.families.items() if h == hint]
            parts += [f"more {m}" for m, h in self.models.items() if h == hint]
            understood = "; ".join(parts) or "nothing to act on"
            line = f"hint {hint!r}: {understood}"
            if self.unknown.get(hint):
                line += f"; not understood: {', '.join(self.unknown[hint])}"
            out.append(line)
        if self.avoid or self.avoid_models:
            out.append(f"avoided: {', '.join(sorted(self.avoid | self.avoid_models))}")
        return out


def hints_of(program: str) -> list[str]:
    """The lines of program.md's Hints section (bullets stripped)."""
    lines, inside = [], False
    for line in program.splitlines():
        if line.startswith("## "):
            inside = line.strip() == SECTION
            continue
        text = line.strip().lstrip("-*").strip()
        if inside and text and not text.startswith("<!--"):
            lines.append(text)
    return lines


def add_hint(ws: str | Path, text: str) -> None:
    """Append a hint to program.md's Hints section (created at the end when missing)."""
    path = Path(ws) / "program.md"
    program = path.read_text() if path.exists() else ""
    if SECTION not in program.splitlines():
        program = program.rstrip("\n") + f"\n\n{SECTION}\n\n"
    lines = program.splitlines()
    start = lines.index(SECTION)
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    while end > start + 1 and not lines[end - 1].strip():
        end -= 1
    lines.insert(end, f"- {' '.join(text.split())}")
    path.write_text("\n".join(lines) + "\n")


def understand(hints: list[str], columns: list[str]) -> Guidance:
    """The guidance in `hints` for a table with `columns`."""
    guidance = Guidance(hints=list(hints))
    by_lower = {c.lower(): c for c in columns}
    for hint in hints:
        negated, ops, named, unknown = False, [], [], []
        for raw in re.findall(r"[\w'.-]+", hint):
            word = raw.lower().strip(".'")
            if word in NEGATIONS:
                negated = True
            elif word in by_lower:
                named.append(by_lower[word])
            elif word in FAMILY_WORDS:
                _mark(guidance.families, guidance.avoid, FAMILY_WORDS[word], hint, negated)
            elif word in MODEL_WORDS:
                _mark(guidance.models, guidance.avoid_models, MODEL_WORDS[word], hint, negated)
                if not negated:
                    guidance.families.setdefault("models", hint)
            elif word in OPERATOR_WORDS:
                ops.append(OPERATOR_WORDS[word])
            elif word not in COMMON and not word.isdigit():
                unknown.append(raw)
        if named and not negated:
            guidance.features += [(spec, hint) for spec in _specs(ops, named)]
            guidance.families.setdefault("features", hint)
        if unknown:
            guidance.unknown[hint] = unknown
    return guidance


def _mark(wanted: dict, avoid: set, item: str, hint: str, negated: bool) -> None:
    if negated:
        avoid.add(item)
        wanted.pop(item, None)
    else:
        wanted.setdefault(item, hint)


def _specs(ops: list[str], columns: list[str]) -> list[list[str]]:
    """The features a hint names: each operator over the named columns (both orders for a
    ratio; the first column by the others for a group mean)."""
    out: list[list[str]] = []
    if not ops and len(columns) > 1:
        ops = ["ratio"]  # "try income and debt together": their ratios, the commonest win
    for op in dict.fromkeys(ops):
        if op in BINARY and len(columns) > 1:
            pairs = permutations(columns, 2) if op == "ratio" else _ordered_pairs(columns)
            out += [[op, a, b] for a, b in pairs]
        elif op == "mean_by" and len(columns) > 1:
            out += [["mean_by", columns[0], g] for g in columns[1:]]
        elif op in ("count", "target_mean", "bins"):
            out += [[op, c] for c in columns]
    return out


def _ordered_pairs(columns: list[str]) -> list[tuple[str, str]]:
    return [(a, b) for i, a in enumerate(columns) for b in columns[i + 1 :]]

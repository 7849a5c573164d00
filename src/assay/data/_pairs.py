"""Text pairs: two text columns compared with each other (paraphrase, duplicate question,
entailment), featurized by how they relate rather than one at a time.

A pair is declared (`text_pairs=[("question1", "question2")]`, `--pair A B`) or detected
when exactly two text columns carry names that differ only by 1/2 or a/b at one place
("question1"/"question2", "#1 String"/"#2 String", "text_a"/"text_b") or by the two roles
of a pair whose order means something ("premise"/"hypothesis", "question"/"answer",
"query"/"document", with the same prefix or suffix, in any case). A pair of roles is put in
the roles' order (premise first), whatever the columns' order: the pair features keep
which side is which."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping

from assay._types import FeatureType
from assay.errors import ConfigError

_SIDES = ({"1", "2"}, {"a", "b"}, {"A", "B"})
_ROLES = (
    ("premise", "hypothesis"),
    ("question", "answer"),
    ("query", "document"),
    ("query", "passage"),
    ("claim", "evidence"),
)


def _paired_names(a: str, b: str) -> bool:
    if len(a) != len(b):
        return False
    diff = [(x, y) for x, y in zip(a, b, strict=True) if x != y]
    return len(diff) == 1 and set(diff[0]) in _SIDES


def _roles(a: str, b: str) -> tuple[str, str] | None:
    """(first, second) when a and b name the two roles of a pair, else None."""
    for first, second in _ROLES:
        for x, y in ((a, b), (b, a)):
            low_x, low_y = x.lower(), y.lower()
            rest = low_x.replace(first, "", 1), low_y.replace(second, "", 1)
            if first in low_x and second in low_y and rest[0] == rest[1]:
                return x, y
    return None


def detect_text_pairs(types: Mapping[str, FeatureType]) -> list[tuple[str, str]]:
    """The one pair of text columns named as two sides of one thing, or none."""
    texts = [name for name, t in types.items() if t is FeatureType.TEXT]
    if len(texts) != 2:
        return []
    a, b = texts
    if _paired_names(a, b):
        return [(a, b)]
    roles = _roles(a, b)
    return [roles] if roles else []


def check_text_pairs(
    pairs: Iterable[Iterable[str]] | None, columns: Iterable[str], target: str | None = None
) -> list[tuple[str, str]]:
    """Declared pairs as tuples, with an error naming any column that cannot be a side."""
    names = [str(c) for c in columns]
    out: list[tuple[str, str]] = []
    for pair in pairs or []:
        sides = tuple(str(s) for s in pair) if not isinstance(pair, str) else (pair,)
        if len(sides) != 2 or sides[0] == sides[1]:
            raise ConfigError(
                f"text pair {pair!r}: give two different column names, e.g. "
                "--pair question1 question2."
            )
        for side in sides:
            if side == target:
                raise ConfigError(f"text pair {sides}: '{side}' is the target, not a text column.")
            if side not in names:
                close = difflib.get_close_matches(side, names, n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                raise ConfigError(
                    f"text pair {sides}: column '{side}' is not in the data{hint}. "
                    "Use the exact column names."
                )
        out.append((sides[0], sides[1]))
    used = [s for p in out for s in p]
    repeated = sorted({s for s in used if used.count(s) > 1})
    if repeated:
        raise ConfigError(f"text pairs share column(s) {repeated}: each column in one pair only.")
    return out

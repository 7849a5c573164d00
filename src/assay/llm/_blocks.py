"""Fenced code blocks in a model's reply, parsed the same way everywhere.

Line by line, as Markdown does: a fence opens on a line that starts with three or more
backticks (the word after them, if any, is the language: "python" in ```python:x.py), and
closes on a line of at least as many backticks and nothing else, so backticks inside the
code do not end it. A fence that never closes is not a block: a reply cut off by the token
limit would otherwise pass for complete code."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

# the tags models put on Python; "" (no tag) counts, since the prompts all ask for Python
PYTHON_TAGS = ("python", "py", "python3", "")

_OPEN = re.compile(r"^([ \t]*)(`{3,})[ \t]*([\w+#.-]*)[^`\n]*$")
_CLOSE = re.compile(r"^[ \t]*(`{3,})[ \t]*$")


@dataclass(frozen=True)
class CodeBlock:
    """One closed fenced block: `language` lower-cased ("" when untagged), `code` the lines
    between the fences (less the fence's indentation), each ending in a newline."""

    language: str
    code: str


def _dedent(line: str, indent: str) -> str:
    """A line of a fenced block less the fence's own indentation (a list item's code)."""
    return line[len(indent) :] if line.startswith(indent) else line.lstrip(" \t")


def _scan(text: str) -> tuple[list[CodeBlock], list[str]]:
    """The closed blocks, and the lines outside them."""
    blocks: list[CodeBlock] = []
    outside: list[str] = []
    lines = [line for line in re.split(r"(?<=\n)", text) if line]  # not \f or \u2028
    i = 0
    while i < len(lines):
        opening = _OPEN.match(lines[i].rstrip("\r\n"))
        if opening is not None:
            indent, fence, language = opening.group(1), opening.group(2), opening.group(3)
            for j in range(i + 1, len(lines)):
                closing = _CLOSE.match(lines[j].rstrip("\r\n"))
                if closing is not None and len(closing.group(1)) >= len(fence):
                    body = [_dedent(line.rstrip("\r\n"), indent) for line in lines[i + 1 : j]]
                    blocks.append(CodeBlock(language.lower(), "".join(f"{x}\n" for x in body)))
                    i = j + 1
                    break
            else:  # never closed: not a block, and nothing after it is one
                outside.extend(lines[i:])
                break
            continue
        outside.append(lines[i])
        i += 1
    return blocks, outside


def code_blocks(text: str | None, languages: Iterable[str] | None = None) -> list[CodeBlock]:
    """The closed fenced blocks of `text` in order, only those tagged with one of
    `languages` (lower case, "" for untagged) when given."""
    blocks, _ = _scan(text or "")
    if languages is None:
        return blocks
    wanted = set(languages)
    return [block for block in blocks if block.language in wanted]


def prose(text: str | None) -> str:
    """`text` without its closed fenced blocks: what the model said around the code."""
    return "".join(_scan(text or "")[1])

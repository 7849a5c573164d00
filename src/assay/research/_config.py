"""The CONFIG block of pipeline.py: a dict literal between two marker lines.

Keeping the tunable knobs in one literal lets a search proposer rewrite them without
touching code, and lets the validator check that an edit kept them readable.
"""

from __future__ import annotations

import ast
import pprint
from typing import Any

from assay.errors import ConfigError

BEGIN = "# --- assay:config ---"
END = "# --- end config ---"


def _block(text: str) -> tuple[list[str], int, int]:
    lines = text.splitlines(keepends=True)
    stripped = [line.strip() for line in lines]
    if BEGIN not in stripped or END not in stripped:
        raise ConfigError(f"pipeline.py must keep the lines {BEGIN!r} and {END!r}")
    start = stripped.index(BEGIN)
    end = stripped.index(END, start + 1) if END in stripped[start + 1 :] else -1
    if end < 0:
        raise ConfigError(f"pipeline.py has {END!r} before {BEGIN!r}")
    return lines, start, end


def read_config(text: str) -> dict[str, Any]:
    """The CONFIG dict of a pipeline.py text; ConfigError when it is not a plain literal."""
    lines, start, end = _block(text)
    body = "".join(lines[start + 1 : end])
    try:
        tree = ast.parse(body)
    except SyntaxError as exc:
        raise ConfigError(f"the config block of pipeline.py does not parse: {exc.msg}") from exc
    for node in tree.body:
        if (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
            and node.targets[0].id == "CONFIG"
        ):
            try:
                value = ast.literal_eval(node.value)
            except ValueError as exc:
                raise ConfigError("CONFIG in pipeline.py must be a dict literal") from exc
            if not isinstance(value, dict):
                raise ConfigError("CONFIG in pipeline.py must be a dict literal")
            return value
    raise ConfigError("the config block of pipeline.py must assign CONFIG = {...}")


def write_config(text: str, config: dict[str, Any]) -> str:
    """The text with its config block replaced by `CONFIG = <config>`."""
    lines, start, end = _block(text)
    body = "CONFIG = " + pprint.pformat(config, sort_dicts=False, width=88) + "\n"
    return "".join(lines[: start + 1]) + body + "".join(lines[end:])

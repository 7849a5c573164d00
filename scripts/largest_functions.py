"""The longest functions of src/assay, by lines: `python scripts/largest_functions.py [N]`."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def largest(n: int = 10) -> list[tuple[int, str]]:
    rows = []
    for path in sorted((ROOT / "src" / "assay").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                where = f"{path.relative_to(ROOT)}:{node.lineno} {node.name}"
                rows.append((node.end_lineno - node.lineno + 1, where))
    return sorted(rows, reverse=True)[:n]


if __name__ == "__main__":
    for n_lines, where in largest(int(sys.argv[1]) if len(sys.argv) > 1 else 10):
        print(n_lines, where)

"""Check that the layers stay one-way: the core (data, features, models, search, evaluate,
ensemble, automl) never imports the layers built on top of it (research, discover, llm,
agent, serve, report, cli), nor the top-level `assay` package (its public façade imports
the core, so the core using it would be a cycle). Submodules such as `assay.errors` or
`assay.store` are fine.

Every module is parsed with `ast`, so imports inside functions, under TYPE_CHECKING and
through `importlib.import_module("...")` or `__import__("...")` with a literal name count
too; relative imports are resolved. Prints `path:line: <layer> imports <module>` for each
violation and exits 1 if there is any.

Usage: python scripts/check_layers.py [PACKAGE_DIR]   (default: src/assay beside scripts/)
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path
from typing import NamedTuple

CORE = ("data", "features", "models", "search", "evaluate", "ensemble", "automl")
ABOVE_CORE = ("research", "discover", "llm", "agent", "serve", "report", "cli")
DEFAULT_ROOT = Path(__file__).resolve().parent.parent / "src" / "assay"


class Violation(NamedTuple):
    path: Path
    line: int
    layer: str
    module: str

    def __str__(self) -> str:
        return f"{_shown(self.path)}:{self.line}: {self.layer} imports {self.module}"


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _modules(root: Path) -> dict[str, Path]:
    """Dotted module name -> file, for every module and package under `root`."""
    found = {}
    for path in sorted(root.rglob("*.py")):
        parts = [root.name, *path.relative_to(root).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _imports(tree: ast.AST, module: str, is_package: bool, known: set[str]):
    """(line, imported module) for every import in the tree, relative ones resolved. For
    `from P import name`, the module is P.name when that is a module, else P itself."""
    package = module.split(".") if is_package else module.split(".")[:-1]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                base_name = ".".join([*base, *([node.module] if node.module else [])])
            else:
                base_name = node.module or ""
            for alias in node.names:
                full = f"{base_name}.{alias.name}"
                yield node.lineno, full if full in known else base_name
        elif isinstance(node, ast.Call) and _is_dynamic_import(node.func) and node.args:
            name = node.args[0]
            if isinstance(name, ast.Constant) and isinstance(name.value, str):
                yield node.lineno, name.value


def _is_dynamic_import(func: ast.expr) -> bool:
    if isinstance(func, ast.Name):
        return func.id in ("__import__", "import_module")
    return isinstance(func, ast.Attribute) and func.attr == "import_module"


def _forbidden(imported: str, package: str) -> bool:
    if imported == package:
        return True
    return any(
        imported == f"{package}.{layer}" or imported.startswith(f"{package}.{layer}.")
        for layer in ABOVE_CORE
    )


def check(root: Path | str = DEFAULT_ROOT) -> list[Violation]:
    """Every import from a core module that crosses the layers the wrong way."""
    root = Path(root)
    modules = _modules(root)
    known = set(modules)
    violations = set()
    for module, path in modules.items():
        parts = module.split(".")
        if len(parts) < 2 or parts[1] not in CORE:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        is_package = path.name == "__init__.py"
        for line, imported in _imports(tree, module, is_package, known):
            if _forbidden(imported, root.name):
                violations.add(Violation(path, line, parts[1], imported))
    return sorted(violations)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    violations = check(Path(args[0]) if args else DEFAULT_ROOT)
    for violation in violations:
        print(violation)
    if violations:
        print(f"{len(violations)} import(s) from the core into a layer above it or into `assay`.")
    return 1 if violations else 0


if __name__ == "__main__":
    sys.exit(main())

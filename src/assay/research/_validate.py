"""Cheap checks on a proposed pipeline.py before an experiment is spent on it.

The sandbox is the wall that matters; these checks only refuse, early and with a reason the
ledger can show, changes that could not run or that reach for what the harness hides. They
also tell seed-only changes apart (a "gain" from a new seed is noise, not an idea) and apply
the unified diffs an LLM writes, strictly on content but forgiving about line numbers.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from pathlib import Path

from assay.config import settings
from assay.errors import ConfigError, DiffError, DiffTargetError
from assay.research._change import Change
from assay.research._config import read_config

MAX_PIPELINE_BYTES = 200_000

# Text a pipeline has no business mentioning outside comments: the harness's module and
# files, the hidden labels, paths that climb out of the workspace, and the process table.
# A pipeline that needs any of these is trying to read the answer, not to learn it.
FORBIDDEN_MENTIONS = (
    "assay.research",
    "_harness",
    "harness.py",
    "harness.json",
    "valid_labels",
    "holdout",
    "ASSAY_HOME",
    "../",
    "/proc/",
)
# Modules the sandbox blocks anyway (no network, no child processes, no raw memory);
# refusing them here saves an experiment that could only crash.
FORBIDDEN_IMPORTS = frozenset({"subprocess", "socket", "ctypes", "requests", "urllib"})
_IMPORTERS = ("__import__", "import_module", "importlib.import_module")


def _code_without_comments(text: str) -> str:
    """The text with comments blanked, so a note like `# no holdout peeking` is no refusal."""
    lines = text.splitlines()
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.type == tokenize.COMMENT:
                row, col = token.start
                lines[row - 1] = lines[row - 1][:col]
    except (tokenize.TokenError, SyntaxError):
        return text
    return "\n".join(lines)


def _imported_modules(tree: ast.AST) -> set[str]:
    """Top-level names of every module imported, including `__import__("x")` and
    `importlib.import_module("x")` with a literal name."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module.split(".")[0])
        elif isinstance(node, ast.Call) and node.args and _dotted(node.func) in _IMPORTERS:
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                names.add(first.value.split(".")[0])
    return names


def _home_paths() -> list[str]:
    home = settings().home
    paths = {str(home.resolve())} | ({str(home)} if home.is_absolute() else set())
    return [p for p in paths if p not in ("/", str(Path.cwd()))]


def validate_change(old_text: str, change: Change) -> str | None:
    """None when the change may run, else one sentence saying why it may not."""
    new = change.pipeline
    if len(new.encode("utf-8")) > MAX_PIPELINE_BYTES:
        return f"the new pipeline.py is over {MAX_PIPELINE_BYTES // 1000} KB"
    if new == old_text:
        return "the new pipeline.py is identical to the current one"
    try:
        tree = ast.parse(new, "pipeline.py")
    except SyntaxError as exc:
        return f"the new pipeline.py does not parse: {exc.msg} (line {exc.lineno})"
    try:
        read_config(new)
    except ConfigError as exc:
        return str(exc)
    try:
        if ast.dump(tree) == ast.dump(ast.parse(old_text)):
            return "the change touches only comments or formatting, so it would repeat a run"
    except SyntaxError:
        pass  # the old text is broken (a fix is asked for): any parsing change is a change
    code = _code_without_comments(new)
    for needle in (*FORBIDDEN_MENTIONS, *_home_paths()):
        if needle.lower() in code.lower():
            return f"the new pipeline.py mentions {needle!r}, which belongs to the harness"
    blocked = sorted(_imported_modules(tree) & FORBIDDEN_IMPORTS)
    if blocked:
        return f"the new pipeline.py imports {', '.join(blocked)}, which the sandbox blocks"
    return None


# --- seeds -------------------------------------------------------------------------------

_SEED_NAME = re.compile(r"seed|random_state|rng", re.I)
_SEED_CALLS = frozenset({"RandomState", "Random", "check_random_state", "default_rng"})
_PLACEHOLDER = "<seed>"


def _dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return ""


def _target_name(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant):
        return str(node.slice.value)
    return ""


class _MaskSeeds(ast.NodeTransformer):
    """Replaces every seed value with one placeholder, so only non-seed edits remain."""

    def _mask(self) -> ast.Constant:
        return ast.Constant(_PLACEHOLDER)

    def visit_keyword(self, node: ast.keyword) -> ast.AST:
        if node.arg and _SEED_NAME.search(node.arg):
            node.value = self._mask()
        return self.generic_visit(node)

    def visit_Dict(self, node: ast.Dict) -> ast.AST:
        for i, key in enumerate(node.keys):
            if isinstance(key, ast.Constant) and _SEED_NAME.search(str(key.value)):
                node.values[i] = self._mask()
        return self.generic_visit(node)

    def visit_Assign(self, node: ast.Assign) -> ast.AST:
        if any(_SEED_NAME.search(_target_name(t)) for t in node.targets):
            node.value = self._mask()
        return self.generic_visit(node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> ast.AST:
        if node.value is not None and _SEED_NAME.search(_target_name(node.target)):
            node.value = self._mask()
        return self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> ast.AST:
        last = _dotted(node.func).rsplit(".", 1)[-1]
        if last and (last in _SEED_CALLS or _SEED_NAME.search(last)):
            node.args = [self._mask() for _ in node.args]
            for kw in node.keywords:
                kw.value = self._mask()
        return self.generic_visit(node)

    def visit_arguments(self, node: ast.arguments) -> ast.AST:
        positional = [*node.posonlyargs, *node.args]
        with_default = positional[len(positional) - len(node.defaults) :]
        for i, arg in enumerate(with_default):
            if _SEED_NAME.search(arg.arg):
                node.defaults[i] = self._mask()
        for i, arg in enumerate(node.kwonlyargs):
            if node.kw_defaults[i] is not None and _SEED_NAME.search(arg.arg):
                node.kw_defaults[i] = self._mask()
        return self.generic_visit(node)


def is_seed_only(old_text: str, new_text: str) -> bool:
    """True when the two pipelines differ, but only in random seeds (code or CONFIG)."""
    try:
        old, new = ast.parse(old_text), ast.parse(new_text)
    except SyntaxError:
        return False
    if ast.dump(old) == ast.dump(new):
        return False
    return ast.dump(_MaskSeeds().visit(old)) == ast.dump(_MaskSeeds().visit(new))


# --- diffs -------------------------------------------------------------------------------

_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")
_TARGET = "pipeline.py"


def _diff_path(token: str) -> str:
    """The file a header names, without a/ b/ prefixes or a trailing timestamp."""
    path = token.split("\t")[0].strip()
    if path.startswith(("a/", "b/")):
        path = path[2:]
    return path.removeprefix("./")


def _check_path(token: str) -> None:
    path = _diff_path(token)
    if path not in (_TARGET, "/dev/null"):
        raise DiffTargetError(f"the diff edits {path}; only {_TARGET} may change")


def _parse_hunks(diff: str) -> list[tuple[str, int, list[str], list[str]]]:
    """(header, old start, lines before, lines after) per hunk, checking every file name.

    A `---` line directly followed by a `+++` line starts a file, even inside a hunk: that
    is how the next file's headers look when a model miscounts a hunk's length."""
    hunks: list[tuple[str, int, list[str], list[str]]] = []
    lines = [raw.rstrip("\r") for raw in diff.splitlines()]
    in_hunk = False
    for i, line in enumerate(lines):
        following = lines[i + 1] if i + 1 < len(lines) else ""
        if line.startswith("diff --git "):
            for token in line.split()[2:4]:
                _check_path(token)
            in_hunk = False
        elif line.startswith("--- ") and following.startswith("+++ "):
            _check_path(line[4:])
            in_hunk = False
        elif line.startswith(("--- ", "+++ ")) and not in_hunk:
            _check_path(line[4:])
        elif match := _HUNK.match(line):
            in_hunk = True
            hunks.append((match.group(0), int(match.group(1)), [], []))
        elif not in_hunk or line.startswith("\\"):
            continue  # prose or `index` lines between files; "\ No newline at end of file"
        elif line == "" or line[0] in " -+":
            _, _, before, after = hunks[-1]
            if line[:1] != "+":
                before.append(line[1:])
            if line[:1] != "-":
                after.append(line[1:])
        else:
            raise DiffError(
                f"hunk {len(hunks)} has a line that is not context (' '), removal ('-') or "
                f"addition ('+'): {line[:80]!r}"
            )
    return hunks


def _trim_blank_tail(before: list[str], after: list[str]) -> None:
    """Drop trailing blank context: models leave blank lines between hunks and before the
    fence closes. Dropping a line both sides end with never changes the result."""
    while before and after and before[-1] == "" and after[-1] == "":
        before.pop()
        after.pop()


def apply_diff(old_text: str, diff: str) -> str:
    """`old_text` with a unified diff of pipeline.py applied; DiffError when it does not fit.

    Hunk line numbers are only a hint (models miscount): each hunk's context and removed
    lines are searched for after the previous hunk, nearest to the stated line first. The
    content must match exactly.
    """
    hunks = _parse_hunks(diff)
    if not hunks:
        raise DiffError("the diff has no hunks (no line starting with @@ -l,n +l,n @@)")
    lines = old_text.splitlines()
    cursor, delta = 0, 0
    for number, (header, start, before, after) in enumerate(hunks, 1):
        _trim_blank_tail(before, after)
        expected = max(start - 1, 0) + delta
        if not before:
            at = min(max(expected, cursor), len(lines))
        else:
            fits = [
                j
                for j in range(cursor, len(lines) - len(before) + 1)
                if lines[j : j + len(before)] == before
            ]
            if not fits:
                raise DiffError(_mismatch(number, header, lines, before, expected))
            at = min(fits, key=lambda j: (abs(j - expected), j))
        lines[at : at + len(before)] = after
        cursor, delta = at + len(after), delta + len(after) - len(before)
    ending = "\n" if old_text.endswith("\n") or not old_text else ""
    return "\n".join(lines) + ending if lines else ""


def _mismatch(number: int, header: str, lines: list[str], before: list[str], at: int) -> str:
    """Why hunk `number` does not fit, naming the first line that differs where it claims."""
    at = min(max(at, 0), max(len(lines) - 1, 0))
    for i, want in enumerate(before):
        have = lines[at + i] if at + i < len(lines) else None
        if have != want:
            found = "the file ends" if have is None else f"the file has {have!r}"
            return (
                f"hunk {number} ({header}) does not apply: its lines are not in pipeline.py; "
                f"at line {at + i + 1} it expects {want!r} but {found}"
            )
    return f"hunk {number} ({header}) does not apply: its lines are not in pipeline.py"

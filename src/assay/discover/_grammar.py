"""The grammar generator: expression trees over unary and binary operations, evolved.

A tree is a nested tuple: the variable ("v"), a constant ("c", 0.5), a unary node
("u", "sigmoid", child) or a binary node ("b", "mul", left, right). It renders to the kind's
code (torch for activations and regularizers, numpy for preprocessing), so a grammar-made
component validates, evaluates and registers exactly like an LLM-written one.

Evolution is regularized evolution (Real et al., 2019): the population is the most recent
evaluated hypotheses; each child comes from the best of a random tournament, by mutation
(change an operation, replace or wrap a subtree, shrink to a child) or by crossover with a
second tournament winner. Old members age out whatever their reward, which keeps the search
moving instead of circling one early lucky tree. The state lives in the history alone, so a
resumed run breeds from exactly what it had evaluated.
"""

from __future__ import annotations

import ast
from collections.abc import Sequence
from typing import Any

import numpy as np

from assay.discover._spec import Hypothesis, Kind

# name: (torch template, numpy template); "{a}" the operand
UNARY: dict[str, tuple[str, str]] = {
    "neg": ("(-{a})", "(-{a})"),
    "abs": ("torch.abs({a})", "np.abs({a})"),
    "square": ("torch.square({a})", "np.square({a})"),
    "cube": ("torch.pow({a}, 3)", "np.power({a}, 3)"),
    "sqrt_abs": ("torch.sqrt(torch.abs({a}) + 1e-3)", "np.sqrt(np.abs({a}) + 1e-3)"),
    "exp": ("torch.exp(torch.clamp({a}, max=10.0))", "np.exp(np.clip({a}, -30.0, 10.0))"),
    "log1p_abs": ("torch.log1p(torch.abs({a}))", "np.log1p(np.abs({a}))"),
    "sigmoid": ("torch.sigmoid({a})", "(1.0 / (1.0 + np.exp(-np.clip({a}, -30.0, 30.0))))"),
    "tanh": ("torch.tanh({a})", "np.tanh({a})"),
    "relu": ("torch.relu({a})", "np.maximum({a}, 0.0)"),
    "softplus": ("torch.nn.functional.softplus({a})", "np.logaddexp({a}, 0.0)"),
    "erf": ("torch.erf({a})", "np.tanh(1.2025 * {a})"),
    "sin": ("torch.sin({a})", "np.sin({a})"),
    "cos": ("torch.cos({a})", "np.cos({a})"),
    "atan": ("torch.atan({a})", "np.arctan({a})"),
    "min0": ("torch.clamp({a}, max=0.0)", "np.minimum({a}, 0.0)"),
}
# "{a}", "{b}" the operands
BINARY: dict[str, tuple[str, str]] = {
    "add": ("({a} + {b})", "({a} + {b})"),
    "sub": ("({a} - {b})", "({a} - {b})"),
    "mul": ("({a} * {b})", "({a} * {b})"),
    "div": ("({a} / (torch.abs({b}) + 1.0))", "({a} / (np.abs({b}) + 1.0))"),
    "max": ("torch.maximum({a}, {b})", "np.maximum({a}, {b})"),
    "min": ("torch.minimum({a}, {b})", "np.minimum({a}, {b})"),
    "gate": ("({a} * torch.sigmoid({b}))", "({a} / (1.0 + np.exp(-np.clip({b}, -30.0, 30.0))))"),
}
CONSTANTS = (0.5, 1.0, 2.0, 3.0)
MAX_DEPTH = 4
MAX_NODES = 9
VARIABLE = {Kind.ACTIVATION: "x", Kind.PREPROCESSING: "z", Kind.REGULARIZER: "w"}

Tree = tuple


# -- trees as text and as code ------------------------------------------------------------
def to_text(tree: Tree) -> str:
    """A compact S-expression: `(mul v (sigmoid v))`; parsed back by `from_text`."""
    if tree[0] == "v":
        return "v"
    if tree[0] == "c":
        return repr(float(tree[1]))
    return "(" + " ".join([tree[1], *(to_text(child) for child in tree[2:])]) + ")"


def from_text(text: str) -> Tree:
    tokens = text.replace("(", " ( ").replace(")", " ) ").split()

    def read(i: int) -> tuple[Tree, int]:
        token = tokens[i]
        if token == "v":
            return ("v",), i + 1
        if token != "(":
            return ("c", float(token)), i + 1
        op, i = tokens[i + 1], i + 2
        children = []
        while tokens[i] != ")":
            child, i = read(i)
            children.append(child)
        kind = "u" if op in UNARY else "b"
        return (kind, op, *children), i + 1

    tree, _ = read(0)
    return tree


def render(tree: Tree, var: str, backend: str = "torch") -> str:
    column = 0 if backend == "torch" else 1
    if tree[0] == "v":
        return var
    if tree[0] == "c":
        return repr(float(tree[1]))
    if tree[0] == "u":
        return UNARY[tree[1]][column].format(a=render(tree[2], var, backend))
    left, right = render(tree[2], var, backend), render(tree[3], var, backend)
    return BINARY[tree[1]][column].format(a=left, b=right)


def to_code(tree: Tree, kind: Kind) -> str:
    var = VARIABLE[kind]
    if kind is Kind.ACTIVATION:
        return f"def activation(x):\n    return {render(tree, var)}\n"
    if kind is Kind.REGULARIZER:
        return f"def penalty(w):\n    return torch.mean({render(tree, var)})\n"
    expr = render(tree, var, "numpy")
    return (
        "def fit(x):\n"
        "    center = float(np.median(x))\n"
        "    spread = float(np.quantile(x, 0.75) - np.quantile(x, 0.25))\n"
        "    scale = spread or float(np.std(x)) or 1.0\n"
        "    z = (x - center) / scale\n"
        f"    out = {expr}\n"
        "    return {'center': center, 'scale': scale, 'mean': float(np.mean(out)), "
        "'std': float(np.std(out)) or 1.0}\n\n"
        "def transform(x, state):\n"
        "    z = (x - state['center']) / state['scale']\n"
        f"    out = {expr}\n"
        "    return (out - state['mean']) / state['std']\n"
    )


def to_hypothesis(tree: Tree, kind: Kind, parents: tuple[str, ...] = ()) -> Hypothesis:
    text = to_text(tree)
    return Hypothesis(kind, to_code(tree, kind), "grammar", text, expr=text, parents=parents)


def _valid_code(code: str) -> bool:
    try:
        ast.parse(code)
    except SyntaxError:  # pragma: no cover - the templates are fixed
        return False
    return True


# -- tree surgery ---------------------------------------------------------------------------
def size(tree: Tree) -> int:
    return 1 + sum(size(c) for c in tree[2:]) if tree[0] in ("u", "b") else 1


def depth(tree: Tree) -> int:
    return 1 + max((depth(c) for c in tree[2:]), default=0) if tree[0] in ("u", "b") else 1


def has_variable(tree: Tree) -> bool:
    return tree[0] == "v" or (tree[0] in ("u", "b") and any(has_variable(c) for c in tree[2:]))


def paths(tree: Tree, prefix: tuple[int, ...] = ()) -> list[tuple[int, ...]]:
    """Every node's position, as the child indexes from the root."""
    found = [prefix]
    if tree[0] in ("u", "b"):
        for i, child in enumerate(tree[2:]):
            found += paths(child, (*prefix, i))
    return found


def get(tree: Tree, path: Sequence[int]) -> Tree:
    for i in path:
        tree = tree[2 + i]
    return tree


def put(tree: Tree, path: Sequence[int], new: Tree) -> Tree:
    if not path:
        return new
    children = list(tree[2:])
    children[path[0]] = put(children[path[0]], path[1:], new)
    return (tree[0], tree[1], *children)


class GrammarGenerator:
    """`generate(n, history)`: children of tournament winners among the `population` most
    recent evaluated hypotheses; random small trees until the population has `n_seed`."""

    origin = "grammar"

    def __init__(
        self,
        kind: Kind | str,
        *,
        population: int = 40,
        tournament: int = 5,
        crossover: float = 0.25,
        n_seed: int = 12,
        random_state: int = 0,
    ):
        self.kind = Kind.parse(kind)
        self.population, self.tournament = population, tournament
        self.crossover, self.n_seed = crossover, n_seed
        self.rng = np.random.default_rng(random_state)

    def generate(self, n: int, history: Sequence[Any]) -> list[Hypothesis]:
        seen = {item.hypothesis.id for item in history}
        members = [
            (from_text(item.hypothesis.expr), float(item.reward), item.hypothesis.id)
            for item in history
            if item.hypothesis.expr and item.reward is not None
        ][-self.population :]
        out: list[Hypothesis] = []
        parents: tuple[str, ...]
        for _ in range(50 * n):
            if len(out) >= n:
                break
            if len(members) < self.n_seed:
                tree, parents = self.random_tree(int(self.rng.integers(1, 4))), ()
            else:
                tree, parents = self._child(members)
            if not (has_variable(tree) and size(tree) <= MAX_NODES and depth(tree) <= MAX_DEPTH):
                continue
            hypothesis = to_hypothesis(tree, self.kind, parents)
            if hypothesis.id in seen or not _valid_code(hypothesis.code):
                continue
            seen.add(hypothesis.id)
            out.append(hypothesis)
        return out

    # -- breeding -----------------------------------------------------------------------
    def _winner(self, members: list) -> tuple:
        picks = self.rng.choice(
            len(members), size=min(self.tournament, len(members)), replace=False
        )
        return max((members[int(i)] for i in picks), key=lambda m: m[1])

    def _child(self, members: list) -> tuple[Tree, tuple[str, ...]]:
        first = self._winner(members)
        if self.rng.random() < self.crossover:
            second = self._winner(members)
            return self.cross(first[0], second[0]), (first[2], second[2])
        return self.mutate(first[0]), (first[2],)

    def random_tree(self, max_depth: int) -> Tree:
        if max_depth <= 1 or self.rng.random() < 0.3:
            return ("v",)
        if self.rng.random() < 0.55:
            return ("u", self._pick(list(UNARY)), self.random_tree(max_depth - 1))
        left = self.random_tree(max_depth - 1)
        if self.rng.random() < 0.2:
            right: Tree = ("c", float(self._pick(CONSTANTS)))
        else:
            right = self.random_tree(max_depth - 1)
        return ("b", self._pick(list(BINARY)), left, right)

    def mutate(self, tree: Tree) -> Tree:
        path = paths(tree)[int(self.rng.integers(len(paths(tree))))]
        node = get(tree, path)
        roll = self.rng.random()
        if roll < 0.4 and node[0] in ("u", "b"):  # another operation of the same arity
            table = UNARY if node[0] == "u" else BINARY
            return put(
                tree, path, (node[0], self._pick([o for o in table if o != node[1]]), *node[2:])
            )
        if roll < 0.4 and node[0] == "c":
            return put(tree, path, ("c", float(self._pick([c for c in CONSTANTS if c != node[1]]))))
        if roll < 0.6:  # wrap in a unary operation
            return put(tree, path, ("u", self._pick(list(UNARY)), node))
        if roll < 0.75 and node[0] in ("u", "b"):  # shrink to one of its children
            return put(tree, path, node[2 + int(self.rng.integers(len(node) - 2))])
        if roll < 0.85:  # combine with the variable or a constant
            other = ("v",) if self.rng.random() < 0.7 else ("c", float(self._pick(CONSTANTS)))
            return put(tree, path, ("b", self._pick(list(BINARY)), node, other))
        return put(tree, path, self.random_tree(2))

    def cross(self, first: Tree, second: Tree) -> Tree:
        into = paths(first)[int(self.rng.integers(len(paths(first))))]
        donor = paths(second)[int(self.rng.integers(len(paths(second))))]
        return put(first, into, get(second, donor))

    def _pick(self, options: Sequence) -> Any:
        return options[int(self.rng.integers(len(options)))]

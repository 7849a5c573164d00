"""Is a candidate component safe to run and worth evaluating? Two gates, both cheap.

`check_static` reads the code without running it: a small Python subset over `torch`, `np`
and `math` with whitelisted functions, so LLM code cannot reach files, processes or the
interpreter. `check_numeric` runs it on fixed seeded probes: finite, shape-keeping, not
constant, deterministic, with usable gradients. Its outputs on a fixed probe set are the
component's *fingerprint*: two components with equal fingerprints behave the same, so only
one is evaluated. `validate` runs both, the numeric part inside the sandbox for LLM code.
"""

from __future__ import annotations

import ast
import json
import shutil
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from assay.discover._spec import SAFE_BUILTINS, Hypothesis, Kind, compile_component
from assay.errors import ComponentRejected, ConfigError

MAX_CODE_CHARS = 4000
MODULES = ("torch", "np", "math")
_PARAMS = {"activation": ("x",), "fit": ("x",), "transform": ("x", "state"), "penalty": ("w",)}

# Element-wise math, reductions for fitting and penalties, constructors and constants:
# nothing random, nothing that reads, writes, loads or reaches other modules.
_COMMON = (
    "abs exp log log1p expm1 log2 sqrt sin cos tanh sinh cosh minimum maximum clip where sign "
    "square mean sum quantile median std var linspace zeros ones zeros_like ones_like "
    "full_like isfinite nan_to_num floor ceil round pi e "
)
_FUNCTIONS = {
    "torch": _COMMON + "sigmoid relu erf erfc atan arctan asinh arcsinh clamp pow norm amax "
    "amin rsqrt reciprocal neg hypot logaddexp tensor float32 float64 Tensor",
    "torch.nn.functional": "relu gelu silu elu selu celu softplus mish leaky_relu hardtanh "
    "hardswish hardsigmoid logsigmoid softsign tanhshrink relu6",
    "torch.special": "erf erfc expit logit ndtr log_ndtr sinc xlogy",
    "np": _COMMON + "arctan arcsinh power percentile interp searchsorted sort unique min max "
    "log10 cbrt asarray array float64 ndarray",
    "math": "exp log log1p expm1 sqrt sin cos tanh atan asinh sinh cosh erf erfc fabs floor "
    "ceil pow copysign isfinite pi e inf",
}
ALLOWED_FUNCTIONS: frozenset[str] = frozenset(
    f"{module}.{name}" for module, names in _FUNCTIONS.items() for name in names.split()
)
# Methods callable on values (tensors, arrays, the fitted state dict), only in a call.
_METHODS = (
    "mean sum abs clamp clip pow sqrt exp log log1p tanh sigmoid std var reshape view_as "
    "float square relu min max numel astype get"
)
ALLOWED_METHODS: frozenset[str] = frozenset(_METHODS.split())
_REFUSED = {
    (ast.Import, ast.ImportFrom): "imports",
    (ast.While,): "while loops",
    (ast.Global, ast.Nonlocal): "global/nonlocal",
    (ast.Try, getattr(ast, "TryStar", ast.Try)): "try blocks",
    (ast.With, ast.AsyncWith): "with blocks",
    (ast.ClassDef,): "classes",
    (ast.AsyncFunctionDef, ast.AsyncFor, ast.Await): "async code",
    (ast.Yield, ast.YieldFrom): "generators (yield)",
    (ast.Delete,): "del",
}
_ALLOWED_NODES = (
    ast.Module, ast.FunctionDef, ast.Return, ast.Assign, ast.AugAssign, ast.For, ast.If,
    ast.Expr, ast.Pass, ast.Break, ast.Continue, ast.BoolOp, ast.BinOp, ast.UnaryOp,
    ast.Lambda, ast.IfExp, ast.Dict, ast.List, ast.Tuple, ast.ListComp, ast.DictComp,
    ast.GeneratorExp, ast.Compare, ast.Call, ast.Constant, ast.Attribute, ast.Subscript,
    ast.Slice, ast.Name, ast.arguments, ast.arg, ast.keyword, ast.comprehension,
    ast.operator, ast.cmpop, ast.boolop, ast.unaryop, ast.expr_context,
)  # fmt: skip


@dataclass(frozen=True)
class Validation:
    """The verdict on one component; `fingerprint` (float64, 1-D) only when ok."""

    ok: bool
    reason: str = ""
    fingerprint: np.ndarray | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if self.fingerprint is not None:
            fp = np.asarray(self.fingerprint, dtype=np.float64).reshape(-1)
            object.__setattr__(self, "fingerprint", fp)

    def to_dict(self) -> dict[str, Any]:
        fp = None if self.fingerprint is None else [float(v) for v in self.fingerprint]
        return {"ok": self.ok, "reason": self.reason, "fingerprint": fp}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Validation:
        return cls(bool(data["ok"]), str(data.get("reason", "")), data.get("fingerprint"))


# -- static checks ------------------------------------------------------------------------
def _dotted(node: ast.AST) -> str | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    return ".".join([node.id, *reversed(parts)]) if isinstance(node, ast.Name) else None


def _first(problems: list[tuple[int, int, str]]) -> str | None:
    return min(problems, key=lambda p: p[:2])[2] if problems else None


def _pos(node: ast.AST) -> tuple[int, int]:
    return getattr(node, "lineno", 0), getattr(node, "col_offset", 0)


def _node_problems(tree: ast.Module) -> list[tuple[int, int, str]]:
    """Refused constructs and dunder names anywhere in the code."""
    found = []
    for node in ast.walk(tree):
        reason = None
        for types, what in _REFUSED.items():
            if isinstance(node, types):
                reason = f"{what} are not allowed ({ast.unparse(node).splitlines()[0]})"
        if reason is None and not isinstance(node, _ALLOWED_NODES):
            reason = f"{type(node).__name__} is not allowed (line {_pos(node)[0]})"
        names = [getattr(node, a, None) for a in ("id", "attr", "arg", "name")]
        if reason is None and any(isinstance(n, str) and n.startswith("__") for n in names):
            reason = f"dunder names are not allowed ({ast.unparse(node).splitlines()[0]})"
        if reason is None and isinstance(node, ast.FunctionDef) and node.decorator_list:
            reason = f"decorators are not allowed (def {node.name})"
        if reason:
            found.append((*_pos(node), reason))
    return found


def _name_problems(scope: ast.AST, known: set[str]) -> list[tuple[int, int, str]]:
    """Names and attributes in one top-level definition, `known` the module-level names."""
    allowed = known | set(SAFE_BUILTINS)
    for node in ast.walk(scope):  # locals, parameters (of lambdas too), nested functions
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            allowed.add(node.id)
        elif isinstance(node, ast.arg | ast.FunctionDef):
            allowed.add(node.arg if isinstance(node, ast.arg) else node.name)
    calls = {id(n.func) for n in ast.walk(scope) if isinstance(n, ast.Call)}
    covered: set[int] = set()  # inner parts of an allowed torch.nn.functional.gelu chain
    found = []
    for node in ast.walk(scope):  # breadth-first: outer attributes come before inner ones
        if id(node) in covered:
            continue
        if isinstance(node, ast.Attribute):
            dotted = _dotted(node)
            if dotted and dotted.split(".")[0] in MODULES:
                inner = node.value
                while isinstance(inner, ast.Attribute):
                    covered.add(id(inner))
                    inner = inner.value
                covered.add(id(inner))
                if dotted not in ALLOWED_FUNCTIONS:
                    found.append((*_pos(node), f"{dotted} is not an allowed function"))
            elif id(node) not in calls or node.attr not in ALLOWED_METHODS:
                found.append((*_pos(node), f"attribute .{node.attr} is not allowed"))
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            if node.id in MODULES:
                found.append((*_pos(node), f"{node.id} may only be used as {node.id}.<function>"))
            elif node.id not in allowed:
                found.append((*_pos(node), f"name {node.id!r} is not allowed"))
    return found


def _entry_problem(tree: ast.Module, kind: Kind) -> str | None:
    defs = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
    for name in kind.entry_points:
        params = _PARAMS[name]
        signature = f"def {name}({', '.join(params)})"
        if name not in defs:
            return f"missing entry point: define `{signature}` at the top level"
        args = defs[name].args
        count = len(args.posonlyargs) + len(args.args)
        if count != len(params) or args.vararg or args.kwarg or args.kwonlyargs:
            return f"{name} must take {len(params)} parameter(s): `{signature}`"
    return None


def check_static(h: Hypothesis) -> str | None:
    """None when the code keeps to the component subset, else why not (one line)."""
    if len(h.code) > MAX_CODE_CHARS:
        return f"code is {len(h.code)} characters, over the {MAX_CODE_CHARS} limit"
    try:
        tree = ast.parse(h.code)
    except SyntaxError as exc:
        return f"syntax error: {exc.msg} (line {exc.lineno})"
    problem = _first(_node_problems(tree))
    if problem:
        return problem
    known: set[str] = set()
    for stmt in tree.body:
        if isinstance(stmt, ast.FunctionDef):
            known.add(stmt.name)
        elif isinstance(stmt, ast.Assign) and all(isinstance(t, ast.Name) for t in stmt.targets):
            # constants such as DROPOUT = 0.2
            known.update(t.id for t in stmt.targets if isinstance(t, ast.Name))
        elif not isinstance(stmt, ast.Pass) and not (
            isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant)
        ):
            return (
                "top-level code may only define functions and constants "
                f"(line {stmt.lineno}: {ast.unparse(stmt).splitlines()[0]})"
            )
    problems = [p for stmt in tree.body for p in _name_problems(stmt, known)]
    return _first(problems) or _entry_problem(tree, h.kind)


# -- numeric checks -----------------------------------------------------------------------
def check_numeric(h: Hypothesis) -> Validation:
    """Run the component on fixed probes in this process (only code that passed
    `check_static`: this has no time limit)."""
    try:
        import torch

        with torch.enable_grad(), np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the component's warnings are not ours to show
            fingerprint = _PROBES[h.kind](compile_component(h))
    except ComponentRejected as exc:
        return Validation(False, str(exc))
    except Exception as exc:
        text = (str(exc).strip().splitlines() or [""])[0][:200]
        return Validation(False, f"raised {type(exc).__name__}: {text}".rstrip(": "))
    return Validation(True, "", fingerprint)


def _shape(t: Any) -> str:
    return str(tuple(t.shape))


def _probe_activation(entries: dict[str, Any]) -> np.ndarray:
    import torch

    f = entries["activation"]
    gen = torch.Generator().manual_seed(0)
    x = torch.cat([torch.arange(-200, 201) / 10.0, 3 * torch.randn(99, generator=gen)])

    def call(inp: Any) -> tuple[Any, Any]:
        inp = inp.detach().clone().requires_grad_(True)
        return inp, f(inp)

    xi, y = call(x)
    if not isinstance(y, torch.Tensor):
        raise ComponentRejected(f"output is {type(y).__name__}, not a tensor")
    if y.shape != x.shape:
        raise ComponentRejected(f"shape changed {_shape(x)} -> {_shape(y)}")
    _finite(y, x, "output")
    if not y.is_floating_point() or float(y.detach().double().std()) <= 1e-6:
        raise ComponentRejected("constant output")
    if not y.requires_grad:
        raise ComponentRejected("output has no gradient with respect to x")
    y.sum().backward()
    grad = xi.grad if xi.grad is not None else torch.zeros_like(x)
    _finite(grad, x, "gradient")
    if bool((grad == 0).all()):
        raise ComponentRejected("zero gradient everywhere")
    if not torch.equal(y.detach(), call(x)[1].detach()):
        raise ComponentRejected("non-deterministic")
    y2 = call(x.reshape(20, 25))[1]
    if tuple(y2.shape) != (20, 25):
        raise ComponentRejected(f"shape changed (20, 25) -> {_shape(y2)}")
    grid = torch.linspace(-5, 5, 64)
    with torch.no_grad():
        out = f(grid.clone())
    _finite(out, grid, "output")
    return out.detach().double().numpy().reshape(-1)


def _finite(values: Any, x: Any, what: str, where: str = "") -> None:
    bad = ~np.isfinite(np.asarray(values.detach() if hasattr(values, "detach") else values))
    if bad.any():
        at = float(np.asarray(x.detach() if hasattr(x, "detach") else x).reshape(-1)[bad.argmax()])
        raise ComponentRejected(f"non-finite {what}{where} at x={at:.4g}")


def _columns() -> dict[str, np.ndarray]:
    """Training columns (first 300 values) and fresh values of the same kind (the rest)."""
    rng = np.random.default_rng(0)
    n = 340
    outliers = rng.normal(10, 2, n)
    spots = rng.choice(n, 12, replace=False)
    outliers[spots] = rng.choice([-1.0, 1.0], 12) * rng.uniform(1e2, 1e4, 12)
    return {
        "normal": rng.normal(0, 1, n),
        "lognormal": rng.lognormal(0, 1, n),
        "uniform": rng.uniform(-3, 7, n),
        "ties": rng.integers(0, 5, n).astype(np.float64),
        "outliers": outliers,
    }


def _probe_preprocessing(entries: dict[str, Any]) -> np.ndarray:
    fit, transform = entries["fit"], entries["transform"]
    parts = []
    for name, column in _columns().items():
        train = column[:300]
        lo, hi = train.min(), train.max()
        span = hi - lo
        extremes = [lo - 10 * span, lo - span, hi + span, hi + 10 * span]
        probe = np.concatenate([np.sort(column[300:]), extremes])
        state = _call_checked(fit, (train,), "fit")
        if not isinstance(state, dict):
            raise ComponentRejected(f"fit returned {type(state).__name__}, not a dict")
        try:
            json.dumps(state, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise ComponentRejected(f"fit's state is not plain JSON numbers ({exc})") from None
        outs = []
        for x in (train, probe):
            out = np.asarray(_call_checked(transform, (x, state), "transform"), np.float64)
            if out.shape != x.shape:
                raise ComponentRejected(f"shape changed {_shape(x)} -> {_shape(out)}")
            _finite(out, x, "output", f" for the {name} column")
            outs.append(out)
        if float(outs[0].std()) <= 1e-6:
            raise ComponentRejected(f"constant output for the {name} column")
        again = transform(probe.copy(), fit(train.copy()))
        if not np.array_equal(np.asarray(again, np.float64), outs[1]):
            raise ComponentRejected("non-deterministic")
        std = outs[1].std()
        parts.append((outs[1] - outs[1].mean()) / std if std > 1e-12 else 0 * outs[1])
    return np.concatenate(parts)


def _call_checked(fn: Callable, args: tuple, name: str) -> Any:
    """Call with a copy of the column and refuse a function that changes it in place."""
    x = args[0].copy()
    out = fn(x, *args[1:])
    if not np.array_equal(x, args[0]):
        raise ComponentRejected(f"{name} changed its input in place")
    return out


def _probe_regularizer(entries: dict[str, Any]) -> np.ndarray:
    import torch

    penalty, dropout = entries["penalty"], entries["DROPOUT"]
    if not 0.0 <= dropout <= 0.9:
        raise ComponentRejected(f"DROPOUT={dropout:g} is outside [0, 0.9]")
    gen = torch.Generator().manual_seed(0)
    specs = [((32, 16), 0.1), ((64, 64), 1.0), ((16, 8), 3.0), ((1, 100), 0.01), ((128, 32), 0.5)]
    mats = [torch.randn(shape, generator=gen) * scale for shape, scale in specs]

    def run() -> list[float]:
        values, norms = [], []
        for m in mats:
            w, where = m.clone().requires_grad_(True), f" for the {m.shape[0]}x{m.shape[1]} matrix"
            p = penalty(w)
            if not isinstance(p, torch.Tensor):
                raise ComponentRejected(f"penalty returned {type(p).__name__}, not a tensor")
            if p.numel() != 1:
                raise ComponentRejected(f"penalty is not a scalar (shape {_shape(p)}{where})")
            if not bool(torch.isfinite(p.detach()).all()):
                raise ComponentRejected(f"non-finite penalty{where}")
            if p.requires_grad:
                p.sum().backward()
            grad = w.grad if w.grad is not None else torch.zeros_like(w)
            if not bool(torch.isfinite(grad).all()):
                raise ComponentRejected(f"non-finite gradient{where}")
            values.append(float(p.detach().double().reshape(())))
            norms.append(float(grad.double().norm()))
        return values + norms

    first = run()
    values, norms = np.array(first[: len(mats)]), np.array(first[len(mats) :])
    if dropout == 0 and not norms.any():
        if np.ptp(values) <= 1e-9:
            raise ComponentRejected(
                "constant penalty without dropout: use w or set DROPOUT in (0, 0.9]"
            )
        raise ComponentRejected("penalty has no gradient with respect to w")
    if run() != first:
        raise ComponentRejected("non-deterministic")
    return np.array(first)


_PROBES: dict[Kind, Callable[[dict[str, Any]], np.ndarray]] = {
    Kind.ACTIVATION: _probe_activation,
    Kind.PREPROCESSING: _probe_preprocessing,
    Kind.REGULARIZER: _probe_regularizer,
}


# -- both gates ---------------------------------------------------------------------------
def validate(
    h: Hypothesis, *, sandbox_root: Path | None = None, time_s: float = 10.0
) -> Validation:
    """Static checks, then the probes: in this process for grammar-made code
    (`sandbox_root` None), in the sandbox under `time_s` for LLM code."""
    problem = check_static(h)
    if problem:
        return Validation(False, problem)
    if sandbox_root is None:
        return check_numeric(h)
    from assay.errors import InvalidOutput
    from assay.execute import Limits, OutcomeStatus, Sandbox

    def read(outputs: Path) -> dict:
        try:
            return json.loads((outputs / "validation.json").read_text())
        except (OSError, ValueError) as exc:
            raise InvalidOutput(f"no readable validation.json ({exc})") from None

    sandbox = Sandbox(sandbox_root, Limits(time_s=time_s, memory_mb=2048))
    ws = sandbox.workspace(
        files={"probe.py": Path(__file__).with_name("_probe_main.py")},
        inputs={"hypothesis.json": json.dumps(h.to_dict())},
    )
    try:
        outcome = sandbox.run_python("probe.py", ws, evaluate=read)
    finally:
        shutil.rmtree(ws.root, ignore_errors=True)
    if outcome.ok:
        return Validation.from_dict(outcome.metrics)
    if outcome.status is OutcomeStatus.TIMEOUT:
        return Validation(False, f"timed out after {time_s:g} s")
    if outcome.status is OutcomeStatus.OOM:
        return Validation(False, "out of memory (over 2048 MB)")
    lines = [line.strip() for line in outcome.stderr.splitlines() if line.strip()]
    return Validation(False, lines[-1][:300] if lines else outcome.reason)


# -- behaviour comparisons ----------------------------------------------------------------
def is_duplicate(
    fp: np.ndarray, seen: Iterable[np.ndarray], rtol: float = 1e-4, atol: float = 1e-6
) -> bool:
    """True when some seen fingerprint of the same length is allclose to `fp`."""
    fp = np.asarray(fp, dtype=np.float64)
    for other in seen:
        other = np.asarray(other, dtype=np.float64)
        if other.shape == fp.shape and np.allclose(fp, other, rtol=rtol, atol=atol):
            return True
    return False


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine similarity of the centred fingerprints, in [-1, 1] (1.0 for two equal
    constants, 0.0 when only one is constant)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ConfigError(
            f"fingerprints of different lengths ({a.size} vs {b.size}): compare components "
            "of one kind only"
        )
    ca, cb = a - a.mean(), b - b.mean()
    na, nb = float(np.linalg.norm(ca)), float(np.linalg.norm(cb))
    scale = max(1.0, float(np.abs(a).max(initial=0)), float(np.abs(b).max(initial=0)))
    if na <= 1e-12 * scale or nb <= 1e-12 * scale:
        both = na <= 1e-12 * scale and nb <= 1e-12 * scale
        return 1.0 if both and np.allclose(a, b) else 0.0
    return float(np.clip(np.dot(ca, cb) / (na * nb), -1.0, 1.0))

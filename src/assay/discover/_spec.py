"""What a component is: its kind, the source code that defines it, and how that code runs.

Every hypothesis is plain Python source defining the kind's entry points, so grammar-made and
LLM-written components travel, validate, evaluate and register the same way:

- activation:    `def activation(x)` -> a tensor of x's shape (x: a float32 torch tensor)
- preprocessing: `def fit(x)` -> dict of floats, `def transform(x, state)` -> an array of
                 x's shape (x: one training column, a float64 numpy array without NaN)
- regularizer:   `def penalty(w)` -> a scalar tensor (w: one weight matrix); the training
                 loss adds REG_STRENGTH x the mean of penalty(w) over the layers; an optional
                 `DROPOUT = p` also drops hidden units with probability p

The code sees only `torch`, `np`, `math` and a few safe builtins (see `namespace`, in
`assay._component`); the validator refuses anything else before the code ever runs.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any

# below the layers, since the MLP also runs a discovered activation's code (when loaded)
from assay._component import SAFE_BUILTINS as SAFE_BUILTINS
from assay._component import namespace as namespace
from assay._component import run_code
from assay.errors import ConfigError

REG_STRENGTH = 1e-3


class Kind(str, Enum):
    ACTIVATION = "activation"
    PREPROCESSING = "preprocessing"
    REGULARIZER = "regularizer"

    @property
    def entry_points(self) -> tuple[str, ...]:
        return {
            Kind.ACTIVATION: ("activation",),
            Kind.PREPROCESSING: ("fit", "transform"),
            Kind.REGULARIZER: ("penalty",),
        }[self]

    @classmethod
    def parse(cls, value: str | Kind) -> Kind:
        try:
            return cls(value)
        except ValueError:
            raise ConfigError(
                f"unknown component kind {value!r}: use one of {', '.join(k.value for k in cls)}."
            ) from None


def normalize_code(code: str) -> str:
    """The code with trailing blanks and surrounding blank lines removed."""
    return "\n".join(line.rstrip() for line in code.strip("\n").splitlines()) + "\n"


def hypothesis_id(kind: Kind, code: str) -> str:
    digest = hashlib.sha256(f"{kind.value}\n{normalize_code(code)}".encode()).hexdigest()
    return digest[:12]


@dataclass(frozen=True)
class Hypothesis:
    """One candidate component. `expr` is the grammar's expression (None for LLM code);
    `parents` the ids it was bred from; `origin` grammar, llm or baseline."""

    kind: Kind
    code: str
    origin: str
    description: str = ""
    expr: str | None = None
    parents: tuple[str, ...] = ()
    id: str = field(default="")

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", Kind.parse(self.kind))
        object.__setattr__(self, "code", normalize_code(self.code))
        if not self.id:
            object.__setattr__(self, "id", hypothesis_id(self.kind, self.code))

    def with_description(self, text: str) -> Hypothesis:
        return replace(self, description=text)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind.value,
            "code": self.code,
            "origin": self.origin,
            "description": self.description,
            "expr": self.expr,
            "parents": list(self.parents),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Hypothesis:
        return cls(
            kind=Kind(data["kind"]),
            code=data["code"],
            origin=data.get("origin", "grammar"),
            description=data.get("description", ""),
            expr=data.get("expr"),
            parents=tuple(data.get("parents") or ()),
            id=data.get("id", ""),
        )


def compile_component(hypothesis: Hypothesis) -> dict[str, Any]:
    """The kind's entry points as callables (after the validator's static checks only)."""
    scope = run_code(hypothesis.code, f"<component {hypothesis.id}>")
    missing = [name for name in hypothesis.kind.entry_points if not callable(scope.get(name))]
    if missing:
        raise ConfigError(
            f"component {hypothesis.id} ({hypothesis.kind.value}) does not define "
            f"{', '.join(missing)}: define `def {missing[0]}(...)`."
        )
    entries = {name: scope[name] for name in hypothesis.kind.entry_points}
    if hypothesis.kind is Kind.REGULARIZER:
        entries["DROPOUT"] = float(scope.get("DROPOUT", 0.0))
    return entries


# -- the baselines each kind is judged against --------------------------------------------
BASELINE_CODE: dict[Kind, dict[str, str]] = {
    Kind.ACTIVATION: {
        "relu": "def activation(x):\n    return torch.relu(x)\n",
        "gelu": "def activation(x):\n    return torch.nn.functional.gelu(x)\n",
        "silu": "def activation(x):\n    return x * torch.sigmoid(x)\n",
        "tanh": "def activation(x):\n    return torch.tanh(x)\n",
    },
    Kind.PREPROCESSING: {
        "standard": (
            "def fit(x):\n"
            "    return {'mean': float(np.mean(x)), 'std': float(np.std(x)) or 1.0}\n\n"
            "def transform(x, state):\n    return (x - state['mean']) / state['std']\n"
        ),
        "quantile": (
            "def fit(x):\n"
            "    return {'q': [float(v) for v in np.quantile(x, np.linspace(0, 1, 101))]}\n\n"
            "def transform(x, state):\n"
            "    u = np.interp(x, state['q'], np.linspace(0, 1, 101))\n"
            "    return (u - 0.5) * 3.4641\n"
        ),
    },
    Kind.REGULARIZER: {
        "l2": "def penalty(w):\n    return torch.mean(w * w)\n",
        "dropout": "DROPOUT = 0.2\n\ndef penalty(w):\n    return torch.zeros(())\n",
    },
}


def baselines(kind: Kind) -> dict[str, Hypothesis]:
    return {
        name: Hypothesis(kind, code, origin="baseline", description=name)
        for name, code in BASELINE_CODE[kind].items()
    }

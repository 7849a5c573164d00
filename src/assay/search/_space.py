"""Search spaces as data: serializable distributions with a default (FLAML style)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Int:
    low: int
    high: int
    default: int
    log: bool = False

    def sample(self, rng: np.random.Generator) -> int:
        if self.log:
            return round(math.exp(rng.uniform(math.log(self.low), math.log(self.high))))
        return int(rng.integers(self.low, self.high + 1))

    def contains(self, value: Any) -> bool:
        return isinstance(value, int | np.integer) and bool(self.low <= value <= self.high)


@dataclass(frozen=True)
class Float:
    low: float
    high: float
    default: float
    log: bool = False

    def sample(self, rng: np.random.Generator) -> float:
        if self.log:
            return float(math.exp(rng.uniform(math.log(self.low), math.log(self.high))))
        return float(rng.uniform(self.low, self.high))

    def contains(self, value: Any) -> bool:
        return isinstance(value, float | int) and self.low <= value <= self.high


@dataclass(frozen=True)
class Choice:
    options: tuple
    default: Any

    def sample(self, rng: np.random.Generator) -> Any:
        return self.options[int(rng.integers(len(self.options)))]

    def contains(self, value: Any) -> bool:
        return value in self.options


Distribution = Int | Float | Choice
_KINDS = {"int": Int, "float": Float, "choice": Choice}


def to_dict(space: dict[str, Distribution]) -> dict[str, dict]:
    out = {}
    for name, dist in space.items():
        kind = next(k for k, cls in _KINDS.items() if isinstance(dist, cls))
        out[name] = {"kind": kind, **asdict(dist)}
    return out


def from_dict(data: dict[str, dict]) -> dict[str, Distribution]:
    space: dict[str, Distribution] = {}
    for name, spec in data.items():
        spec = dict(spec)
        cls = _KINDS[spec.pop("kind")]
        if cls is Choice:
            spec["options"] = tuple(spec["options"])
        space[name] = cls(**spec)
    return space


def defaults(space: dict[str, Distribution]) -> dict[str, Any]:
    return {name: dist.default for name, dist in space.items()}


def sample(space: dict[str, Distribution], rng: np.random.Generator) -> dict[str, Any]:
    return {name: dist.sample(rng) for name, dist in space.items()}

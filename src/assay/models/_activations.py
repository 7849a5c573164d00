"""The MLP's activations: four built-in ones, and names that another package resolves to
source code defining `def activation(x)`.

assay.discover registers the resolver for "discovered:<id>" when it is imported (models
never imports it: the layers above the core plug into it, not the other way round). The
fitted model keeps the resolved source, so loading it needs no resolver, only
`assay._component` to run the code.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from assay._component import run_code
from assay.errors import ConfigError

BUILTIN_ACTIVATIONS = ("silu", "relu", "gelu", "tanh")
DISCOVERED = "discovered:"

_RESOLVERS: dict[str, Callable[[str], str]] = {}


def register_activation_resolver(prefix: str, resolve: Callable[[str], str]) -> None:
    """Make names starting with `prefix` (such as "discovered:") usable as MLP activations:
    `resolve(name)` returns the source code; it raises ConfigError for an unknown name.
    Registering a prefix again replaces its resolver."""
    if not prefix or prefix in BUILTIN_ACTIVATIONS:
        raise ValueError(f"an activation prefix must be non-empty and not built in: {prefix!r}")
    _RESOLVERS[prefix] = resolve


def activation_code(name: str) -> str:
    """The source of a resolved activation, "" for a built-in one. The fitted model keeps
    this code, not the name's reference."""
    if name in BUILTIN_ACTIVATIONS:
        return ""
    name = str(name)
    for prefix, resolve in _RESOLVERS.items():
        if name.startswith(prefix):
            return resolve(name)
    if name.startswith(DISCOVERED):
        raise ConfigError(
            f"MLP activation {name!r} is a discovered component: `import assay.discover` "
            "before fitting, so its registry can be read (see `assay discover list`)."
        )
    raise ConfigError(
        f"MLP activation {name!r}: use one of {', '.join(BUILTIN_ACTIVATIONS)} or "
        '"discovered:<id>" (see `assay discover list`).'
    )


def activation_module(name: str, code: str) -> Any:
    """A torch module: the built-in `name`, or the `activation` function `code` defines."""
    from torch import nn

    if not code:
        return {"silu": nn.SiLU, "relu": nn.ReLU, "gelu": nn.GELU, "tanh": nn.Tanh}[name]()
    function = run_code(code, f"<activation {name}>").get("activation")
    if not callable(function):
        raise ConfigError(
            f"the code of MLP activation {name!r} does not define `def activation(x)`: re-fit "
            "with a registered component."
        )

    class Discovered(nn.Module):
        def forward(self, x):
            return function(x)

    return Discovered()

"""How a component's source code runs: the only globals it sees, and the call that runs it.

Discovered components (assay.discover) are plain source. The MLP keeps a discovered
activation's source in the fitted model and runs it again when the model is loaded; both
run it through here, so a saved predictor loads without assay.discover, which the core
(models, automl) never imports.
"""

from __future__ import annotations

import math
from typing import Any

SAFE_BUILTINS = ("abs", "min", "max", "float", "int", "len", "range", "sum", "round", "dict")


def namespace() -> dict[str, Any]:
    """The globals a component's code runs with: nothing that reaches files, processes,
    the network or the interpreter."""
    import builtins

    import numpy as np
    import torch

    safe = {name: getattr(builtins, name) for name in SAFE_BUILTINS}
    # torch imports itself while parsing some arguments (torch.tensor, clamp's scalars); the
    # validator refuses import statements and every dunder name, so code cannot call it
    safe["__import__"] = builtins.__import__
    return {"__builtins__": safe, "torch": torch, "np": np, "math": math}


def run_code(code: str, label: str) -> dict[str, Any]:
    """The globals after running `code` in a fresh `namespace()`; `label` (such as
    "<component 0123456789ab>") names the code in tracebacks."""
    scope = namespace()
    exec(compile(code, label, "exec"), scope)
    return scope

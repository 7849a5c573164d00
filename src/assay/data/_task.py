"""Which kind of model a target needs. Users override with `task=` when the guess is wrong.

Rule: labels that are not numbers are classes (2 -> binary, more -> multiclass). Numbers
with 2 distinct values are binary; integer-valued numbers with 3..10 distinct values are
multiclass (class codes such as 1..10 or ratings); anything else is regression. So wine
quality (scores 3..8) is guessed multiclass; benchmarks that score it as regression pass
task="regression" explicitly.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from assay._types import Task
from assay.data._detect import count_unique, is_numeric
from assay.errors import ConfigError, TargetError

MAX_MULTICLASS_INTEGERS = 10
_CLASSIFICATION = "classification"


def infer_task(y: pd.Series) -> Task:
    """Guess the task from the target's values (missing values are ignored)."""
    y = pd.Series(y)
    values = y.dropna()
    if values.empty:
        raise TargetError(f"Target '{y.name}' has no non-missing values; cannot infer the task.")
    n_unique = count_unique(values)
    if not is_numeric(values) or n_unique <= 2:
        return Task.BINARY if n_unique <= 2 else Task.MULTICLASS
    numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    integer_valued = bool(np.isfinite(numbers).all() and (numbers == np.round(numbers)).all())
    if integer_valued and n_unique <= MAX_MULTICLASS_INTEGERS:
        return Task.MULTICLASS
    return Task.REGRESSION


def parse_task(task: Task | str, y: pd.Series) -> Task:
    """Task from an enum or its name; "classification" picks binary or multiclass from y."""
    if isinstance(task, Task):
        return task
    text = str(task).strip().lower()
    if text == _CLASSIFICATION:
        return Task.BINARY if count_unique(pd.Series(y).dropna()) <= 2 else Task.MULTICLASS
    for member in Task:
        if text in (member.value, member.name.lower()):
            return member
    valid = ", ".join([*(t.value for t in Task), _CLASSIFICATION])
    raise ConfigError(f"task={task!r} is not known. Use one of: {valid}.")

"""Which GLM family fits the target and which class is coded 1. Said out loud in notes,
because "the odds of y" means nothing until the reader knows which value y = 1 is."""

from __future__ import annotations

from enum import Enum
from typing import Any

import numpy as np
import pandas as pd

from assay.data._detect import is_numeric
from assay.errors import ConfigError, TargetError


class Family(str, Enum):
    AUTO = "auto"
    LOGISTIC = "logistic"
    LINEAR = "linear"
    POISSON = "poisson"


def parse_family(family: Family | str) -> Family:
    try:
        return Family(str(getattr(family, "value", family)).strip().lower())
    except ValueError:
        valid = ", ".join(f.value for f in Family)
        raise ConfigError(f"family {family!r} is not known; use one of: {valid}.") from None


def _sorted_labels(values: pd.Series) -> list[Any]:
    labels = list(pd.unique(values))
    try:
        return sorted(labels)
    except TypeError:
        return sorted(labels, key=str)


def _match_label(labels: list[Any], positive: Any, target: str) -> Any:
    for label in labels:
        if label == positive or str(label) == str(positive):
            return label
        try:
            if float(label) == float(positive):
                return label
        except (TypeError, ValueError):
            pass
    shown = ", ".join(repr(str(v)) for v in labels[:20])
    raise ConfigError(
        f"positive class {positive!r} is not a value of target '{target}'; its values: {shown}."
    )


def resolve_family(
    target_values: pd.Series, family: Family, positive: Any, target: str
) -> tuple[Family, tuple[Any, str] | None, list[str]]:
    """The family to fit, (the class coded 1, a name for the 0s) if logistic, and notes."""
    values = target_values.dropna()
    labels = _sorted_labels(values)
    if len(labels) < 2:
        raise TargetError(
            f"Target '{target}' has {len(labels)} distinct value(s); a model needs it to vary. "
            "Check the column name and its missing values."
        )
    numeric = is_numeric(values) or pd.api.types.is_bool_dtype(values.dtype)
    if positive is not None and family not in (Family.AUTO, Family.LOGISTIC):
        raise ConfigError(
            f"positive ({positive!r}) picks the class of a logistic regression; it cannot be "
            f"used with family '{family.value}'. Drop positive or use family 'logistic'."
        )
    notes: list[str] = []
    if family is Family.AUTO:
        if len(labels) == 2 or positive is not None or not numeric:
            family = Family.LOGISTIC  # several classes: asks for positive below
        else:
            family = Family.LINEAR
            numbers = values.astype("float64")
            if (numbers >= 0).all() and (numbers == np.round(numbers)).all():
                notes.append(
                    f"'{target}' looks like a count: linear regression was used; "
                    "family 'poisson' (--family poisson) models counts"
                )
        notes.append(
            f"family auto: '{target}' has {len(labels)} distinct values, so {family.value}"
        )
    if family is Family.LOGISTIC:
        if positive is None and len(labels) != 2:
            shown = ", ".join(repr(str(v)) for v in labels[:20])
            raise ConfigError(
                f"Target '{target}' has {len(labels)} classes ({shown}); a logistic regression "
                "needs two. Pass positive=CLASS (CLI: --positive CLASS) to test that class "
                "against the rest."
            )
        label = labels[1] if positive is None else _match_label(labels, positive, target)
        rest = [str(v) for v in labels if v != label]
        how = "the second of the sorted labels" if positive is None else "as asked"
        zero = rest[0] if len(rest) == 1 else "the rest"
        vs = repr(zero) if len(rest) == 1 else f"the rest ({len(rest)} classes)"
        notes.append(f"modelling P({target} = {str(label)!r}) ({how}) against {vs}")
        return family, (label, zero), notes
    if not numeric:
        raise TargetError(
            f"Target '{target}' is not numeric, so family '{family.value}' cannot model it; "
            "use family 'logistic' (with positive=CLASS for several classes)."
        )
    numbers = values.astype("float64")
    if family is Family.POISSON and ((numbers < 0).any() or (numbers != np.round(numbers)).any()):
        raise TargetError(
            f"Target '{target}' has negative or fractional values; family 'poisson' needs "
            "counts (0, 1, 2, ...). Use family 'linear' instead."
        )
    return family, None, notes

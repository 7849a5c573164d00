"""One predictor from several fitted on the same columns: each one's members with its
weight times theirs, each one's calibration kept (its members form one part with its
temperature), and the generated features of all of them computed once.

This is how an ensemble of research experiments becomes an ordinary predictor: every
experiment's predictor was trained on the same rows, so two that generate the same feature
learned the same state, and a member's encoder reads only the columns it was fitted on.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Sequence

import pandas as pd

from assay.automl._predictor import Predictor
from assay.errors import ConfigError


def blend_predictors(
    predictors: Sequence[Predictor], weights: Sequence[float], temperature: float = 1.0
) -> Predictor:
    """A predictor whose prediction is the weighted sum of `predictors`' (weights summing
    to 1), tempered by `temperature` for classification. Raises ConfigError when they
    differ in task, target, columns or classes, or in derived features other than generated
    ones, or when one is a blend already."""
    if not predictors or len(predictors) != len(weights):
        raise ConfigError("blend_predictors: give one weight per predictor, at least one.")
    if any(p.blend_temperature != 1.0 for p in predictors):
        raise ConfigError("blend_predictors: a blend cannot be blended again; blend its parts.")
    first = predictors[0]
    for other in predictors[1:]:
        same = (other.task, other.target, other.classes) == (
            first.task,
            first.target,
            first.classes,
        )
        if not same or _columns(other) != _columns(first):
            raise ConfigError(
                "the predictors to blend were fitted on different columns, targets or "
                f"classes ({_columns(first)} vs {_columns(other)}); blend predictors of one table."
            )
    members: list = []
    temperatures: list[float] = []
    rows: list[pd.DataFrame] = []
    for i, (predictor, weight) in enumerate(zip(predictors, weights, strict=True)):
        offset, first_part = len(members), len(temperatures)
        temperatures += predictor.temperatures  # each keeps its calibration
        for member in predictor.members:
            members.append(
                dataclasses.replace(
                    member,
                    weight=member.weight * float(weight),
                    inputs=[j + offset for j in member.inputs],
                    part=member.part + first_part,
                )
            )
        board = predictor.leaderboard()
        if "weight" in board:
            board["weight"] = board["weight"] * float(weight)
        rows.append(board.assign(part=i))
    return Predictor(
        task=first.task,
        target=first.target,
        metric=first.metric,
        schema=first.schema,
        classes=first.classes,
        members=members,
        leaderboard=pd.concat(rows, ignore_index=True),
        info={"blend": [float(w) for w in weights]},
        derived=_merged_derived([p.derived for p in predictors]),
        train_rows=first.train_rows,
        temperatures=temperatures,
        blend_temperature=temperature,
    )


def _columns(predictor: Predictor) -> list[tuple[str, str]]:
    return [(c.name, c.type.value) for c in predictor.schema.columns]


def _merged_derived(parts: list):
    """One DerivedFeatures giving every part's columns: the generated features of all of
    them (by name, each computed once), the rest (text, pairs, dates) the same in each."""
    present = [d for d in parts if d is not None]
    if not present:
        return None

    def fixed(derived) -> list[str]:
        return [c for c in derived.columns_ if c not in derived.generated_columns_]

    base = max(present, key=lambda d: len(fixed(d)))
    for derived in present:
        if fixed(derived) and fixed(derived) != fixed(base):
            raise ConfigError(
                "the predictors derived different text or date features "
                f"({fixed(derived)} vs {fixed(base)}); export them one at a time."
            )
    merged = copy.copy(base)
    specs: dict = {}
    state: dict = {}
    for derived in present:
        for spec in derived.generated:
            specs.setdefault(spec.name, spec)
            state.setdefault(spec.name, derived.generated_.state_[spec.name])
    merged.generated = list(specs.values())
    merged.generated_columns_ = list(
        dict.fromkeys(c for d in present for c in d.generated_columns_)
    )
    if merged.generated:
        from assay.features import GeneratedFeatures

        merged.generated_ = GeneratedFeatures(merged.generated, base.task)
        merged.generated_.state_ = state
    merged.columns_ = fixed(base) + merged.generated_columns_
    return merged

"""Fast deployment: refit each ensemble member's config once on all the data, so a
prediction runs one model per member instead of one per fold.

Boosters train for the mean number of rounds their fold models kept (early stopping needs a
validation set, and all the data is training data now). A member whose refit would not
finish before the deadline stays bagged: the predictor may mix both kinds.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import numpy as np

from assay.automl._checkpoint import load_member
from assay.automl._context import FitContext
from assay.automl._member import Member
from assay.features import TabularEncoder
from assay.log import get_logger

if TYPE_CHECKING:
    from assay.models import Model

logger = get_logger(__name__)
REFIT_SLACK = 1.3  # a refit sees k/(k-1) of a fold's rows; allow for that and for noise


def refit_config(member: Member) -> dict:
    """The member's config with boosters' round counts fixed from their fold models."""
    config = dict(member.config)
    if member.fold_rounds:
        config["n_estimators"] = max(1, round(float(np.mean(member.fold_rounds))))
    return config


def refit_members(
    members: list[Member],
    models: dict[str, type[Model]],
    ctx: FitContext,
    deadline: float,
) -> int:
    """Replace members' fold models by one model fitted on all rows, in place, while the
    estimated refit time (a fold's fit time, with slack) fits before `deadline`. Members
    are refitted heaviest weight first; a member's fold models are read from its checkpoint
    only when it stays bagged. Returns how many were refitted."""
    n_refit = 0
    for member in sorted(members, key=lambda m: -m.weight):
        if len(member.models) == 1:  # fitted on all rows already (out of bag)
            continue
        time_left = deadline - time.monotonic()
        if member.fold_fit_s * REFIT_SLACK > time_left:
            logger.info("%s stays bagged: refit needs ~%.1fs", member.model, member.fold_fit_s)
            load_member(member)
            continue
        cls = models[member.model]
        encoder = TabularEncoder(cls.encoding, ctx.types)
        X = encoder.fit_transform(ctx.X)
        model = cls(
            task=ctx.task,
            n_jobs=ctx.n_jobs,
            random_state=ctx.random_state,
            **refit_config(member),
        )
        model.fit(X, ctx.y, time_limit_s=time_left, sample_weight=ctx.w)
        member.encoders, member.models, member.checkpoint = [encoder], [model], None
        n_refit += 1
    return n_refit

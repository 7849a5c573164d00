"""Fast deployment: refit each ensemble member's config once on all the data, so a
prediction runs one model per member instead of one per fold; `deploy_for` picks it by the
training rows (deploy="auto").

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
# deploy="auto" refits on all rows from this many training rows on (deploy_for)
REFIT_FROM_ROWS = 4_000


def deploy_for(deploy: str, n_rows: int, has_media: bool, grouped: bool = False) -> str:
    """The deployment a fit makes: `deploy` as given, or for "auto" fast (each member
    refitted once on all rows) from `REFIT_FROM_ROWS` training rows on and bagged below;
    for images and sound bagged (a network's refit is a whole training again) unless the
    rows come in groups, and then fast.

    Grouped media: each fold model never saw the groups of its fold (a speaker's voice, a
    person's hands), and a refit sees them all. FSDD with one speaker held out (nicolas)
    and the other four as groups, 600 s: the first sound network scored 0.630 on the held-out
    speaker as three fold models and 0.714 refitted on all four speakers; a fold model of
    3 grouped folds saw two or three of the four.

    Learned on tabular_design at 60 s, one split each (benchmarks/results/
    deploy_by_rows_60s_defaults.md): refitted against bagged, the 16 datasets of 6,499 to
    54,045 training rows came out 12 better, 3 worse (letter logloss 0.0995 -> 0.0907,
    krkopt 0.436 -> 0.418, kin8nm rmse 0.0847 -> 0.0737); the 13 of 2,548 to 5,760 rows
    5 better, 7 worse, and all four under 4,000 worse. A fold model of 3 or 5 folds sees 67
    to 80% of the rows; one model on all of them, at the fold models' mean rounds, beats
    their average where more rows still help, for about one fold's fit. Refitting from
    3,000 to 6,000 rows on scored alike (0.9983-0.9984 normalized, against 0.9960 never
    and 0.9981 always); of the two with the highest mean, 4,000 lost on fewer (6 to 7).
    """
    if deploy != "auto":
        return deploy
    if has_media:
        return "fast" if grouped else "bagged"
    return "fast" if n_rows >= REFIT_FROM_ROWS else "bagged"


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
        if len(member.models) == 1:  # on all rows out of bag, or a one-fold family's model
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

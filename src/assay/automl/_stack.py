"""One stacking layer, fitted only when a held-out check says it helps (dynamic stacking).

Level-2 models see the raw features plus the out-of-fold (OOF) predictions of a few strong
level-1 configs, the "bases". Their own OOF score is optimistic: a base's OOF value on a
training row comes from a fold model that saw the level-2 validation rows, so level 2 can
learn to trust its inputs more than it should ("stacked overfitting").

The check therefore uses rows that none of the models it compares has seen: the validation
rows H of fold 0. The bases are cross-fitted again on the other folds only (their inner
OOF); level-2 configs are cross-fitted on those rows with the inner OOF as extra features;
both ensembles, Caruana over the bases and Caruana over bases plus level 2, are then scored
on H, where a base's prediction is its fold-0 model's (trained without H). The stack is fit
on all rows only when bases plus level 2 score better on H, and do so in at least
`MIN_CONFIDENCE` of bootstrap resamples of H: on random labels a level 2 that scored 0.5207
AUC against 0.5199 on 75 rows of H passed a plain comparison, and its own OOF score, 0.68,
then led the ensemble.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from assay._types import FeatureType, TrialSource, TrialState
from assay.automl._context import FitContext, is_one_fold
from assay.automl._member import STACK_PREFIX, stack_features
from assay.ensemble import CaruanaEnsemble
from assay.evaluate import TrialPruned, TrialTimeout, predict_bagged
from assay.evaluate._cv import safe_score
from assay.log import get_logger
from assay.models import MODELS
from assay.search import Candidate

if TYPE_CHECKING:
    from assay.automl._trial_loop import TrialLoop

logger = get_logger(__name__)
MAX_BASES = 4
MAX_LEVEL2 = 2
ESTIMATE_SLACK = 1.3
MIN_CONFIDENCE = 0.9  # share of bootstrap resamples of H where level 2 must score better
N_RESAMPLES = 200


@dataclass
class StackDecision:
    """What the held-out check found, kept in the predictor's info."""

    used: bool
    reason: str
    holdout_rows: int = 0
    holdout_level1: float = float("nan")  # score of Caruana over the bases on H
    holdout_level2: float = float("nan")  # score of Caruana over bases + level 2 on H
    confidence: float = float("nan")  # share of resamples of H where level 2 scored better
    check_s: float = 0.0

    def to_dict(self) -> dict:
        return {
            k: (None if isinstance(v, float) and np.isnan(v) else v)
            for k, v in asdict(self).items()
        }


def stack_types(types: dict[str, FeatureType], X2: pd.DataFrame) -> dict[str, FeatureType]:
    extra = {c: FeatureType.NUMERIC for c in X2.columns if str(c).startswith(STACK_PREFIX)}
    return {**types, **extra}


def _best_per_family(outcomes: list) -> list:
    """The first outcome of each family, in the given order."""
    firsts: dict[str, object] = {}
    for o in outcomes:
        firsts.setdefault(o.candidate.model, o)
    return list(firsts.values())


def choose_bases(outcomes: list, metric) -> list:
    """The best finished trial of each family, then the next best, up to MAX_BASES; not a
    one-fold family's (`Model.one_fold`): its predictions cover one fold's rows."""
    done = sorted(
        (
            o
            for o in outcomes
            if o.state is TrialState.COMPLETE and o.has_models and not is_one_fold(o)
        ),
        key=lambda o: metric.loss(o.score),
    )
    bases = _best_per_family(done)
    chosen = {id(o) for o in bases}
    return (bases + [o for o in done if id(o) not in chosen])[:MAX_BASES]


def _stacks(family: str) -> bool:
    model = MODELS.get(family)
    return model is None or model.stacker


def level2_candidates(bases: list) -> list[Candidate]:
    """Level 2 reuses the configs of the best bases, one per family whose models may
    stack (not kNN: `Model.stacker`), at most MAX_LEVEL2."""
    stackers = [b for b in _best_per_family(bases) if _stacks(b.candidate.model)]
    return [
        Candidate(b.candidate.model, dict(b.candidate.config), TrialSource.STACK)
        for b in stackers[:MAX_LEVEL2]
    ]


def _fold_s(base) -> float:
    return base.fit.fit_time_s / max(len(base.fit.fold_scores), 1)


def estimate_check_s(bases: list, candidates: list[Candidate], n_folds: int) -> float:
    """The check refits every base on k-1 folds and each level-2 config on k-1 folds; the
    full stack costs level 2's k folds again. Level 2's fold time is its family's best
    base's."""
    family_fold_s: dict[str, float] = {}
    for base in bases:
        family_fold_s.setdefault(base.candidate.model, _fold_s(base))
    level2_s = sum(family_fold_s[c.model] for c in candidates) * (2 * n_folds - 1)
    return ESTIMATE_SLACK * (sum(map(_fold_s, bases)) * (n_folds - 1) + level2_s)


def fit_to_time(
    bases: list, n_folds: int, time_left_s: float
) -> tuple[list, list[Candidate]] | None:
    """The bases and level-2 configs whose check and stack fit in `time_left_s`: the usual
    ones (`level2_candidates`) when they fit; else one level-2 config (the cheaper of the
    two, then the cheapest family's), then fewer bases, the costliest first, never the
    best one or the level-2 config's own (at least two). None when even that does not
    fit. Level 2 costs 2k-1 fold fits of its family: with a slow family there (an MLP, a
    deep CatBoost) it is most of the estimate; a cheap one over fewer bases still lets
    the held-out check decide."""
    candidates = level2_candidates(bases)
    if not candidates:
        return None
    if estimate_check_s(bases, candidates, n_folds) <= time_left_s:
        return bases, candidates
    by_family = {b.candidate.model: b for b in _best_per_family(bases)}
    cost = {model: _fold_s(base) for model, base in by_family.items() if _stacks(model)}
    for model in [
        min(candidates, key=lambda c: cost[c.model]).model,
        min(cost, key=lambda model: cost[model]),
    ]:
        base = by_family[model]
        level2 = [Candidate(model, dict(base.candidate.config), TrialSource.STACK)]
        kept = list(bases)
        while estimate_check_s(kept, level2, n_folds) > time_left_s and len(kept) > 2:
            kept.remove(max((b for b in kept[1:] if b is not base), key=_fold_s))
        if estimate_check_s(kept, level2, n_folds) <= time_left_s:
            return kept, level2
    return None


def _inner_folds(folds: list, n_rows: int) -> tuple[np.ndarray, np.ndarray, list]:
    """H (fold 0's validation rows), the other rows, and folds 1..k-1 as positions in them."""
    holdout = np.sort(folds[0][1])
    rest = np.setdiff1d(np.arange(n_rows), holdout)
    position = np.full(n_rows, -1)
    position[rest] = np.arange(len(rest))
    inner = [(position[np.setdiff1d(rest, valid)], position[valid]) for _, valid in folds[1:]]
    return holdout, rest, inner


def holdout_predictions(
    metric,
    y_inner: np.ndarray,
    level1: list[tuple[np.ndarray, np.ndarray]],
    level2: list[tuple[np.ndarray, np.ndarray]],
    w_inner: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Each model is (inner OOF, holdout prediction). Caruana weights are chosen on the
    inner OOF (under row weights `w_inner`); the ensembles' predictions on the holdout:
    (level 1 only, level 1 + level 2)."""
    predictions = []
    for group in (level1, level1 + level2):
        inner_oof = [inner for inner, _ in group]
        ensemble = CaruanaEnsemble(metric).fit(inner_oof, y_inner, w=w_inner)
        predictions.append(ensemble.predict([h for _, h in group]))
    return predictions[0], predictions[1]


def holdout_scores(
    metric,
    y_inner: np.ndarray,
    y_holdout: np.ndarray,
    level1: list[tuple[np.ndarray, np.ndarray]],
    level2: list[tuple[np.ndarray, np.ndarray]],
) -> tuple[float, float]:
    """The holdout scores of (level 1 only, level 1 + level 2); see holdout_predictions."""
    one, two = holdout_predictions(metric, y_inner, level1, level2)
    return safe_score(metric, y_holdout, one), safe_score(metric, y_holdout, two)


def level2_confidence(
    metric,
    y_holdout: np.ndarray,
    one: np.ndarray,
    two: np.ndarray,
    random_state: int = 0,
    w: np.ndarray | None = None,
) -> float:
    """The share of bootstrap resamples of the holdout rows on which level 1 + level 2 (`two`)
    scores strictly better than level 1 alone (`one`), under row weights `w`; a resample
    either cannot score counts against level 2."""
    rng = np.random.default_rng(random_state)
    n, better = len(y_holdout), 0
    for _ in range(N_RESAMPLES):
        rows = rng.integers(0, n, n)
        w_rows = None if w is None else w[rows]
        loss_one = metric.loss(safe_score(metric, y_holdout[rows], one[rows], w_rows))
        loss_two = metric.loss(safe_score(metric, y_holdout[rows], two[rows], w_rows))
        better += bool(np.isfinite(loss_two) and loss_two < loss_one)
    return better / N_RESAMPLES


def check_stack(
    bases: list, candidates: list[Candidate], models: dict[str, type], ctx: FitContext
) -> StackDecision:
    """The held-out check described in the module docstring, within `ctx.deadline`."""
    started = time.monotonic()
    metric, y, X = ctx.metric, ctx.y, ctx.X
    holdout, rest, inner = _inner_folds(ctx.folds, len(y))
    X_rest, X_hold = X.iloc[rest], X.iloc[holdout]
    w = ctx.w
    w_rest, w_hold = (None, None) if w is None else (w[rest], w[holdout])
    inner_ctx = ctx.replace(X=X_rest, y=y[rest], folds=inner, w=w_rest, fold_columns=None)
    try:
        level1 = []
        for base in bases:
            fit = inner_ctx.cross_fit(models[base.candidate.model], base.candidate.config)
            level1.append((fit.oof, base.fit.oof[holdout]))
        X2_rest = stack_features(X_rest, [inner_oof for inner_oof, _ in level1])
        X2_hold = stack_features(X_hold, [hold for _, hold in level1])
        level2_ctx = inner_ctx.replace(X=X2_rest, types=stack_types(ctx.types, X2_rest))
        level2 = []
        for candidate in candidates:
            fit = level2_ctx.cross_fit(models[candidate.model], candidate.config)
            level2.append(
                (
                    fit.oof,
                    predict_bagged(fit.encoders, fit.models, X2_hold, ctx.task, ctx.n_classes),
                )
            )
    except (TrialTimeout, TrialPruned) as exc:
        return StackDecision(False, f"check ran out of time ({exc})", len(holdout))
    except Exception as exc:  # a failing check must not end the run: no stack
        logger.warning("stacking check failed: %s", exc)
        return StackDecision(False, f"check failed: {type(exc).__name__}: {exc}", len(holdout))
    pred_one, pred_two = holdout_predictions(metric, y[rest], level1, level2, w_rest)
    y_hold = y[holdout]
    one = safe_score(metric, y_hold, pred_one, w_hold)
    two = safe_score(metric, y_hold, pred_two, w_hold)
    confidence = 0.0
    if np.isfinite(two) and metric.loss(two) < metric.loss(one):
        confidence = level2_confidence(metric, y_hold, pred_one, pred_two, ctx.random_state, w_hold)
    helps = confidence >= MIN_CONFIDENCE
    if helps:
        reason = "level 2 scored better on the held-out rows"
    elif confidence > 0:
        reason = (
            "level 2 did not score better on the held-out rows beyond their noise (better "
            f"in {confidence:.0%} of {N_RESAMPLES} resamples, needs {MIN_CONFIDENCE:.0%})"
        )
    else:
        reason = "level 2 did not score better on the held-out rows"
    return StackDecision(
        helps, reason, len(holdout), float(one), float(two), confidence,
        time.monotonic() - started,
    )  # fmt: skip


def level2_context(bases: list, ctx: FitContext) -> FitContext:
    """The trial context for level-2 configs on all rows: X plus the bases' full OOF."""
    X2 = stack_features(ctx.X, [b.fit.oof for b in bases])
    return ctx.replace(X=X2, types=stack_types(ctx.types, X2))


@dataclass
class Stack:
    """The stacking layer of a fit: the decision, the bases, the level-2 trials fitted on
    all rows and their context (the bases' OOF predictions as extra columns)."""

    decision: StackDecision
    bases: list = field(default_factory=list)
    level2: list = field(default_factory=list)
    ctx: FitContext | None = None

    @classmethod
    def not_used(cls, decision: StackDecision | str) -> Stack:
        if isinstance(decision, str):
            decision = StackDecision(False, decision)
        return cls(decision)


def fit_stack(loop: TrialLoop, mode: str, time_left_s: float) -> Stack:
    """Decide on a stacking layer with the held-out check, and fit it when it helps: its
    level-2 trials are added to the loop's outcomes."""
    if mode == "off":
        return Stack.not_used("stack='off'")
    ctx = loop.ctx
    if ctx.n_folds < 3:
        return Stack.not_used(f"needs 3 or more folds, not {ctx.n_folds}")
    if len(ctx.scored_rows) < ctx.n_rows:
        return Stack.not_used("a time split leaves its earliest rows without out-of-fold "
                              "predictions for level 2 to learn from")  # fmt: skip
    bases = choose_bases(loop.outcomes, ctx.metric)
    if not bases:
        return Stack.not_used("no finished level-1 model")
    if not level2_candidates(bases):
        return Stack.not_used("no finished model of a family that can be a level 2 (kNN cannot)")
    fitted = fit_to_time(bases, ctx.n_folds, time_left_s)
    if fitted is None:
        estimate = estimate_check_s(bases, level2_candidates(bases), ctx.n_folds)
        reason = f"the check and the stack need ~{estimate:.0f}s, {max(time_left_s, 0):.0f}s left"
        return Stack.not_used(reason)
    n_usual = len(bases)
    narrowed = fitted != (bases, level2_candidates(bases))
    bases, candidates = fitted
    decision = check_stack(bases, candidates, loop.models, ctx)
    if narrowed:
        decision.reason += (
            f" (to fit the {time_left_s:.0f}s left: {len(bases)} of {n_usual} bases, "
            f"level 2 {', '.join(c.model for c in candidates)})"
        )
    logger.info("stacking: %s", decision.reason)
    if not decision.used:
        return Stack.not_used(decision)
    loop.protected = tuple(id(b) for b in bases)
    ctx2 = level2_context(bases, ctx)
    level2 = [
        outcome
        for candidate in candidates
        if (outcome := loop.run_here(candidate, ctx2)).state is TrialState.COMPLETE
    ]
    if not level2:
        decision.used, decision.reason = False, "no level-2 model finished on all rows"
        return Stack.not_used(decision)
    return Stack(decision, bases, level2, ctx2)

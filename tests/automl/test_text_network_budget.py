"""The fine-tuned encoder under a time limit: a fit cut short by its deadline learns next to
nothing (one epoch of MRPC's pairs scored about the share of its larger class), so a trial of
it estimated beyond the time one config may take is skipped, not started. Too costly to fit
once per fold, it fits the first fold alone (`Model.one_fold`), and the ensemble blends it in
on that fold's rows."""

from __future__ import annotations

import math

import numpy as np
import pytest

from assay._types import FeatureType, SkipReason, Task, TrialSource, TrialState
from assay.automl._context import FitContext
from assay.automl._policy import MemoryGuard
from assay.automl._trial_loop import Recorder, TrialLoop
from assay.evaluate import get_metric, make_folds
from assay.execute._executors import LocalExecutor
from assay.models import MODELS
from assay.search import Budget, Candidate, Searcher
from assay.testing import toy_paraphrases

pytestmark = pytest.mark.skipif("minilm" not in MODELS, reason="needs the `text` and `nn` extras")


def _loop(n_rows: int, time_limit_s: float) -> TrialLoop:
    frame = toy_paraphrases(n_rows)
    X, y = frame[["sentence1", "sentence2"]], frame["label"].to_numpy()
    ctx = FitContext(
        X, y, dict.fromkeys(X.columns, FeatureType.TEXT), make_folds(y, Task.BINARY, 3, 0),
        Task.BINARY, get_metric(None, Task.BINARY), n_classes=2, n_jobs=1, random_state=0,
    )  # fmt: skip
    models = {name: MODELS[name] for name in ("linear", "minilm")}
    return TrialLoop(
        ctx,
        models,
        Searcher(models, ctx.task, ctx.n_rows, ctx.n_features),
        MemoryGuard(10_000, ctx.n_rows, ctx.n_features, ctx.n_folds, ctx.fits_per_trial),
        Budget(time_limit_s),
        LocalExecutor(),
        Recorder(),
    )


def test_a_text_network_beyond_its_share_of_the_time_is_skipped_not_cut_short():
    loop = _loop(3_000, 600)
    config = MODELS["minilm"].default_configs(Task.BINARY)[0]
    candidate = Candidate("minilm", config, TrialSource.PORTFOLIO)
    # at the machine's pace as estimated (an observed trial that took its estimate), one
    # fold's three epochs need more than a third of the trial time but less than all
    linear = MODELS["linear"]
    loop.costs.observe(linear, {}, loop.ctx, loop.costs.estimate_s(linear, {}, loop.ctx))
    estimate = loop.costs.estimate_s(MODELS["minilm"], config, loop.ctx)
    window = loop.budget.trial_deadline - loop.budget.started
    assert 0.35 * window < estimate < loop.budget.trial_time_left_s()
    assert loop._start(candidate) is None
    (skipped,) = loop.outcomes
    assert skipped.state is TrialState.SKIPPED and skipped.skipped_for is SkipReason.TIME
    assert "one config may take" in skipped.error


def test_a_text_network_within_its_share_of_the_time_starts():
    loop = _loop(60, 600)
    config = {**MODELS["minilm"].default_configs(Task.BINARY)[0], "n_estimators": 1}
    started = loop._start(Candidate("minilm", config, TrialSource.PORTFOLIO))
    assert started is not None and not loop.outcomes
    _, _, future = started
    outcome = future.result()
    assert math.isfinite(outcome.loss_score)
    # one model, on the first fold: its predictions cover that fold's rows, and no others
    assert len(outcome.fit.models) == 1
    predicted = np.isfinite(outcome.fit.oof).all(axis=1)
    assert np.array_equal(np.flatnonzero(predicted), np.sort(loop.ctx.folds[0][1]))
    assert outcome.score == pytest.approx(outcome.fit.fold_scores[0])


def test_a_text_network_is_skipped_even_when_the_other_trials_ran_four_times_faster():
    # on MRPC the boosters took a quarter of their estimates; borrowed, that pace would
    # put one fold of the encoder at about 100 s where it took 360 s
    loop = _loop(3_000, 600)
    config = MODELS["minilm"].default_configs(Task.BINARY)[0]
    linear = MODELS["linear"]
    loop.costs.observe(linear, {}, loop.ctx, 0.25 * loop.costs.estimate_s(linear, {}, loop.ctx))
    cap_s = 0.35 * (loop.budget.trial_deadline - loop.budget.started)
    assert loop.costs.estimate_s(MODELS["minilm"], config, loop.ctx) < cap_s  # borrowed pace
    assert loop.costs.cautious_estimate_s(MODELS["minilm"], config, loop.ctx) > cap_s
    assert loop._start(Candidate("minilm", config, TrialSource.PORTFOLIO)) is None
    (skipped,) = loop.outcomes
    assert skipped.state is TrialState.SKIPPED and skipped.skipped_for is SkipReason.TIME

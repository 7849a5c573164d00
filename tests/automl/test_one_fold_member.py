"""A family too costly to fit once per fold (`Model.one_fold`: the fine-tuned encoder) fits
the first fold alone; the ensemble is chosen over the bagged trials on every row, then
blended with the one-fold trial on the rows it predicts."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from assay import AutoML, load
from assay._types import Task, TrialState
from assay.automl._assemble import _blend_one_fold
from assay.automl._policy import release_outside_top
from assay.evaluate import get_metric
from assay.models import MODELS
from assay.testing import toy_paraphrases


def _trial(model: str, oof: np.ndarray) -> SimpleNamespace:
    return SimpleNamespace(candidate=SimpleNamespace(model=model), fit=SimpleNamespace(oof=oof))


def test_the_one_fold_member_is_blended_in_on_its_rows_and_shares_the_weight():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 600)
    noisy = np.clip(0.5 + 0.15 * (2 * y - 1) + rng.normal(0, 0.3, 600), 0, 1)
    ensemble = np.column_stack([1 - noisy, noisy])
    held = np.sort(rng.permutation(600)[:150])
    sharp = np.full((600, 2), np.nan)
    p = np.clip(0.5 + 0.3 * (2 * y[held] - 1) + rng.normal(0, 0.2, len(held)), 0, 1)
    sharp[held] = np.column_stack([1 - p, p])
    bagged = [object(), object()]
    weight = {id(bagged[0]): 0.75, id(bagged[1]): 0.25}
    member = _trial("minilm", sharp)
    metric = get_metric(None, Task.BINARY)

    blended, blend = _blend_one_fold(
        metric, y, np.arange(600), None, ensemble, [member], weight, deadline=None
    )

    assert blend["rows"] == 150 and blend["members"] == ["minilm"]
    assert 0 < blend["ensemble_weight"] < 1  # both have something to give
    assert blend["with"] > blend["without"]
    # the bagged weights scaled by the ensemble's share, the member's the rest: they sum to 1
    assert weight[id(bagged[0])] == pytest.approx(0.75 * blend["ensemble_weight"])
    assert weight[id(member)] == pytest.approx(1 - blend["ensemble_weight"])
    assert sum(weight.values()) == pytest.approx(1.0)
    # only the member's rows change, to the weighted mean of both
    others = np.setdiff1d(np.arange(600), held)
    assert np.array_equal(blended[others], ensemble[others])
    share = blend["ensemble_weight"]
    expected = share * ensemble[held] + (1 - share) * sharp[held]
    assert np.allclose(blended[held], expected)


def _finished(model: str, score: float) -> SimpleNamespace:
    fit = SimpleNamespace(models=["fold model"], encoders=["encoder"], oof=np.zeros(4))
    return SimpleNamespace(
        candidate=SimpleNamespace(model=model), state=TrialState.COMPLETE, score=score,
        fit=fit, saved_in=None, has_models=True,
    )  # fmt: skip


def test_a_one_fold_trial_is_not_ranked_out_of_the_ensembles_candidates():
    # scored on its fold alone, the fine-tuned encoder's trial is blended in apart from the
    # ranked ones: below as many better-scored trials as the ensemble takes, it stays
    outcomes = [_finished("linear", 0.9), _finished("linear", 0.8), _finished("minilm", 0.7)]
    release_outside_top(outcomes, get_metric(None, Task.BINARY), keep=1)
    best, second, tuned = outcomes
    assert best.fit.models and best.fit.oof is not None
    assert not second.fit.models and second.fit.oof is None  # ranked out
    assert tuned.fit.models and tuned.fit.oof is not None


@pytest.mark.skipif("minilm" not in MODELS, reason="needs the `text` and `nn` extras")
def test_a_fit_scores_the_fine_tuned_encoder_on_one_fold_and_blends_it_there(tmp_path):
    frame = toy_paraphrases(120)
    auto = AutoML(models=["linear", "minilm"], n_trials=4, n_folds=3, store=False)
    auto.fit(frame, "label")
    predictor = auto.predictor_

    board = predictor.leaderboard()
    tuned = board[board["model"] == "minilm"]
    assert len(tuned) == 1  # the trial finished, scored on its fold alone
    assert np.isfinite(tuned["score"].iloc[0]) and np.isnan(tuned["fold_std"].iloc[0])
    blend = predictor.info["one_fold_blend"]
    assert blend["members"] == ["minilm"] and blend["rows"] == 40  # a third of 120 rows
    assert not np.isnan(auto.oof_).any()  # the ensemble predicts every row
    assert sum(m.weight for m in predictor.members) == pytest.approx(1.0)

    predictor.save(tmp_path / "predictor")
    again = load(tmp_path / "predictor")
    rows = frame.drop(columns="label").head(8)
    assert again.predict(rows).tolist() == predictor.predict(rows).tolist()

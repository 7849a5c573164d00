"""Leakage canaries: labels with nothing to learn must score at chance, in `fit` and in the
research loop; a column that copies the target, an id handed out in target order, and rows
shared between training and test data must each be flagged by name."""

from __future__ import annotations

import logging
import math
import os
import subprocess
import sys

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

import assay
from assay.automl import AutoML
from assay.research import holdout_scores, init_research, research_status

SECTION = "leakage"
RESEARCH_RUN = [sys.executable, "-m", "assay", "research", "run"]


def noise(n: int, seed: int) -> pd.DataFrame:
    """Features and labels drawn independently: nothing can be learned."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.normal(size=(n, 6)), columns=[f"x{i}" for i in range(6)])
    frame["c"] = rng.choice(["a", "b", "c", "d"], n)
    frame["y"] = np.where(rng.random(n) < 0.5, "yes", "no")
    return frame


def signal(n: int = 300, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.normal(size=(n, 3)), columns=["a", "b", "c"])
    frame["y"] = np.where(frame.a + 0.5 * rng.normal(size=n) > 0, "yes", "no")
    return frame


def auc_se(y) -> float:
    """The spread of an AUC when nothing is learnable (Hanley & McNeil under H0)."""
    n1 = int(np.sum(y == "yes"))
    n0 = len(y) - n1
    return math.sqrt((n1 + n0 + 1) / (12 * n1 * n0))


def warnings_of(model: AutoML) -> list[str]:
    return list(model._fitted().info["warnings"])


def test_random_labels_score_at_chance_in_fit(reliability):
    train, test = noise(600, seed=1), noise(600, seed=2)
    model = AutoML(models=["lightgbm", "linear"], n_trials=4, store=False).fit(train, "y")
    cv_auc = model._fitted().info["ensemble_score"]
    proba = model.predict_proba(test.drop(columns="y"))["yes"]
    test_auc = roc_auc_score(test.y == "yes", proba)
    se = auc_se(train.y)
    assert abs(cv_auc - 0.5) < 4 * se and abs(test_auc - 0.5) < 4 * se, (cv_auc, test_auc, se)
    reliability.record(
        "random labels in `fit` (600 rows, lightgbm + linear, 4 trials)",
        "AUC at chance (within 4 SE of 0.5)",
        f"cross-validated AUC {cv_auc:.3f}, fresh test AUC {test_auc:.3f}",
        f"SE of the AUC under no signal: {se:.3f}",
    )


def test_random_labels_in_the_research_loop_score_at_chance(tmp_path, reliability):
    data = tmp_path / "random.csv"
    noise(500, seed=5).to_csv(data, index=False)
    ws = tmp_path / "ws"
    init_research(str(data), "y", ws, holdout=0.4, valid=0.2, budget_per_exp_s=4)
    run = subprocess.run(
        [*RESEARCH_RUN, str(ws), "--max-exp", "3", "--noise-seeds", "2", "--seed", "1"],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        timeout=400,
    )
    assert run.returncode == 0, run.stderr
    state = research_status(ws)
    assert sum(r.status != "ensemble" for r in state.records) == 4  # baseline + 3
    rows = {row.label: row for row in holdout_scores(state, ws)}  # cached by the run
    holdout = pd.read_csv(state.harness.folder / "holdout.csv")
    se = auc_se(holdout.y.astype(str).to_numpy())
    for row in rows.values():  # a leak of labels would show here at once
        assert abs(row.holdout_score - 0.5) < 4 * se, row
    gain = rows["best"].holdout_score - rows["baseline"].holdout_score if "best" in rows else 0.0
    # a kept "improvement" on noise must not be confirmed by the holdout
    assert gain <= state.noise_floor + 3 * math.sqrt(2) * se, (gain, state.noise_floor)
    scores = ", ".join(f"{k} {v.holdout_score:.3f}" for k, v in rows.items())
    reliability.record(
        "random labels in `assay research run` (500 rows, 3 experiments)",
        "holdout AUC at chance; no confirmed gain",
        f"holdout AUC: {scores}; kept {sum(r.status == 'keep' for r in state.records)}",
        f"SE {se:.3f}, noise floor {state.noise_floor:.3f}, holdout gain {gain:+.3f}",
    )


def test_a_column_copying_the_target_is_flagged(tmp_path, reliability):
    frame = signal().assign(answer=lambda f: f.y.map({"yes": "Y", "no": "N"}))
    said = [
        w
        for w in warnings_of(AutoML(models=["linear"], n_trials=1, store=False).fit(frame, "y"))
        if "'answer'" in w
    ]
    assert said and "gives the target 'y' away" in said[0]
    path = tmp_path / "leaky.csv"
    frame.to_csv(path, index=False)
    harness = init_research(str(path), "y", tmp_path / "ws", budget_per_exp_s=3)
    in_research = [w for w in harness.spec["leakage"] if "'answer'" in w]
    assert in_research
    reliability.record(
        "a column that copies the target (relabelled)",
        "flagged by name in `fit` and `research init`",
        "flagged in both",
        said[0],
    )


def test_an_id_numbered_in_target_order_is_flagged(reliability):
    frame = signal(seed=3).sort_values("y").reset_index(drop=True)
    frame["row_id"] = np.arange(len(frame))  # an identifier: not used, but it tells
    frame["ticket"] = np.arange(len(frame)) * 3 + 100  # not named as one: a feature
    warnings = warnings_of(AutoML(models=["linear"], n_trials=1, store=False).fit(frame, "y"))
    by_id = [w for w in warnings if "'row_id'" in w]
    by_ticket = [w for w in warnings if "'ticket'" in w]
    assert by_id and "Identifier column 'row_id'" in by_id[0] and "target order" in by_id[0]
    assert by_ticket and "gives the target 'y' away" in by_ticket[0]
    reliability.record(
        "an id that encodes the row order of the target",
        "flagged by name (as an identifier, and as a numeric feature)",
        "both flagged",
        by_id[0],
    )


def test_no_false_alarm_on_clean_data(reliability):
    frame = signal(n=500, seed=4)
    warnings = warnings_of(AutoML(models=["linear"], n_trials=1, store=False).fit(frame, "y"))
    assert not [w for w in warnings if "away" in w or "repeat" in w or "encodes" in w]
    reliability.record(
        "clean data (one informative column, two noise columns)",
        "no leakage warning",
        f"{len(warnings)} warnings",
        "; ".join(warnings) or "none",
    )


def test_training_rows_repeated_in_the_research_validation_and_holdout_are_flagged(
    tmp_path, reliability
):
    frame = signal(n=200, seed=6)
    path = tmp_path / "twice.csv"
    pd.concat([frame, frame]).to_csv(path, index=False)  # every row twice
    harness = init_research(str(path), "y", tmp_path / "ws", budget_per_exp_s=3)
    leakage = harness.spec["leakage"]
    shared = [w for w in leakage if "have the same features as a training row" in w]
    assert len(shared) == 2 and "holdout" in shared[1]
    reliability.record(
        "rows shared by the training part and the validation/holdout parts (research)",
        "flagged with counts",
        f"{len(shared)} parts flagged",
        shared[1],
    )


def test_rows_to_predict_that_were_training_rows_are_flagged(tmp_path, caplog, reliability):
    frame = signal(n=300, seed=7)
    model = AutoML(models=["linear"], n_trials=1, store=False).fit(frame, "y")
    test = pd.concat([frame.head(40), signal(n=60, seed=8)]).drop(columns="y")
    assert model._fitted().training_overlap(test) == 40
    loaded = assay.load(model.save(tmp_path / "predictor"))  # the fingerprints are saved
    assert loaded.training_overlap(signal(n=50, seed=9)) == 0
    with caplog.at_level(logging.WARNING, logger="assay"):
        loaded.predict(test)
    said = [r.getMessage() for r in caplog.records if "same features as training" in r.getMessage()]
    assert said and said[0].startswith("40 of the 100 rows to predict")
    reliability.record(
        "rows to predict that were training rows (40 of 100)",
        "flagged with the count at predict time, also after save and load",
        f"{loaded.training_overlap(test)} rows flagged",
        said[0],
    )

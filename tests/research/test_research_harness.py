"""The frozen harness: it runs candidates in the sandbox, scores only well-formed
prediction files, and scores the holdout on request."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from research_helpers import FAST_PIPELINE, with_config

from assay.execute import InvalidOutput, OutcomeStatus
from assay.research import init_research, read_config, write_config
from assay.research._init import template


@pytest.fixture
def harness(tmp_path, toy_csv):
    return init_research(str(toy_csv), "y", tmp_path / "ws", budget_per_exp_s=4)


def _write(folder, frame: pd.DataFrame):
    folder.mkdir(exist_ok=True)
    frame.to_csv(folder / "predictions.csv", index=False)
    return folder


def _good(harness) -> pd.DataFrame:
    rows = harness.valid_labels().index.to_numpy()
    rng = np.random.default_rng(0)
    p = rng.random(len(rows))
    return pd.DataFrame({"__row__": rows, "proba_no": 1 - p, "proba_yes": p})


def test_a_well_formed_file_is_scored_with_the_metric(harness, tmp_path):
    from sklearn.metrics import roc_auc_score

    frame = _good(harness)
    shuffled = frame.sample(frac=1, random_state=1)  # row order does not matter
    metrics = harness.evaluate(_write(tmp_path / "out", shuffled))
    labels = harness.valid_labels().loc[frame["__row__"]]
    assert metrics["score"] == pytest.approx(roc_auc_score(labels == "yes", frame["proba_yes"]))


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (lambda f: f.iloc[:-3], "3 row\\(s\\) missing"),
        (lambda f: pd.concat([f, f.iloc[:1]]), "repeats __row__"),
        (lambda f: f.assign(__row__=f["__row__"] + 1000), "unknown"),
        (lambda f: f.assign(proba_yes=np.where(f.index == 4, np.nan, f["proba_yes"])), "missing"),
        (lambda f: f.assign(proba_no=np.inf), "infinite"),
        (lambda f: f.drop(columns=["proba_no"]), "lacks the column"),
        (lambda f: f.rename(columns={"proba_no": "proba_maybe"}), "lacks the column"),
        (lambda f: f.assign(leak=1.0), "unexpected column"),
        (lambda f: f.assign(proba_no=0.9), "do not sum to 1"),
        (lambda f: f.assign(proba_no=-0.5, proba_yes=1.5), "between 0 and 1"),
        (lambda f: f.assign(__row__="r" + f["__row__"].astype(str)), "integer row ids"),
        (lambda f: f.assign(proba_yes="high"), "non-numeric"),
    ],
)
def test_bad_prediction_files_are_refused_with_a_reason(harness, tmp_path, damage, reason):
    folder = _write(tmp_path / "out", damage(_good(harness)))
    with pytest.raises(InvalidOutput, match=reason):
        harness.evaluate(folder)


def test_missing_and_oversized_files_are_refused(harness, tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(InvalidOutput, match="was not written"):
        harness.evaluate(tmp_path / "empty")
    big = tmp_path / "big"
    big.mkdir()
    (big / "predictions.csv").write_text("__row__,proba_no,proba_yes\n" + "0,0.5,0.5\n" * 200_000)
    with pytest.raises(InvalidOutput, match="bytes, over"):
        harness.evaluate(big)


def test_a_candidate_writing_nan_ends_invalid_output(harness):
    broken = FAST_PIPELINE.replace(
        'out.to_csv("outputs/predictions.csv", index=False)',
        'out.iloc[0, 1] = float("nan")\nout.to_csv("outputs/predictions.csv", index=False)',
    )
    result = harness.run(broken, label="nan")
    assert result.status is OutcomeStatus.INVALID_OUTPUT and result.score is None
    assert "missing, non-numeric or infinite" in result.reason
    assert result.log_path.is_file()


def test_the_template_pipeline_runs_and_scores(harness):
    """assay's own default (AutoML) is the baseline every new workspace starts from."""
    result = harness.run(template("pipeline.py"), label="baseline")
    assert result.ok, result.log_tail
    assert 0.75 < result.score <= 1.0  # the toy target is learnable


def test_the_template_with_every_feature_step_and_a_single_model(harness):
    text = template("pipeline.py")
    config = read_config(text)
    config["features"] = [
        "log1p_skewed",
        "frequency_encoding",
        "ratios_top_numeric",
        "missing_count",
        "row_stats",
    ]
    config["single_model"] = {"model": "lightgbm", "params": {"num_leaves": 7}}
    result = harness.run(write_config(text, config), label="single")
    assert result.ok, result.log_tail
    assert 0.7 < result.score <= 1.0


def test_holdout_score_trains_on_train_and_valid_and_scores_the_holdout(harness):
    good = with_config(FAST_PIPELINE, columns=["a", "b"], jitter=0.0)
    noise = with_config(FAST_PIPELINE, columns=["d"], jitter=0.0)
    assert harness.holdout_score(good) > 0.8
    assert harness.holdout_score(noise) < 0.75


def test_paired_bootstrap_error_shrinks_with_rows_and_vanishes_for_equal_predictions():
    from assay import Task
    from assay.evaluate import get_metric
    from assay.research._predictions import paired_gain_se

    auc = get_metric("auc", Task.BINARY)
    rng = np.random.default_rng(0)

    def se(n: int) -> float:
        y = rng.integers(0, 2, n)
        best = rng.random(n)
        new = np.clip(best + rng.normal(scale=0.3, size=n), 0, 1)
        as_proba = lambda p: np.column_stack([1 - p, p])  # noqa: E731
        return paired_gain_se(auc, y, as_proba(new), as_proba(best))

    small, large = se(60), se(6000)
    assert small > 3 * large > 0
    y = rng.integers(0, 2, 100)
    p = np.column_stack([1 - (q := rng.random(100)), q])
    assert paired_gain_se(auc, y, p, p) == 0.0


def test_regression_and_integer_multiclass_targets_run_through_the_template(tmp_path):
    rng = np.random.default_rng(1)
    frame = pd.DataFrame(rng.normal(size=(300, 3)), columns=["u", "v", "w"])
    frame["amount"] = 3 * frame["u"] - frame["v"] + rng.normal(scale=0.3, size=300)
    frame["grade"] = pd.cut(frame["u"], [-np.inf, -0.5, 0.5, np.inf], labels=False).astype(int)
    frame["grade"] = frame["grade"] * 5  # class labels 0, 5, 10 (sorted as numbers)
    data = tmp_path / "table.csv"
    frame.to_csv(data, index=False)
    text = template("pipeline.py")
    single = write_config(text, {**read_config(text), "single_model": {"model": "linear"}})

    reg = init_research(str(data), "amount", tmp_path / "reg", budget_per_exp_s=4)
    assert reg.task.value == "regression" and reg.metric.name == "rmse" and reg.classes == []
    result = reg.run(single, label="reg")
    assert result.ok, result.log_tail
    assert result.score < frame["amount"].std() / 2  # far better than predicting the mean

    clf = init_research(
        str(data),
        "grade",
        tmp_path / "clf",
        budget_per_exp_s=4,
    )
    assert clf.task.value == "multiclass" and clf.classes == ["0", "5", "10"]
    result = clf.run(single, label="clf")
    assert result.ok, result.log_tail
    assert result.score < 0.8  # multiclass logloss well under log(3) = 1.1

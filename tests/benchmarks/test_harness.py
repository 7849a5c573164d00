"""The benchmark harness: scoring conventions, the report's arithmetic, and resuming."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCH))

import report  # noqa: E402
import run  # noqa: E402
from frameworks.constant_fw import constant_prediction  # noqa: E402


def test_score_compares_labels_as_text_and_follows_amlb_metrics():
    y = pd.Series([1, 0, 1, 1])
    proba = np.array([[0.2, 0.8], [0.9, 0.1], [0.4, 0.6], [0.3, 0.7]])
    assert run.score("auc", y, proba, ["0", "1"]) == 1.0
    assert run.score("auc", y, proba[:, ::-1], ["1", "0"]) == 1.0  # column order follows classes
    assert run.score("logloss", y, proba, ["0", "1"]) == pytest.approx(
        -np.mean(np.log([0.8, 0.9, 0.6, 0.7]))
    )
    assert run.score("rmse", pd.Series([1.0, 3.0]), np.array([2.0, 2.0]), []) == 1.0
    wrong_last = np.vstack([proba[:3], [[0.6, 0.4]]])
    assert run.score("accuracy", y, wrong_last, ["0", "1"]) == 0.75
    # f1 of the last class in sorted order: tp 2, fp 0, fn 1
    assert run.score("f1", y, wrong_last, ["0", "1"]) == pytest.approx(0.8)


def test_text_suites_read_the_datasets_own_splits(datasets_dir, monkeypatch):
    monkeypatch.setenv("ASSAY_DATASETS", str(datasets_dir))
    text = {name: rest for name, *rest in run.SUITES["text"]([])}
    (sst_train, sst_test) = text["sst2"][-1]
    assert (len(sst_train), len(sst_test)) == (6920 + 872, 1821)
    assert list(sst_train.columns) == ["sentence", "label"]
    sms = text["sms-spam"][0]
    assert len(sms) == 5574 and set(sms["label"]) == {0, 1} and text["sms-spam"][-1] is None
    [(name, _, target, task, metric, (train, test))] = run.SUITES["textpair"]([])
    assert (name, target, task, metric) == ("mrpc", "label", "binary", "accuracy")
    assert (len(train), len(test)) == (3576 + 500, 1725)
    assert train["sentence1"].str.len().min() > 0 and set(train["label"]) == {0, 1}


def test_constant_predictor_uses_training_frequencies():
    pred, classes = constant_prediction(pd.Series(["b", "a", "b", "b"]), "binary", 3)
    assert classes == ["a", "b"] and pred.shape == (3, 2)
    np.testing.assert_allclose(pred[0], [0.25, 0.75])
    values, none = constant_prediction(pd.Series([1.0, 3.0]), "regression", 2)
    assert none is None and values.tolist() == [2.0, 2.0]


def test_split_is_seeded_and_stratified():
    frame = pd.DataFrame({"x": range(100), "y": [0] * 80 + [1] * 20})
    train_a, test_a = run.split(frame, "y", "binary", seed=3)
    train_b, _ = run.split(frame, "y", "binary", seed=3)
    assert train_a.x.tolist() == train_b.x.tolist()
    assert len(test_a) == 20 and test_a.y.sum() == 4


def rows(scores: dict[str, float], metric: str = "auc", dataset: str = "d") -> list[dict]:
    return [
        {
            "dataset": dataset,
            "framework": f,
            "fold": 0,
            "budget_s": 60,
            "metric": metric,
            "score": s,
            "status": "ok",
            "fit_s": 60.0,
            "predict_s_per_1000": 1.0,
            "peak_memory_mb": 100.0,
        }
        for f, s in scores.items()
    ]


def test_normalized_score_ranks_and_sign_test():
    frame = pd.DataFrame(
        rows({"assay": 0.9, "flaml": 0.8, "constant": 0.5})
        + rows({"assay": 1.0, "flaml": 2.0, "constant": 3.0}, metric="rmse", dataset="r")
    )
    scored = report.normalized(frame).set_index(["dataset", "framework"])
    assert scored.loc[("d", "assay"), "normalized"] == 1.0
    assert scored.loc[("d", "flaml"), "normalized"] == pytest.approx(0.75)
    assert scored.loc[("r", "flaml"), "normalized"] == pytest.approx(0.5)
    assert scored.loc[("r", "constant"), "rank"] == 3
    pairs = report.pairwise(report.normalized(frame)).set_index("peer")
    assert pairs.loc["flaml", "wins"] == 2 and pairs.loc["flaml", "win_rate"] == 1.0
    assert pairs.loc["flaml", "sign_test_p"] == pytest.approx(0.5)


def test_a_run_without_the_constant_predictor_gets_its_tables_and_no_empty_chart(tmp_path):
    out = tmp_path / "pair.csv"
    pd.DataFrame(rows({"assay": 0.9, "assay-base": 0.8})).to_csv(out, index=False)
    markdown = report.report(out)
    assert "assay-base" in markdown and out.with_suffix(".md").is_file()
    assert not out.with_suffix(".png").exists()


def test_scores_equal_up_to_float_rounding_are_a_tie_not_a_loss():
    frame = pd.DataFrame(
        rows({"assay": 0.8768518518518518, "flaml": 0.8768518518518519})
        + rows({"assay": 0.9, "flaml": 0.8}, dataset="e")
    )
    pairs = report.pairwise(report.normalized(frame)).set_index("peer")
    assert (pairs.loc["flaml", "wins"], pairs.loc["flaml", "losses"]) == (1, 0)
    assert pairs.loc["flaml", "ties"] == 1 and pairs.loc["flaml", "win_rate"] == 0.75


def test_stacking_is_counted_from_each_framework_s_notes(tmp_path):
    frame = pd.DataFrame(
        rows({"assay": 0.9, "autogluon-best": 0.8})
        + rows({"assay": 0.9, "autogluon-best": 0.8}, dataset="e")
    )
    frame["notes"] = [
        "trials 9; stack used: level 2 scored better on the held-out rows",
        "models 20; stack levels 1,2,3; best WeightedEnsemble_L3",
        "trials 9; stack not used: level 2 did not score better on the held-out rows",
        "models 20; stack levels 1,2,3; best WeightedEnsemble_L2",
    ]
    out = tmp_path / "notes.csv"
    frame.to_csv(out, index=False)
    assert "Stacking used on: assay 1 of 2, autogluon-best 1 of 2" in report.report(out)


def test_single_row_latency_is_compared_where_both_recorded_it():
    frame = pd.DataFrame(rows({"assay": 0.9, "flaml": 0.8, "autogluon-best": 0.85}))
    frame["single_row_ms"] = frame.framework.map({"assay": 10.0, "flaml": 40.0})
    pairs = report.pairwise(report.normalized(frame)).set_index("peer")
    assert pairs.loc["flaml", "single_row_ratio"] == pytest.approx(0.25)
    assert np.isnan(pairs.loc["autogluon-best", "single_row_ratio"])  # not recorded


def blood_transfusion_run(out: Path, frameworks: str, budget: int) -> list[str]:
    """run.py on blood-transfusion's first split, writing `out`."""
    options = {"frameworks": frameworks, "datasets": "blood-transfusion", "budget": budget}
    flags = [part for name, value in options.items() for part in (f"--{name}", str(value))]
    return [sys.executable, str(BENCH / "run.py"), *flags, "--out", str(out)]


def test_a_finished_slice_is_not_run_again(tmp_path, datasets_dir):
    out = tmp_path / "slice.csv"
    command = blood_transfusion_run(out, "lightgbm,constant", 5)
    subprocess.run(command, check=True, capture_output=True, timeout=300)
    first = pd.read_csv(out)
    assert sorted(first.framework) == ["constant", "lightgbm"]
    assert (first.status == "ok").all() and first.score.between(0.5, 1).all()
    versions = first.set_index("framework").version
    assert versions["lightgbm"].startswith("lightgbm 4.")  # each row says what it measured
    again = subprocess.run(command, check=True, capture_output=True, text=True, timeout=300)
    assert again.stdout == "" and len(pd.read_csv(out)) == 2
    markdown = report.report(out)
    assert "lightgbm" in markdown and out.with_suffix(".png").stat().st_size > 0


def test_an_assay_run_keeps_its_fit_log_beside_the_rows(tmp_path, datasets_dir):
    out = tmp_path / "logged.csv"
    command = blood_transfusion_run(out, "assay", 8)
    env = {**os.environ, "ASSAY_DATASETS": str(datasets_dir), "ASSAY_HOME": str(tmp_path / "runs")}
    subprocess.run(command, check=True, capture_output=True, timeout=300, env=env)
    row = pd.read_csv(out).iloc[0]
    logs = run.read_logs(out)
    assert len(logs) == 1 and logs[0]["finished_at"] == row.finished_at
    log = logs[0]
    assert log["n_folds"] >= 3 and "used" in log["stack"]
    trials = log["trials"]
    assert f"trials {sum(t['state'] != 'skipped' for t in trials)}" in row.notes  # ran
    assert [t["no"] for t in trials] == sorted(t["no"] for t in trials)
    assert all(0 <= t["at_s"] <= row.fit_s + 1 for t in trials)
    assert all(t["predict_s"] >= 0 for t in trials) and sum(t["predict_s"] for t in trials) > 0
    assert {t["model"] for t in trials} >= {"linear", "lightgbm"}
    weights = [t["weight"] for t in trials if t["weight"] is not None]
    assert weights and sum(weights) == pytest.approx(1.0)  # the level-1 ensemble


def test_assay_base_runs_the_checkout_named_by_assay_base_src(tmp_path, datasets_dir):
    env = {**os.environ, "ASSAY_DATASETS": str(datasets_dir), "ASSAY_HOME": str(tmp_path / "runs")}
    env.pop("ASSAY_BASE_SRC", None)
    missing = subprocess.run(
        [sys.executable, "-c", "import assay_base_fw"],
        cwd=BENCH / "frameworks",
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert missing.returncode == 1 and "ASSAY_BASE_SRC" in missing.stderr
    base = tmp_path / "base" / "src"  # a copy outside git: its rows say "+unknown"
    shutil.copytree(BENCH.parent / "src", base, ignore=shutil.ignore_patterns("__pycache__"))
    out = tmp_path / "base.csv"
    command = blood_transfusion_run(out, "assay-base", 5)
    done = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=300,
        env={**env, "ASSAY_BASE_SRC": str(base)},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    row = pd.read_csv(out).iloc[0]
    assert row.status == "ok" and row.version.endswith("+unknown"), row.to_dict()


def test_fit_logs_append_as_gzip_members_and_survive_a_write_cut_off(tmp_path):
    out = tmp_path / "runs.csv"
    for dataset in ("a", "b"):
        key = dict.fromkeys(("framework", "fold", "budget_s", "finished_at"), 1)
        run.keep_log(out, {"dataset": dataset, **key}, {"trials": [{"no": 0}]})
    assert [log["dataset"] for log in run.read_logs(out)] == ["a", "b"]
    path = run.logs_path(out)
    whole = path.read_bytes()
    run.keep_log(out, {"dataset": "c", **key}, {"trials": []})
    third = path.read_bytes()
    for cut in (len(whole) + 5, (len(whole) + len(third)) // 2):  # the third write killed
        path.write_bytes(third[:cut])
        assert [log["dataset"] for log in run.read_logs(out)] == ["a", "b"]
    assert run.read_logs(tmp_path / "none.csv") == []


def test_before_and_after_on_the_splits_both_runs_measured():
    now = pd.DataFrame(
        rows({"assay": 0.9, "flaml": 0.8, "constant": 0.5})
        + rows({"assay": 1.0, "flaml": 2.0, "constant": 3.0}, metric="rmse", dataset="r")
    )
    earlier = pd.DataFrame(
        rows({"assay": 0.7, "constant": 0.5})
        + rows({"assay": 2.5, "constant": 3.0}, metric="rmse", dataset="r")
        + rows({"assay": 0.6, "constant": 0.5}, dataset="only-before")
    )
    changes = report.before_after(report.normalized(now), earlier).set_index("dataset")
    assert sorted(changes.index) == ["d", "r"]  # only the splits both measured
    assert changes.loc["d", "before_normalized"] == pytest.approx(0.5)  # (0.7-0.5)/(0.9-0.5)
    assert changes.loc["r", "before_normalized"] == pytest.approx(0.25)  # (3-2.5)/(3-1)
    assert (changes.after_normalized == 1.0).all()

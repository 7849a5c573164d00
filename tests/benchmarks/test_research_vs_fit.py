"""benchmarks/research_vs_fit.py: the report's arithmetic (win rate, normalized gain with
its interval, the share of keeps the holdout confirms) on rows written by hand."""

import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCH))

import research_vs_fit as rvf  # noqa: E402
from _rows import append_row  # noqa: E402


def _row(dataset, seed, side, metric, task, valid, holdout):
    return {
        "dataset": dataset, "seed": seed, "side": side, "minutes": 10, "task": task,
        "metric": metric, "valid_score": valid, "holdout_score": holdout,
        "answer": "best (experiment 3)" if side == "research" else "AutoML",
        "export_s": {"a": 120.0, "b": 200.0, "c": 999.0}[dataset] if side == "research" else "",
        "version": "abc1234",
    }  # fmt: skip


def test_the_report_counts_wins_by_metric_direction_and_the_confirmed_keeps(tmp_path):
    rows = [
        _row("a", 0, "research", "auc", "binary", 0.85, 0.80),  # higher auc: research wins
        _row("a", 0, "fit", "auc", "binary", 0.84, 0.78),
        _row("b", 0, "research", "rmse", "regression", 2.0, 2.5),  # higher rmse: research loses
        _row("b", 0, "fit", "rmse", "regression", 2.1, 2.0),
        _row("c", 0, "research", "auc", "binary", 0.9, 0.9),  # only one side: not a pair
    ]
    for row in rows:
        append_row(tmp_path / "research_vs_fit.csv", rvf.FIELDS, row)
    keeps = [
        {"dataset": "a", "seed": 0, "exp_no": 3, "description": "x", "valid_gain": 0.01,
         "holdout_gain": 0.02, "confirmed": 1},
        {"dataset": "b", "seed": 0, "exp_no": 2, "description": "y", "valid_gain": 0.1,
         "holdout_gain": -0.3, "confirmed": 0},
    ]  # fmt: skip
    for keep in keeps:
        append_row(tmp_path / "research_vs_fit_keeps.csv", rvf.KEEP_FIELDS, keep)
    text = rvf.report(tmp_path)
    assert "in 1 of 2 dataset-seed pairs (0.50; 1 losses" in text, text
    gains = [(0.80 - 0.78) / 0.78, (2.0 - 2.5) / 2.0]  # loss removed relative to the fit's
    assert f"{sum(gains) / 2:+.2%}" in text
    assert "Kept changes the holdout confirms: 1 of 2 (0.50)." in text
    lines = [line for line in text.splitlines() if line.startswith("| a |")]
    assert lines and f"{gains[0]:+.2%}" in lines[0]
    assert "| c |" not in text
    assert "took a further 120 to 200 s (median 160 s)" in text  # pairs only: not c's 999 s
    assert "Measured on commit(s) abc1234." in text


def test_the_report_says_when_no_pair_is_finished(tmp_path):
    assert rvf.report(tmp_path) == "no finished dataset-seed pair yet"

"""The portfolio builder's arithmetic: normalized errors, greedy order, stable candidates."""

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

import build_portfolio as builder


def _rows(losses: dict[str, dict[str, float]]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"candidate": c, "dataset": d, "loss": loss}
            for c, per_dataset in losses.items()
            for d, loss in per_dataset.items()
        ]
    )


def test_normalized_error_is_zero_for_the_best_and_one_from_the_median():
    errors = builder.normalized_errors(
        _rows(
            {
                "a": {"x": 0.10, "y": 1.0},
                "b": {"x": 0.20, "y": 1.0},
                "c": {"x": 0.30, "y": float("nan")},  # failed on y
                "d": {"x": 0.50, "y": 2.0},
            }
        )
    )
    assert errors.loc["a", "x"] == 0 and errors.loc["b", "x"] == pytest.approx(2 / 3)  # median 0.25
    assert errors.loc["c", "x"] == 1 and errors.loc["d", "x"] == 1  # the median and beyond
    assert errors.loc["a", "y"] == 0 and errors.loc["c", "y"] == 1 and errors.loc["d", "y"] == 1


def test_greedy_covers_the_datasets_before_repeating_a_strength():
    errors = pd.DataFrame(
        {"x": [0.0, 0.1, 1.0], "y": [1.0, 0.9, 0.0], "z": [0.5, 0.5, 0.5]},
        index=["good_on_x", "also_x", "good_on_y"],
    )
    cost = pd.Series({"good_on_x": 1.0, "also_x": 1.0, "good_on_y": 5.0})
    family = {"good_on_x": "a", "also_x": "a", "good_on_y": "b"}
    order = builder.greedy(errors, cost, family, size=3)
    assert order[:2] == ["good_on_x", "good_on_y"]  # the second pick fills y, not x again
    assert order == ["good_on_x", "good_on_y", "also_x"]
    assert builder.greedy(errors, cost, family, size=1) == ["good_on_x"]


def test_a_family_cannot_run_ahead_of_its_share():
    errors = pd.DataFrame(
        {"x": [0.0, 0.1, 0.2, 0.9], "y": [0.0, 0.1, 0.2, 0.9]}, index=["a1", "a2", "a3", "b1"]
    )
    cost = pd.Series(1.0, index=errors.index)
    family = {"a1": "a", "a2": "a", "a3": "a", "b1": "b"}
    assert builder.greedy(errors, cost, family, size=4, lead=1) == ["a1", "b1", "a2", "a3"]
    assert builder.greedy(errors, cost, family, size=4, lead=3) == ["a1", "a2", "a3", "b1"]


def test_candidates_are_the_same_on_every_call_and_include_the_defaults():
    from assay import Task
    from assay.models import MODELS
    from assay.search import load_portfolio

    first, second = builder.candidates("classification"), builder.candidates("classification")
    assert first == second and len({c[0] for c in first}) == len(first)
    # the networks of text, image and sound columns cannot fit a table of numbers
    assert {m for _, m, _ in first} == {m for m, cls in MODELS.items() if cls.kind is None}
    keys = {(m, str(sorted(c.items()))) for _, m, c in first}
    for model, config in load_portfolio("handmade", Task.BINARY):
        assert (model, str(sorted(config.items()))) in keys


def test_after_its_greedy_picks_the_order_takes_the_families_in_turn():
    errors = pd.DataFrame(
        {"x": [0.0, 1.0, 0.2, 0.9], "y": [0.0, 1.0, 0.2, 0.9], "z": [1.0, 0.0, 0.5, 0.9]},
        index=["a1", "a2", "b1", "b2"],
    )
    cost = pd.Series(1.0, index=errors.index)
    family = {"a1": "a", "a2": "a", "b1": "b", "b2": "b"}
    # greedy fills z with a2 (best on z alone), then x and y with a1; b2 comes last
    assert builder.greedy(errors, cost, family, size=4) == ["b1", "a2", "a1", "b2"]
    # one greedy pick, then the families in turn, each by its best mean error: a1 (0.33),
    # b2 (b's turn), a2
    order = builder.portfolio_order(errors, cost, family, size=4, n_greedy=1)
    assert order == ["b1", "a1", "b2", "a2"]
    assert builder.portfolio_order(errors, cost, family, size=2, n_greedy=0) == ["b1", "a1"]


def test_a_dataset_with_candidates_missing_is_left_out_of_the_selection():
    wanted = [cid for cid, _, _ in builder.candidates("regression")]
    rows = pd.DataFrame(
        [{"candidate": c, "dataset": "whole", "loss": 1.0} for c in wanted]
        + [{"candidate": c, "dataset": "half", "loss": 1.0} for c in wanted[::2]]
    )
    kept = builder.complete_datasets(rows, "regression")
    assert set(kept.dataset) == {"whole"} and len(kept) == len(wanted)


def test_large_data_gets_its_own_order_learned_on_the_large_datasets(tmp_path):
    """Every candidate on three small and three large synthetic datasets: the large list
    puts first the config that is best on the large ones, and the held-out report has a
    row per large dataset and k."""
    from types import SimpleNamespace

    rng = np.random.default_rng(0)
    rows, large_rows = [], []
    for pool in ("classification", "regression"):
        wanted = builder.candidates(pool)
        fast_big = next(cid for cid, model, _ in wanted if model == "xgboost")
        for i in range(3):
            for cid, model, config in wanted:
                common = {"pool": pool, "candidate": cid, "model": model, "status": "ok"}
                common.update(config=json.dumps(config), metric="m", error="", fit_s=1.0)
                small = {**common, "dataset": f"s{i}", "loss": rng.uniform(1, 2), "n_rows": 4000}
                big = {**common, "dataset": f"b{i}", "n_rows": 15_000}
                big["loss"] = 0.5 if cid == fast_big else rng.uniform(1, 2)
                rows.append(small)
                large_rows.append(big)
    pd.DataFrame(rows).to_csv(tmp_path / "small.csv", index=False)
    pd.DataFrame(large_rows).to_csv(tmp_path / "big.csv", index=False)
    args = SimpleNamespace(
        candidates=tmp_path / "small.csv", large_candidates=tmp_path / "big.csv", size=20,
        report=tmp_path / "loo.md", large_report=tmp_path / "large.md", dry_run=True,
        large_from=8000,
    )  # fmt: skip
    pools = builder.select(args)
    assert set(pools) == {
        "classification",
        "regression",
        "classification_large",
        "regression_large",
    }
    for pool in ("classification_large", "regression_large"):
        assert pools[pool][0][0] == "xgboost" and len(pools[pool]) == 20
    report = pd.read_csv(tmp_path / "large.csv")
    assert len(report) == 2 * 3 * 5 and (report.large == 0).all()  # held out, still found

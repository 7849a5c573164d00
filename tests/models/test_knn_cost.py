"""The kNN cost estimate against the fold times measured by benchmarks/knn_cost.py: the
first kNN trial of a fit is scheduled by this estimate alone, and a tenfold miss (as
Manhattan distance on many columns was) lets one trial take a quarter of a 60 s budget."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from assay.models._knn import KNNModel

MEASURED = Path(__file__).parents[2] / "benchmarks" / "results" / "knn_cost.csv"


def _rows() -> list[dict]:
    with MEASURED.open() as handle:
        return list(csv.DictReader(handle))


def test_the_estimate_is_within_a_factor_of_three_of_every_measured_fold():
    rows = [r for r in _rows() if float(r["fold_s"]) >= 0.05]  # below: start-up noise
    assert len(rows) >= 12, f"{MEASURED} holds too few timed folds: run knn_cost.py again"
    for row in rows:
        n_rows, n_features = int(row["n_rows"]), int(row["n_features"])
        estimate = KNNModel.cost(n_rows, n_features, {"p": int(row["p"])})
        ratio = estimate / float(row["fold_s"])
        assert 1 / 3 <= ratio <= 3, (row, estimate)


@pytest.mark.parametrize("n_features", [16, 40, 120])
def test_manhattan_over_many_columns_costs_several_times_euclidean(n_features):
    manhattan = KNNModel.cost(30_000, n_features, {"p": 1})
    euclidean = KNNModel.cost(30_000, n_features, {"p": 2})
    assert manhattan > 2.5 * euclidean
    assert KNNModel.cost(30_000, 8, {"p": 1}) == KNNModel.cost(30_000, 8, {"p": 2})  # a tree


def test_the_estimate_grows_with_rows_and_columns():
    costs = [KNNModel.cost(n, d, {"p": 1}) for n, d in [(2_000, 5), (2_000, 30), (20_000, 30)]]
    assert costs == sorted(costs) and costs[-1] > 10 * costs[0]

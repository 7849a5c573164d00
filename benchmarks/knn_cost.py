"""What one bagging fold of the kNN model costs: fit on (k-1)/k of the rows, predict the
held-out 1/k, one thread, on standardized random data with one-hot-like columns. The
rows feed `KNNModel.cost`: brute force (more than 15 columns) grows with training rows
times held-out rows times columns, and Manhattan distance (p=1) has no matrix-product
shortcut; a KD tree (15 columns or fewer) grows with the held-out rows and the log of the
training rows.

    .venv/bin/python benchmarks/knn_cost.py          # writes results/knn_cost.csv
"""

from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from assay._types import Task
from assay.models._knn import KNNModel

HERE = Path(__file__).parent
FIELDS = ["n_rows", "n_features", "p", "n_neighbors", "weights", "fold_s", "estimate_s"]


def _data(n_rows: int, n_features: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    n_dense = min(n_features, 8)
    dense = rng.normal(size=(n_rows, n_dense))
    onehot = (rng.random(size=(n_rows, n_features - n_dense)) < 0.2).astype(float)
    X = np.hstack([dense, (onehot - onehot.mean(0)) / (onehot.std(0) + 1e-9)])
    y = (X[:, 0] + 0.5 * rng.normal(size=n_rows) > 0).astype(int)
    return X, y


def fold_seconds(n_rows: int, n_features: int, config: dict, n_folds: int = 3) -> float:
    X, y = _data(n_rows, n_features)
    n_train = n_rows * (n_folds - 1) // n_folds
    model = KNNModel(task=Task.BINARY, **config)
    started = time.perf_counter()
    model.fit(X[:n_train], y[:n_train])
    model.predict_proba(X[n_train:])
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(HERE / "results" / "knn_cost.csv"))
    args = parser.parse_args()
    configs = [
        {"n_neighbors": 7, "p": 1, "weights": "distance"},
        {"n_neighbors": 25, "p": 2, "weights": "uniform"},
    ]
    rows = []
    with threadpool_limits(1):
        for n_features in (5, 12, 30, 60):
            for n_rows in (2_000, 8_000, 24_000):
                for config in configs:
                    seconds = min(fold_seconds(n_rows, n_features, config) for _ in range(2))
                    estimate = KNNModel.cost(n_rows, n_features, config)
                    row = {"n_rows": n_rows, "n_features": n_features, **config}
                    row |= {"fold_s": round(seconds, 4), "estimate_s": round(estimate, 4)}
                    rows.append(row)
                    print(row, flush=True)
    with open(args.out, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=FIELDS)
        writer.writeheader()
        writer.writerows(rows)


if __name__ == "__main__":
    main()

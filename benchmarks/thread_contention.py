"""Seconds a small solver takes with one and with two threads, on an idle machine and beside
one or two busy processes: the evidence for `assay._cpus.blas_threads` (scikit-learn's
solvers on one BLAS thread) and for leaving LightGBM's threads as they are.

    .venv/bin/python benchmarks/thread_contention.py

- logistic regression (lbfgs, scikit-learn's defaults) on 1,400 rows x 47 columns of 10
  classes, the size of an mfeat fold; BLAS threads set with threadpoolctl; best of 3;
- LightGBM, 300 rounds of regression on 12,000 rows x 8 columns (537_houses when the
  datasets are present, else random rows of that shape); best of 2.

A busy process is a Python loop at normal priority. Run it with nothing else running: the
point is what the other processes do to each thread count. Writes
benchmarks/results/thread_contention.csv and a markdown table beside it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
OUT = HERE / "results" / "thread_contention.csv"


def _houses() -> tuple[np.ndarray, np.ndarray]:
    root = Path(os.environ.get("ASSAY_DATASETS", HERE.parent.parent / "shared" / "datasets"))
    path = root / "tabular-design" / "pmlb_537_houses.tsv.gz"
    if path.exists():
        frame = pd.read_csv(path, sep="\t")
        y = frame.pop("target").to_numpy()[:12_000]
        return frame.to_numpy()[:12_000], y
    rng = np.random.default_rng(1)
    X = rng.normal(size=(12_000, 8))
    return X, X @ rng.normal(size=8) + rng.normal(size=12_000)


def _logistic_s(threads: int, X: np.ndarray, y: np.ndarray) -> float:
    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=threads, user_api="blas"):
        start = time.perf_counter()
        LogisticRegression(max_iter=1000).fit(X, y)
        return time.perf_counter() - start


def _lightgbm_s(threads: int, X: np.ndarray, y: np.ndarray) -> float:
    import lightgbm as lgb

    params = {
        "objective": "regression",
        "num_threads": threads,
        "verbosity": -1,
        "force_row_wise": True,
        "deterministic": True,
    }
    start = time.perf_counter()
    lgb.train(params, lgb.Dataset(X, y), num_boost_round=300)
    return time.perf_counter() - start


def main() -> None:
    rng = np.random.default_rng(0)
    X_small = rng.normal(size=(1_400, 47))
    y_small = rng.integers(0, 10, 1_400)
    X_small[:, 0] += 0.5 * y_small
    X_houses, y_houses = _houses()
    rows = []
    for n_busy in (0, 1, 2):
        busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n_busy)]
        try:
            time.sleep(0.5)
            for threads in (1, 2):
                rows.append(
                    {
                        "busy_processes": n_busy,
                        "threads": threads,
                        "logistic_s": min(_logistic_s(threads, X_small, y_small) for _ in range(3)),
                        "lightgbm_300_rounds_s": min(
                            _lightgbm_s(threads, X_houses, y_houses) for _ in range(2)
                        ),
                        "cpus": os.cpu_count(),
                    }
                )
                print(rows[-1], flush=True)
        finally:
            for process in busy:
                process.kill()
    from report import _table

    table = pd.DataFrame(rows)
    table.to_csv(OUT, index=False)
    OUT.with_suffix(".md").write_text(
        "# Threads beside busy processes\n\n`.venv/bin/python benchmarks/thread_contention.py`"
        f" on {os.cpu_count()} cores.\n\n" + _table(table, digits=3) + "\n"
    )


if __name__ == "__main__":
    main()

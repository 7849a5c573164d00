"""Trial throughput of one fit on the executors: this process (the default), and Dask
LocalClusters of 1 and 2 workers on 127.0.0.1, same data, seed and trial count.

    ASSAY_DATASETS=../shared/datasets .venv/bin/python benchmarks/cluster_scaling.py \
        --dataset phoneme --trials 24

Writes benchmarks/results/cluster_scaling.csv (one row per executor, appended as each
finishes) and a markdown table beside it. Trials per minute counts the search only (from
the first trial to the last), not data preparation or the ensemble."""

from __future__ import annotations

import argparse
import csv
import os
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
EXECUTORS = ("this process", "local:1", "local:2")


def run_one(frame, target: str, trials: int, models: list[str], cluster: str | None) -> dict:
    from assay import AutoML

    starts: list[float] = []

    def note(progress) -> None:
        if getattr(progress, "last", None) is not None:
            starts.append(time.monotonic())

    started = time.monotonic()
    automl = AutoML(
        n_trials=trials, models=models, stack="off", store=False, random_state=0, cluster=cluster
    )
    automl.fit(frame, target=target, callback=note)
    total_s = time.monotonic() - started
    board = automl.leaderboard()
    search_s = (starts[-1] - started) if starts else total_s
    return {
        "executor": cluster or "this process",
        "trials": trials,
        "wall_s": round(total_s, 1),
        "search_s": round(search_s, 1),
        "trials_per_min": round(60 * trials / search_s, 2),
        "ensemble_score": round(float(board.loc[board["model"] == "ensemble", "score"].iloc[0]), 5),
        "cores": os.cpu_count(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dataset", default="phoneme")
    parser.add_argument("--trials", type=int, default=24)
    parser.add_argument("--models", default="lightgbm,xgboost,random_forest,linear")
    parser.add_argument("--out", default=str(RESULTS / "cluster_scaling.csv"))
    args = parser.parse_args()

    from assay.data import load_benchmark

    frame, spec = load_benchmark(args.dataset)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    rows = []
    with out.open("w", newline="") as handle:
        writer = None
        for executor in EXECUTORS:
            cluster = None if executor == "this process" else executor
            row = {"dataset": args.dataset, **run_one(frame, spec.target, args.trials,
                                                      args.models.split(","), cluster)}  # fmt: skip
            rows.append(row)
            if writer is None:
                writer = csv.DictWriter(handle, fieldnames=list(row))
                writer.writeheader()
            writer.writerow(row)
            handle.flush()
            print(row, flush=True)
    lines = [
        f"# Trial throughput by executor ({args.dataset}, {args.trials} trials, "
        f"{os.cpu_count()} cores)\n",
        f"Command: `benchmarks/cluster_scaling.py --dataset {args.dataset} --trials "
        f"{args.trials} --models {args.models}`. Same data, seed and trial count on each.\n",
        "| executor | search s | trials/min | wall s | ensemble score |",
        "|---|---|---|---|---|",
        *[
            f"| {r['executor']} | {r['search_s']} | {r['trials_per_min']} | {r['wall_s']} | "
            f"{r['ensemble_score']} |"
            for r in rows
        ],
        "",
    ]
    out.with_suffix(".md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()

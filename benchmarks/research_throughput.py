"""Research-loop throughput: experiments per hour at a fixed per-experiment budget, and how
much of each experiment's cycle goes to everything around the candidate's own training.

    ASSAY_DATASETS=../shared/datasets .venv/bin/python benchmarks/research_throughput.py \
        --dataset kc1 --budget 60 --experiments 8

Writes benchmarks/results/research_throughput.csv (one row per experiment) and a short
markdown summary beside it. The cycle of an experiment is the time from its start to the
next experiment's start (propose, commit, sandbox start, candidate, scoring, ledger); the
candidate's own share is the sandboxed run's wall time."""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dataset", default="kc1")
    parser.add_argument("--budget", type=float, default=60)
    parser.add_argument("--experiments", type=int, default=8)
    parser.add_argument("--out", default=str(RESULTS / "research_throughput.csv"))
    args = parser.parse_args()

    from assay.data import load_benchmark

    frame, spec = load_benchmark(args.dataset)
    work = Path(tempfile.mkdtemp(prefix="assay-research-bench-"))
    data = work / f"{args.dataset}.csv"
    frame.to_csv(data, index=False)
    env = dict(os.environ, ASSAY_HOME=str(work / "home"))
    assay = [sys.executable, "-m", "assay", "research"]
    subprocess.run([*assay, "init", str(data), "--target", spec.target, "--dir",
                    str(work / "ws"), "--budget-per-exp", str(args.budget)],
                   check=True, env=env, capture_output=True)  # fmt: skip
    started = time.monotonic()
    subprocess.run([*assay, "run", str(work / "ws"), "--proposer", "search", "--budget-per-exp",
                    str(args.budget), "--max-exp", str(args.experiments), "--no-holdout"],
                   check=True, env=env)  # fmt: skip
    total_s = time.monotonic() - started
    rows = list(csv.DictReader((work / "ws" / "results.tsv").open(), delimiter="\t"))
    starts = [float(r["started_at"]) for r in rows]
    out_rows = []
    for i, row in enumerate(rows[1:], start=1):  # the baseline's line covers several seeds
        end = starts[i + 1] if i + 1 < len(rows) else None
        cycle = (end - starts[i]) if end is not None else None
        out_rows.append(
            {
                "dataset": args.dataset,
                "budget_s": args.budget,
                "exp": row["exp"],
                "status": row["status"],
                "candidate_wall_s": round(float(row["wall_s"]), 2),
                "cycle_s": None if cycle is None else round(cycle, 2),
                "around_s": None if cycle is None else round(cycle - float(row["wall_s"]), 2),
            }
        )
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(out_rows[0]))
        writer.writeheader()
        writer.writerows(out_rows)
    full = [r for r in out_rows if r["cycle_s"] is not None]
    cycle = float(np.mean([r["cycle_s"] for r in full]))
    around = float(np.mean([r["around_s"] for r in full]))
    over_budget = float(np.mean([r["candidate_wall_s"] - args.budget for r in full]))
    summary = (
        f"| dataset | budget | experiments | mean cycle | experiments/hour | around the "
        f"candidate | share of budget | sandboxed run over budget |\n"
        f"|{'---|' * 8}\n"
        f"| {args.dataset} | {args.budget:g} s | {len(full)} | {cycle:.1f} s | "
        f"{3600 / cycle:.1f} | {around:.2f} s | {100 * around / args.budget:.1f}% | "
        f"{over_budget:+.2f} s |\n\nWhole run including the baseline's seeds: {total_s:.0f} s. "
        f"Command: `benchmarks/research_throughput.py --dataset {args.dataset} --budget "
        f"{args.budget:g} --experiments {args.experiments}` on this machine (2 cores).\n"
    )
    Path(args.out).with_suffix(".md").write_text(summary)
    print(summary)


if __name__ == "__main__":
    main()

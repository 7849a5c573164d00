"""The research loop on a public dataset: `assay research init` then `assay research run`
with a proposer, and the hidden holdout scores of the baseline and of the best candidate.

    ASSAY_DATASETS=../shared/datasets .venv/bin/python benchmarks/research_search.py \
        --dataset kc1 --budget 30 --experiments 20

Writes benchmarks/results/research_<dataset>_<proposer>_<budget>s.tsv (the ledger, one line
per experiment as it finishes) and a markdown summary beside it."""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dataset", default="kc1")
    parser.add_argument("--budget", type=float, default=30)
    parser.add_argument("--experiments", type=int, default=20)
    parser.add_argument("--proposer", default="search")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    from assay.data import load_benchmark
    from assay.research import holdout_scores, research_status

    frame, spec = load_benchmark(args.dataset)
    work = Path(tempfile.mkdtemp(prefix="assay-research-run-"))
    data, ws = work / f"{args.dataset}.csv", work / "ws"
    frame.to_csv(data, index=False)
    os.environ["ASSAY_HOME"] = str(work / "home")
    assay = [sys.executable, "-m", "assay", "research"]
    subprocess.run([*assay, "init", str(data), "--target", spec.target, "--dir", str(ws),
                    "--budget-per-exp", str(args.budget)], check=True)  # fmt: skip
    started = time.monotonic()
    subprocess.run([*assay, "run", str(ws), "--proposer", args.proposer, "--budget-per-exp",
                    str(args.budget), "--max-exp", str(args.experiments), "--seed",
                    str(args.seed)], check=True)  # fmt: skip
    total_s = time.monotonic() - started

    stem = f"research_{args.dataset}_{args.proposer}_{args.budget:g}s"
    RESULTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(ws / "results.tsv", RESULTS / f"{stem}.tsv")
    status = research_status(ws)
    rows = {row.label: row for row in holdout_scores(status, ws)}
    metric = status.harness.metric.name
    seeds = ", ".join(f"{s:.4f}" for s in status.baseline.seed_scores)
    kept = [r for r in status.records if r.status == "keep"]
    lines = [
        f"# Research loop on {args.dataset}: {args.proposer} proposer, {args.budget:g} s per "
        "experiment\n",
        f"Command (this machine, 2 cores): `benchmarks/research_search.py --dataset "
        f"{args.dataset} --budget {args.budget:g} --experiments {args.experiments} --proposer "
        f"{args.proposer} --seed {args.seed}` (ledger: `{stem}.tsv`).\n",
        f"| | experiment | validation {metric} | holdout {metric} |",
        "|---|---|---|---|",
        f"| baseline (seeds {seeds}) | 0 | {status.baseline.score:.4f} | "
        f"{rows['baseline'].holdout_score:.4f} |",
    ]
    best = rows.get("best")
    if best is not None:
        lines.append(
            f"| best candidate | {best.exp_no} | {best.valid_score:.4f} | "
            f"{best.holdout_score:.4f} |"
        )
    else:
        lines.append("| best candidate | none kept | - | - |")
    lines += [
        "",
        f"Noise floor {status.noise_floor:.4f}; {len(kept)} of {len(status.records) - 1} "
        f"experiments kept. Whole run {total_s / 60:.1f} min.",
        "",
        "Kept:",
        *[f"- {r.exp_no}: {r.description} ({metric} {r.score:.4f})" for r in kept],
        "",
    ]
    (RESULTS / f"{stem}.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()

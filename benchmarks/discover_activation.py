"""Component discovery without an LLM: `assay discover activation` with the grammar
generator for a fixed budget on the default suite (scikit-learn's bundled datasets plus the
manifest's when ASSAY_DATASETS holds them), 2 worker processes.

    ASSAY_DATASETS=../shared/datasets .venv/bin/python benchmarks/discover_activation.py \
        --budget 1800

Writes benchmarks/results/discover_activation_<budget>s.csv (every evaluated hypothesis:
code, reward, win rates on the search seeds and, for the top, on fresh seeds) and a
markdown summary beside it."""

from __future__ import annotations

import argparse
import csv
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--budget", type=float, default=1800)
    parser.add_argument("--kind", default="activation")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="assay-discover-"))
    env = dict(os.environ, ASSAY_HOME=str(home))
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "assay", "discover", args.kind, "--budget", f"{args.budget:g}",
         "--seed", str(args.seed)],
        env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    total_s = time.monotonic() - started
    print(proc.stdout)

    os.environ["ASSAY_HOME"] = str(home)
    from assay.discover import DiscoveryLoop, GrammarGenerator
    from assay.discover._run import swish_closeness

    run_id = next(line.split()[1] for line in proc.stdout.splitlines() if line.startswith("Run "))
    loop = DiscoveryLoop(args.kind, GrammarGenerator(args.kind), run_id=run_id, store=False)
    board = loop.leaderboard()
    confirmed = {}
    current = ""
    for line in proc.stdout.splitlines():  # the CLI printed the fresh-seed rates under each
        ranked = re.match(r"\s*\d+\. (\w+)", line)
        if ranked:
            current = ranked.group(1)
        elif "on fresh seeds:" in line:
            confirmed[current] = line.split("on fresh seeds:")[1].strip()
    stem = f"discover_{args.kind}_{args.budget:g}s"
    RESULTS.mkdir(parents=True, exist_ok=True)
    with open(RESULTS / f"{stem}.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        baselines = list(board[0].evaluation.win_rates) if board else []
        writer.writerow(["rank", "id", "expr", "reward", *[f"win_{b}" for b in baselines],
                         "p_vs_primary", "fresh_seeds", "code"])  # fmt: skip
        primary = baselines[0] if baselines else ""
        for rank, line in enumerate(board, start=1):
            ev = line.evaluation
            writer.writerow([rank, line.hypothesis.id, line.hypothesis.expr, f"{line.reward:.4f}",
                             *[f"{ev.win_rates[b]:.4f}" for b in baselines],
                             f"{ev.p_values.get(primary, float('nan')):.4g}",
                             confirmed.get(line.hypothesis.id, ""),
                             line.hypothesis.code.strip()])  # fmt: skip
    counts: dict[str, int] = {}
    for line in loop.lines:
        counts[line.status] = counts.get(line.status, 0) + 1
    swish = swish_closeness(board[0]) if board and args.kind == "activation" else None
    summary = [
        f"# Component discovery: {args.kind}, grammar generator, {args.budget:g} s\n",
        f"Command (this machine, 2 cores): `benchmarks/discover_activation.py --budget "
        f"{args.budget:g} --kind {args.kind} --seed {args.seed}`; whole run "
        f"{total_s / 60:.1f} min including the baselines and the fresh-seed confirmation. "
        f"Hypotheses: {', '.join(f'{n} {s}' for s, n in sorted(counts.items()))}. "
        f"Every evaluated one is in `{stem}.csv`.\n",
        "```",
        proc.stdout.strip(),
        "```",
    ]
    if swish:
        summary.append(
            f"\nThe best activation's distance to Swish on [-5, 5]: RMS {swish['rms']:.3f}, "
            f"correlation {swish['correlation']:.3f}."
        )
    (RESULTS / f"{stem}.md").write_text("\n".join(summary) + "\n")


if __name__ == "__main__":
    main()

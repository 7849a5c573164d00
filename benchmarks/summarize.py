"""Turns a benchmark CSV into a markdown table next to it (same name, .md)."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

LOWER_IS_BETTER = {"logloss", "rmse"}


def summarize(csv_path: Path, baseline: str = "lightgbm", system: str = "assay") -> str:
    rows = pd.read_csv(csv_path)
    ok = rows[rows.status == "ok"]
    scores = ok.pivot_table(index="dataset", columns="system", values="score")
    fit = ok.pivot_table(index="dataset", columns="system", values="fit_time_s")
    memory = ok.pivot_table(index="dataset", columns="system", values="peak_memory_mb")
    metric = ok.groupby("dataset").metric.first()
    limit = float(rows.time_limit_s.iloc[0])
    lines = [
        f"# {csv_path.stem}: score on the 20% split, fit seconds, peak MB ({limit:g}s budget)",
        "",
        "| dataset | metric | "
        + " | ".join(f"{s} score" for s in scores.columns)
        + " | "
        + " | ".join(f"{s} fit s" for s in fit.columns)
        + " | "
        + " | ".join(f"{s} MB" for s in memory.columns)
        + " |",
        "|" + "---|" * (2 + 3 * len(scores.columns)),
    ]
    wins = 0
    for dataset in scores.index:
        cells = [f"{scores.loc[dataset, s]:.4f}" for s in scores.columns]
        cells += [f"{fit.loc[dataset, s]:.1f}" for s in fit.columns]
        cells += [f"{memory.loc[dataset, s]:.0f}" for s in memory.columns]
        lines.append(f"| {dataset} | {metric[dataset]} | " + " | ".join(cells) + " |")
        if {system, baseline} <= set(scores.columns):
            a, b = scores.loc[dataset, system], scores.loc[dataset, baseline]
            wins += bool(a < b if metric[dataset] in LOWER_IS_BETTER else a > b)
    lines.append("")
    failed = rows[rows.status != "ok"]
    if {system, baseline} <= set(scores.columns):
        lines.append(f"{system} beats {baseline} on {wins} of {len(scores)} datasets.")
    if system in fit.columns:
        over = (fit[system] > 1.1 * limit).sum()
        lines.append(
            f"{system} runs over budget + 10%: {over}; longest fit {fit[system].max():.1f}s."
        )
    lines.append(
        f"Failed runs: {len(failed)}"
        + (": " + ", ".join(failed.dataset + "/" + failed.system) if len(failed) else "")
    )
    text = "\n".join(lines) + "\n"
    csv_path.with_suffix(".md").write_text(text)
    return text


if __name__ == "__main__":
    print(summarize(Path(sys.argv[1])))

"""Learn the fit-level defaults from runs on the design datasets (see benchmarks/README.md).

    python benchmarks/run.py --suite tabular_design --budget 60 \
        --frameworks assay-folds3,assay-folds5,assay-folds8,assay,assay-nostack,constant
    python benchmarks/learn_defaults.py benchmarks/results/tabular_design_60s.csv

Two defaults, both learned on `tabular_design` only (the `tabular` suite judges them):
- **Bagging folds under a budget** (`folds_for_budget`): a timed fit takes 8, 5 or 3 folds,
  the most at which the portfolio's first configs fit in a share of the trial time. For
  every share on a grid, this replays the rule on each design dataset (its head cost from
  the packaged portfolio and the models' cost estimates, as the fit computes it) and reads
  the normalized test score of the run with the folds the rule picks; the share with the
  best mean wins. Fixed 3, 5 and 8 folds and the per-dataset best are shown beside it.
- **The stacking check**: `assay` (stack="auto") against `assay-nostack`, by data size.

Writes `<csv>_defaults.md` beside the CSV and prints it.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from report import normalized  # noqa: E402

SHARES = (0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0)
SIZES = [(0, 2_000, "< 2k rows"), (2_000, 10_000, "2k-10k"), (10_000, 10**9, ">= 10k")]


def head_fold_s(name: str, n_train: int) -> tuple[list[float], int]:
    """The packaged portfolio's per-fold cost estimates on this dataset, and its fold cap."""
    from assay.data import load_benchmark, prepare
    from assay.evaluate import choose_n_folds
    from assay.models import MODELS
    from assay.search import load_portfolio

    frame, spec = load_benchmark(name)
    dataset = prepare(frame, spec.target)
    n_features = dataset.X.shape[1]
    min_count = None
    if dataset.task.is_classification:
        min_count = int(dataset.y.value_counts().min() * n_train / len(frame))
    models = {n: c for n, c in MODELS.items() if dataset.task in c.tasks}
    costs = [
        models[m].cost(n_train, n_features, config)
        for m, config in load_portfolio("default", dataset.task)
        if m in models
    ]
    return costs, choose_n_folds(n_train, min_count)


def learn_folds(rows: pd.DataFrame) -> list[str]:
    from assay.search import Budget, folds_for_budget

    variants = {k: f"assay-folds{k}" for k in (3, 5, 8)}
    wide = rows.pivot_table(index=["dataset", "fold"], columns="framework", values="normalized")
    wide = wide.dropna(subset=[v for v in variants.values() if v in wide.columns])
    if wide.empty:
        return ["No dataset has all of assay-folds3/5/8: run them first."]
    budget = Budget(float(rows.budget_s.iloc[0]))
    window = budget.trial_deadline - budget.started
    n_train = rows.groupby("dataset").n_train.first()
    heads = {name: head_fold_s(name, int(n_train[name])) for name in wide.index.levels[0]}
    table = []
    for share in SHARES:
        picks = [
            folds_for_budget(heads[d][1], heads[d][0], window, share=share) for d, _ in wide.index
        ]
        pairs = zip(wide.index, picks, strict=True)
        scores = [wide.loc[key, variants[max(3, p)]] for key, p in pairs]
        table.append((f"rule, share {share:g}", np.mean(scores), np.bincount(picks, minlength=9)))
    for k, name in variants.items():
        table.append((f"always {k} folds", wide[name].mean(), None))
    oracle = wide[list(variants.values())].max(axis=1).mean()
    table.append(("best of the three per dataset", oracle, None))
    best = max(table[: len(SHARES)], key=lambda row: row[1])
    lines = [
        f"## Bagging folds at {budget.time_limit_s:g} s ({len(wide)} dataset-splits)",
        "",
        "| folds | mean normalized score | picks 3 / 5 / 8 |",
        "|---|---:|---:|",
    ]
    for label, mean, counts in table:
        picked = "" if counts is None else f"{counts[3]} / {counts[5]} / {counts[8]}"
        lines.append(f"| {label} | {mean:.4f} | {picked} |")
    lines += ["", f"Best share: **{best[0].split()[-1]}** (set `HEAD_SHARE` in search/_budget.py)."]
    return lines


def learn_stacking(rows: pd.DataFrame) -> list[str]:
    wide = rows.pivot_table(index=["dataset", "fold"], columns="framework", values="loss")
    if not {"assay", "assay-nostack"} <= set(wide.columns):
        return ["No assay and assay-nostack rows: run them first."]
    wide = wide.dropna(subset=["assay", "assay-nostack"])
    n_train = rows.groupby("dataset").n_train.first()
    lines = ["## Stacking check (auto) against no stacking", ""]
    lines += ["| rows | dataset-splits | auto better | worse | tied |", "|---|---:|---:|---:|---:|"]
    for low, high, label in SIZES:
        part = wide[[low <= n_train[d] < high for d, _ in wide.index]]
        diff = part["assay"] - part["assay-nostack"]
        lines.append(
            f"| {label} | {len(part)} | {(diff < 0).sum()} | {(diff > 0).sum()} | "
            f"{(diff == 0).sum()} |"
        )
    return lines


def main() -> None:
    path = Path(sys.argv[1])
    rows = normalized(pd.read_csv(path))
    lines = [f"# Defaults learned on {path.name}", ""]
    lines += [*learn_folds(rows), "", *learn_stacking(rows)]
    lines += ["", f"Command: `python benchmarks/learn_defaults.py {path}`"]
    out = path.with_name(path.stem + "_defaults.md")
    out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

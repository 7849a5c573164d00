"""Turns a results CSV of run.py into a markdown report and a PNG chart beside it.

    python benchmarks/report.py benchmarks/results/tabular_60s.csv
    python benchmarks/report.py final_60s.csv --before issue4_final_60s.csv

Normalized score per (dataset, fold): 0 = the constant predictor, 1 = the best framework in
the run (below 0 is worse than constant). Failed runs carry the constant predictor's score,
as in the AutoML Benchmark. Pairwise: wins/losses/ties of assay against each peer, win rate
(ties count half) and a two-sided sign test over the decided pairs. `--before` adds assay's
rows of an earlier run (an older version) on the same dataset-splits: before and after,
normalized against this run's constant and best.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

LOWER_IS_BETTER = {"logloss", "rmse"}
ORDER = [
    "assay",
    "assay-fast",
    "assay-bagged",
    "assay-forestfolds",
    "assay-base",
    "autogluon-best",
    "autogluon-medium",
    "flaml",
    "lightgbm",
    "constant",
]


def normalized(rows: pd.DataFrame) -> pd.DataFrame:
    """Adds `loss` (lower is better) and `normalized` columns."""
    rows = rows.copy()
    sign = np.where(rows.metric.isin(LOWER_IS_BETTER), 1.0, -1.0)
    rows["loss"] = sign * rows.score
    key = ["dataset", "fold"]
    best = rows.groupby(key).loss.transform("min")
    const = rows[rows.framework == "constant"].set_index(key).loss
    rows["const_loss"] = [const.get(tuple(k), np.nan) for k in rows[key].to_numpy()]
    span = rows.const_loss - best
    rows["normalized"] = np.where(span > 0, (rows.const_loss - rows.loss) / span, np.nan)
    rows["rank"] = rows.groupby(key).loss.rank(method="average")
    return rows


def _median_ratio(table: pd.DataFrame, a: str, b: str) -> float:
    if a not in table or b not in table:  # e.g. a column a framework did not record
        return float("nan")
    ratios = (table[a] / table[b]).replace([np.inf, -np.inf], np.nan)
    return float(np.nanmedian(ratios)) if ratios.notna().any() else float("nan")


def pairwise(rows: pd.DataFrame, system: str = "assay") -> pd.DataFrame:
    from scipy.stats import binomtest

    def by_split(column: str) -> pd.DataFrame:  # a column missing from older files: empty
        if column not in rows:
            return pd.DataFrame()
        return rows.pivot_table(index=["dataset", "fold"], columns="framework", values=column)

    wide, fit, memory = by_split("loss"), by_split("fit_s"), by_split("peak_memory_mb")
    predict, single = by_split("predict_s_per_1000"), by_split("single_row_ms")
    out = []
    for peer in [f for f in ORDER if f in wide.columns and f != system]:
        both = wide[[system, peer]].dropna()
        # equal up to float rounding is a tie: the same ranking can give an AUC that
        # differs in the last bit (0.8768518518518518 against ...519)
        equal = np.isclose(both[system], both[peer], rtol=1e-9, atol=1e-12)
        wins = int(((both[system] < both[peer]) & ~equal).sum())
        losses = int(((both[system] > both[peer]) & ~equal).sum())
        ties = len(both) - wins - losses
        p = binomtest(wins, wins + losses).pvalue if wins + losses else float("nan")
        out.append(
            {
                "peer": peer,
                "n": len(both),
                "wins": wins,
                "losses": losses,
                "ties": ties,
                "win_rate": (wins + 0.5 * ties) / len(both) if len(both) else float("nan"),
                "sign_test_p": p,
                "fit_time_ratio": _median_ratio(fit, system, peer),
                "memory_ratio": _median_ratio(memory, system, peer),
                "predict_time_ratio": _median_ratio(predict, system, peer),
                "single_row_ratio": _median_ratio(single, system, peer),
            }
        )
    return pd.DataFrame(out)


def before_after(rows: pd.DataFrame, before: pd.DataFrame, system: str = "assay") -> pd.DataFrame:
    """`system`'s score before (an earlier run's row) and after (this run) on every
    dataset-split both measured, both normalized by this run's constant and best."""
    after = rows[rows.framework == system].set_index(["dataset", "fold"])
    earlier = before[before.framework == system].set_index(["dataset", "fold"])
    shared = after.index.intersection(earlier.index)
    if not len(shared):
        return pd.DataFrame()
    after, earlier = after.loc[shared], earlier.loc[shared]
    sign = np.where(after.metric.isin(LOWER_IS_BETTER), 1.0, -1.0)
    best = rows.groupby(["dataset", "fold"]).loss.min().loc[shared]
    span = (after.const_loss - best).where(lambda s: s > 0)
    out = pd.DataFrame(
        {
            "metric": after.metric,
            "before": earlier.score,
            "after": after.score,
            "before_normalized": (after.const_loss - sign * earlier.score) / span,
            "after_normalized": after.normalized,
            "before_fit_s": earlier.fit_s,
            "after_fit_s": after.fit_s,
            "before_peak_mb": earlier.peak_memory_mb,
            "after_peak_mb": after.peak_memory_mb,
        }
    )
    return out.reset_index()


def _before_after_text(changes: pd.DataFrame, before_path: Path) -> list[str]:
    better = int((changes.after_normalized > changes.before_normalized).sum())
    worse = int((changes.after_normalized < changes.before_normalized).sum())
    return [
        f"## assay before ({before_path.name}) and after, on the same {len(changes)} "
        "dataset-splits",
        "",
        f"Better on {better}, worse on {worse}; mean normalized "
        f"{changes.before_normalized.mean():.4f} -> {changes.after_normalized.mean():.4f}, "
        f"median peak memory {changes.before_peak_mb.median():.0f} -> "
        f"{changes.after_peak_mb.median():.0f} MB. The earlier rows were measured "
        "in another run: their fit times and memory are not side by side with this run's.",
        "",
        _table(changes),
        "",
    ]


def _table(frame: pd.DataFrame, digits: int = 4) -> str:
    def cell(v):
        if isinstance(v, float):
            return "-" if np.isnan(v) else f"{v:.{digits}g}"
        return str(v)

    lines = ["| " + " | ".join(map(str, frame.columns)) + " |", "|" + "---|" * len(frame.columns)]
    lines += [
        "| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)
    ]
    return "\n".join(lines)


def chart(rows: pd.DataFrame, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    frameworks = [f for f in ORDER if f in set(rows.framework)]
    data = [rows[rows.framework == f].normalized.dropna().clip(lower=-0.5) for f in frameworks]
    fig, ax = plt.subplots(figsize=(8, 4.5))
    ax.boxplot(data, showmeans=True)
    ax.set_xticks(range(1, len(frameworks) + 1), frameworks, rotation=15)
    for i, values in enumerate(data, start=1):
        ax.scatter(
            np.full(len(values), i) + np.random.default_rng(i).uniform(-0.12, 0.12, len(values)),
            values,
            s=10,
            alpha=0.6,
        )
    ax.set_ylabel("normalized score (0 = constant, 1 = best)")
    ax.set_title(path.stem.replace("_", " "))
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


SUITE_OF = {"sst2": "text", "sms-spam": "text", "mrpc": "textpair"}


def report(csv_path: Path, before_path: Path | None = None) -> str:
    rows = normalized(pd.read_csv(csv_path))
    suite = SUITE_OF.get(rows.dataset.iloc[0], "tabular")
    for column in ("single_row_ms", "version"):  # files from before these columns
        if column not in rows:
            rows[column] = np.nan
    budget = rows.budget_s.iloc[0]
    frameworks = [f for f in ORDER if f in set(rows.framework)]
    scores = rows.pivot_table(index="dataset", columns="framework", values="score")[frameworks]
    metric = rows.groupby("dataset").metric.first()
    scores.insert(0, "metric", metric)
    if "f1" in rows and rows.f1.notna().any():  # text suites: F1 of the positive class too
        f1 = rows.pivot_table(index="dataset", columns="framework", values="f1")
        for framework in frameworks:
            if framework in f1:
                scores[f"{framework} f1"] = f1[framework]
    summary = (
        rows.groupby("framework")
        .agg(
            mean_normalized=("normalized", "mean"),
            mean_rank=("rank", "mean"),
            failures=("status", lambda s: int((s != "ok").sum())),
            max_fit_s=("fit_s", "max"),
            runs_over_budget_5pct=("fit_s", lambda s: int((s > 1.05 * budget).sum())),
            median_predict_s_per_1000=("predict_s_per_1000", "median"),
            median_peak_mb=("peak_memory_mb", "median"),
            median_single_row_ms=("single_row_ms", "median"),
        )
        .reindex(frameworks)
        .reset_index()
        .dropna(axis=1, how="all")  # e.g. single-row latency, in files from before it
    )
    n_sets = rows.groupby(["dataset", "fold"]).ngroups
    text = [
        f"# {csv_path.stem}: {n_sets} dataset-folds, {budget:g} s budget, 2 cores",
        "",
        f"Reproduce: `python benchmarks/run.py --suite {suite} --budget {budget:g} "
        f"--folds {rows.fold.nunique()} --frameworks {','.join(frameworks)}"
        + (
            f" --datasets {','.join(sorted(set(rows.dataset)))}"
            if suite == "tabular" and rows.dataset.nunique() < 20  # not all of the suite
            else ""
        )
        + f" --out {csv_path.as_posix()}`;"
        + f" then `python benchmarks/report.py {csv_path.as_posix()}`.",
        "",
        "## Summary",
        "",
        _table(summary),
        "",
        "## assay against each framework",
        "",
        _table(pairwise(rows)) if "assay" in frameworks else "(assay not in this run)",
        "",
        "Ratios are medians of assay / peer per dataset (below 1: assay is faster or smaller).",
        "",
        "## Scores on the test split (auc, accuracy, f1 higher is better; logloss, rmse lower)",
        "",
        _table(scores.reset_index()),
        "",
    ]
    if before_path is not None:
        changes = before_after(rows, pd.read_csv(before_path))
        if len(changes):
            text += _before_after_text(changes, before_path)
    versions = rows.dropna(subset=["version"]).groupby("framework").version.unique()
    if len(versions):
        text += ["## Versions measured", ""]
        text += [f"- {f}: {', '.join(sorted(map(str, v)))}" for f, v in versions.items()]
        text += [
            "",
            "Rows with no version were measured before run.py recorded it; the peers' "
            "versions are pinned by setup_peers.sh.",
            "",
        ]
    if "notes" in rows and rows.notes.notna().any():
        noted = rows.dropna(subset=["notes"])
        # AutoGluon's notes name its best model: WeightedEnsemble_L3 or higher weighs
        # models of a second stack layer; _L2 weighs the first layer's alone
        stacked = noted.notes.str.contains(r"stack used|best WeightedEnsemble_L(?:[3-9]|\d\d)")
        used = stacked.groupby(noted.framework).sum()
        text += [
            "## Notes (assay: trials run and the stacking decision)",
            "",
            "Stacking used on: "
            + ", ".join(
                f"{f} {int(n)} of {int((noted.framework == f).sum())}" for f, n in used.items()
            ),
            "",
            _table(noted[["dataset", "framework", "notes"]]),
            "",
        ]
    failed = rows[rows.status != "ok"]
    if len(failed):
        text += [
            "## Failures (scored as the constant predictor)",
            "",
            _table(failed[["dataset", "framework", "status", "error"]]),
            "",
        ]
    markdown = "\n".join(text)
    csv_path.with_suffix(".md").write_text(markdown)
    if rows.normalized.notna().any():  # a run without the constant predictor has no scale
        chart(rows, csv_path.with_suffix(".png"))
    return markdown


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="A markdown report and chart of a run.py CSV.")
    parser.add_argument("csv", type=Path, help="results of benchmarks/run.py")
    parser.add_argument(
        "--before", type=Path, help="an earlier run's CSV: assay before and after, same splits"
    )
    args = parser.parse_args()
    for path in (args.csv, args.before):
        if path is not None and not path.is_file():
            parser.error(f"{path}: no such results file")
    print(report(args.csv, args.before))

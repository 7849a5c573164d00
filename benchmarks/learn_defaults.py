"""Learn the fit-level defaults from runs on the design datasets (see benchmarks/README.md).

    python benchmarks/run.py --suite tabular_design --budget 60 \
        --frameworks constant,assay-folds3,assay-folds5,assay-folds8,assay-nostack
    python benchmarks/learn_defaults.py benchmarks/results/tabular_design_60s.csv

Two defaults, both learned on `tabular_design` only (the `tabular` suite judges them):
- **Bagging folds under a budget** (`folds_for_budget`): a timed fit takes 8, 5 or 3 folds
  by its training rows per second of trial time (`FOLDS_BY_ROWS`), fewer when the
  portfolio's first configs would not fit in `HEAD_SHARE` times the trial time. This
  replays the rule on each design dataset (its rows, and its head cost from the packaged
  portfolio and the models' cost estimates, as the fit computes them) for a grid of row
  thresholds and shares, and the head-cost guard alone, and reads the normalized test score
  of the run with the folds each picks. Fixed 3, 5 and 8 folds and the per-dataset best
  are shown beside them, with each one's head-to-head count against the default.
- **The stacking check**: stack="auto" against `assay-nostack` at the same folds, by what
  the check decided, and replayed as "check only under N training rows" for a grid of N
  (never checking among them). The auto run is `assay` when the file has it:

    python benchmarks/run.py --suite tabular_design --budget 60 \
        --frameworks constant,assay,assay-nostack --out results/tabular_design_60s_stack.csv

  else the `assay-folds<k>` run whose k the default fold rule picks.

A third, from a run of its own: **the deployment** (`deploy="auto"`, `REFIT_FROM_ROWS` in
automl/_refit.py): refitted on all rows against bagged, by training rows:

    python benchmarks/run.py --suite tabular_design --budget 60 \
        --frameworks constant,assay-bagged,assay-fast --out results/deploy_by_rows_60s.csv

Beside them, from the fit logs (`<csv>_trials.jsonl.gz`), each family's share of the trial
time against its share of the ensemble's weight: the evidence for time per family, which
is not replayed (a cap changes which configs finish, which the logs cannot tell).

Writes `<csv>_defaults.md` beside the CSV and prints it.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from assay.search._budget import FOLDS_BY_ROWS, HEAD_SHARE  # noqa: E402
from report import normalized  # noqa: E402
from run import read_logs  # noqa: E402

SHARES = (0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0)


def head_fold_s(name: str, n_train: int) -> tuple[list[float], int, int]:
    """The packaged portfolio's per-fold cost estimates on this dataset, its fold cap and
    its training rows."""
    from assay.data import load_benchmark, prepare
    from assay.evaluate import choose_n_folds
    from assay.models import MODELS
    from assay.search import fold_cost_s, load_portfolio

    frame, spec = load_benchmark(name)
    dataset = prepare(frame, spec.target)
    n_features = dataset.X.shape[1]
    n_classes = dataset.y.nunique() if dataset.task.is_classification else 0
    models = {n: c for n, c in MODELS.items() if dataset.task in c.tasks}
    costs = [
        fold_cost_s(models[m], n_train, n_features, config, n_classes)
        for m, config in load_portfolio("default", dataset.task)
        if m in models
    ]
    return costs, choose_n_folds(n_train), n_train


VARIANTS = {k: f"assay-folds{k}" for k in (3, 5, 8)}


Rule = tuple[float, tuple[tuple[int, int], ...]]  # (head share, rows rule)
NO_ROWS_RULE: tuple[tuple[int, int], ...] = ((10**12, 8),)  # the head-cost guard alone
ROWS_RULES = (
    ((1_000, 8), (10_000, 5)),
    ((1_500, 8), (8_000, 5)),
    ((2_000, 8), (5_000, 5)),
    ((2_000, 8), (10_000, 5)),
    ((2_000, 8), (20_000, 5)),
    ((3_000, 8), (10_000, 5)),
    ((4_000, 8), (15_000, 5)),
)


def rule_picks(keys: list[tuple[str, int]], heads: dict, window: float, rule: Rule) -> list[int]:
    """The folds `folds_for_budget` picks for each (dataset, split): at least 3, as the
    runs go."""
    from assay.search import folds_for_budget

    share, rows_rule = rule
    picks = []
    for dataset, _ in keys:
        costs, max_folds, n_train = heads[dataset]
        k = folds_for_budget(max_folds, n_train, costs, window, rows_rule=rows_rule, share=share)
        picks.append(max(3, k))
    return picks


def _label(rule: Rule) -> str:
    share, rows_rule = rule
    if rows_rule == NO_ROWS_RULE:
        return f"head cost alone, share {share:g}"
    rows = ", ".join(f"{k} under {n:,}" for n, k in rows_rule)
    return f"rows ({rows}), share {share:g}"


def trial_window(rows: pd.DataFrame) -> tuple[float, float]:
    from assay.search import Budget

    budget = Budget(float(rows.budget_s.iloc[0]))
    return budget.time_limit_s, budget.trial_deadline - budget.started


def learn_folds(rows: pd.DataFrame, heads: dict) -> list[str]:
    wide = rows.pivot_table(index=["dataset", "fold"], columns="framework", values="normalized")
    wide = wide.dropna(subset=[v for v in VARIANTS.values() if v in wide.columns])
    if wide.empty or not set(VARIANTS.values()) <= set(wide.columns):
        return ["No dataset has all of assay-folds3/5/8: run them first."]
    limit_s, window = trial_window(rows)
    keys = list(wide.index)
    current_rule: Rule = (HEAD_SHARE, FOLDS_BY_ROWS)
    rules: list[Rule] = [(share, FOLDS_BY_ROWS) for share in SHARES]
    rules += [(HEAD_SHARE, r) for r in ROWS_RULES if r != FOLDS_BY_ROWS]
    rules += [(share, NO_ROWS_RULE) for share in SHARES]
    table = []
    for rule in rules:
        picks = rule_picks(keys, heads, window, rule)
        scores = np.array([wide.loc[key, VARIANTS[p]] for key, p in zip(keys, picks, strict=True)])
        table.append((_label(rule), scores, np.bincount(picks, minlength=9), rule))
    for k, name in VARIANTS.items():
        table.append((f"always {k} folds", wide[name].to_numpy(), None, None))
    oracle = wide[list(VARIANTS.values())].max(axis=1).to_numpy()
    table.append(("best of the three per dataset", oracle, None, None))
    current = next(row[1] for row in table if row[3] == current_rule)
    best = max((row for row in table if row[3] is not None), key=lambda row: row[1].mean())
    lines = [
        f"## Bagging folds at {limit_s:g} s ({len(wide)} dataset-splits)",
        "",
        "| folds | mean normalized score | picks 3 / 5 / 8 | better / worse than the default |",
        "|---|---:|---:|---:|",
    ]
    for label, scores, counts, rule in table:
        picked = "" if counts is None else f"{counts[3]} / {counts[5]} / {counts[8]}"
        diff = scores - current
        versus = f"{(diff > 1e-9).sum()} / {(diff < -1e-9).sum()}"
        mark = " (default)" if rule == current_rule else ""
        lines.append(f"| {label}{mark} | {scores.mean():.4f} | {picked} | {versus} |")
    lines += [
        "",
        f"Highest mean: **{best[0]}**; the default (`FOLDS_BY_ROWS`, `HEAD_SHARE` in "
        f"search/_budget.py) is {_label(current_rule)}. One split per dataset: means within "
        "~0.002 are noise, so read the head-to-head counts beside them.",
    ]
    return lines


STACK_ROWS = (0, 1_000, 2_000, 3_000, 5_000, 10_000, 20_000, 10**12)  # check only below


def replay_by_rows(
    rows, above, below, limits, baseline, ends: tuple[str, str], count_below: bool = False
) -> list[str]:
    """A table row per limit N of a default replayed as "`below`'s score under N training
    rows, `above`'s from N on": its mean normalized score, how many dataset-splits take
    `above` (`below` with `count_below`), and how many score better / worse than
    `baseline`. The first and last limits (0 and a bound past every dataset) are labelled
    `ends`."""
    lines = []
    for limit in limits:
        taken = np.asarray(rows) >= limit
        scores = np.where(taken, above, below)
        diff = scores - np.asarray(baseline)
        label = (
            ends[0] if limit == limits[0] else ends[1] if limit == limits[-1] else f"{limit:,} rows"
        )
        lines.append(
            f"| {label} | {scores.mean():.4f} | {(~taken if count_below else taken).sum()} | "
            f"{(diff > 1e-9).sum()} / {(diff < -1e-9).sum()} |"
        )
    return lines


def stack_reason(note: str) -> str:
    """The stacking decision of an auto run, from its results row's notes."""
    if "stack used" in note:
        return "used"
    if "need ~" in note:
        return "skipped: no time for the check"
    if "did not score better" in note or "resamples" in note:
        return "checked: level 2 rejected"
    return "not checked: " + note.split("stack not used: ", 1)[-1].split(";")[0][:40]


def stack_pairs(rows: pd.DataFrame, heads: dict) -> pd.DataFrame:
    """Per dataset-split: the stacking check's run (stack="auto") beside `assay-nostack` at
    the same folds. The auto run is `assay` when the file has it (the same code in the same
    run); else the `assay-folds<k>` run whose k the fold rule picks, which is what `assay`
    runs."""
    wide = rows.pivot_table(index=["dataset", "fold"], columns="framework", values="normalized")
    notes = rows.pivot_table(
        index=["dataset", "fold"], columns="framework", values="notes", aggfunc="first"
    )
    keys = [k for k in wide.index if pd.notna(wide.loc[k].get("assay-nostack", np.nan))]
    if "assay" in wide.columns:
        autos = ["assay"] * len(keys)
    else:
        _, window = trial_window(rows)
        rule = (HEAD_SHARE, FOLDS_BY_ROWS)
        autos = [VARIANTS[pick] for pick in rule_picks(keys, heads, window, rule)]
    n_train = rows.groupby("dataset").n_train.first()
    table = [
        {
            "dataset": key[0],
            "fold": key[1],
            "rows": int(n_train[key[0]]),
            "auto": wide.loc[key, auto],
            "off": wide.loc[key, "assay-nostack"],
            "reason": stack_reason(str(notes.loc[key, auto])),
        }
        for key, auto in zip(keys, autos, strict=True)
        if auto in wide.columns and pd.notna(wide.loc[key, auto])
    ]
    return pd.DataFrame(table)


def learn_stacking(rows: pd.DataFrame, heads: dict) -> list[str]:
    """The stacking check (stack="auto") against no stacking, by what the check decided, and
    replayed as "check only on data under N training rows" for a grid of N: a dataset at
    or above N takes the no-stacking run's score. The check costs trial time even where
    it rejects level 2 or is skipped, so never checking is among the candidates."""
    pairs = stack_pairs(rows, heads)
    if pairs.empty:
        return ["No assay-nostack rows: run them first."]
    pairs["diff"] = pairs.auto - pairs.off
    lines = [f"## Stacking check (auto) against no stacking ({len(pairs)} dataset-splits)", ""]
    lines += [
        "| decision of the auto run | dataset-splits | mean normalized gain | auto better | "
        "worse |",
        "|---|---:|---:|---:|---:|",
    ]
    for reason, part in pairs.groupby("reason"):
        lines.append(
            f"| {reason} | {len(part)} | {part['diff'].mean():+.4f} | "
            f"{(part['diff'] > 1e-9).sum()} | {(part['diff'] < -1e-9).sum()} |"
        )
    lines += [
        "",
        "| check only under | mean normalized score | dataset-splits checked | better / worse "
        "than always checking |",
        "|---|---:|---:|---:|",
    ]
    ends = ("never (stack='off')", "always (stack='auto', the default)")
    lines += replay_by_rows(
        pairs.rows, pairs.off, pairs.auto, STACK_ROWS, pairs.auto, ends, count_below=True
    )
    lines += [
        "",
        "Both runs differ by their timing as well as by the stack: a gain where the check "
        "was skipped or rejected is the check's cost (or noise), not level 2's.",
    ]
    return lines


DEPLOY_ROWS = (0, 2_000, 3_000, 4_000, 5_000, 6_000, 8_000, 10**12)  # refit from N rows on


def learn_deploy(rows: pd.DataFrame) -> list[str]:
    """deploy="fast" (`assay-fast`: each ensemble member refitted once on all rows, its
    refit reserved in the budget) against bagged (`assay-bagged`, or `assay` run at a
    commit whose default was bagged), per dataset-split by training rows, and replayed as
    "refit from N training rows on, bagged below" for a grid of N."""
    bagged = "assay-bagged" if "assay-bagged" in set(rows.framework) else "assay"
    wide = rows.pivot_table(index=["dataset", "fold"], columns="framework", values="normalized")
    if not {bagged, "assay-fast"} <= set(wide.columns):
        return [f"No {bagged} and assay-fast rows side by side: run them first."]
    wide = wide[[bagged, "assay-fast"]].dropna()
    n_train = rows.groupby(["dataset", "fold"]).n_train.first()
    peak = rows.pivot_table(index=["dataset", "fold"], columns="framework", values="peak_memory_mb")
    wide["rows"] = [int(n_train[key]) for key in wide.index]
    wide = wide.sort_values("rows")
    lines = [
        f"## Deployment: refitted on all rows (fast) against bagged ({len(wide)} dataset-splits)",
        "",
        f"Bagged: `{bagged}`. Normalized test scores (1 = the better of the two, 0 = "
        "constant); `fast better` compares the unrounded scores.",
        "",
        "| dataset | split | training rows | bagged | fast | fast better | peak MB bagged / fast |",
        "|---|---:|---:|---:|---:|---|---:|",
    ]
    for (dataset, fold), row in wide.iterrows():
        diff = row["assay-fast"] - row[bagged]
        verdict = "yes" if diff > 1e-9 else "no" if diff < -1e-9 else "tie"
        mb = peak.loc[(dataset, fold)]
        lines.append(
            f"| {dataset} | {fold} | {int(row.rows):,} | {row[bagged]:.4f} | "
            f"{row['assay-fast']:.4f} | {verdict} | {mb[bagged]:.0f} / {mb['assay-fast']:.0f} |"
        )
    lines += [
        "",
        "| refit from | mean normalized score | dataset-splits refitted | better / worse than "
        "always bagged |",
        "|---|---:|---:|---:|",
    ]
    fast, ends = wide["assay-fast"], ("always (fast)", "never (bagged)")
    lines += replay_by_rows(wide.rows, fast, wide[bagged], DEPLOY_ROWS, wide[bagged], ends)
    lines += [
        "",
        "The two runs differ by their timing as well (the refit's reserve is trial time the "
        "fast run does not have), so this is the whole effect of the deployment on the fit.",
    ]
    return lines


def family_time_and_weight(logs: list[dict]) -> list[str]:
    """Per model family, over the runs' fit logs: its mean share of the time the trials took,
    its mean share of the level-1 ensemble's weight, and in how many runs it had any weight.
    A family that takes much more time than the weight it earns is a candidate for less."""
    # assay's logs only (a peer's log has its leaderboard instead of trials)
    logs = [log for log in logs if any("weight" in t for t in log.get("trials", []))]
    if not logs:
        return ["No fit logs with ensemble weights: run the design suite first."]
    time_share: dict[str, list[float]] = {}
    weight_share: dict[str, list[float]] = {}
    families = sorted({t["model"] for log in logs for t in log["trials"]})
    for log in logs:
        spent = sum(t["fit_s"] for t in log["trials"]) or 1.0
        for family in families:
            mine = [t for t in log["trials"] if t["model"] == family]
            time_share.setdefault(family, []).append(sum(t["fit_s"] for t in mine) / spent)
            weight_share.setdefault(family, []).append(sum(t["weight"] or 0.0 for t in mine))
    lines = [
        f"## Time and ensemble weight by family ({len(logs)} fit logs)",
        "",
        "| family | share of trial time | share of ensemble weight | runs with weight |",
        "|---|---:|---:|---:|",
    ]
    for family in sorted(families, key=lambda f: -np.mean(time_share[f])):
        used = sum(w > 0 for w in weight_share[family])
        lines.append(
            f"| {family} | {np.mean(time_share[family]):.3f} | "
            f"{np.mean(weight_share[family]):.3f} | {used} of {len(logs)} |"
        )
    return lines


def main() -> None:
    path = Path(sys.argv[1])
    rows = normalized(pd.read_csv(path))
    lines = [f"# Defaults learned on {path.name}", ""]
    if "assay-fast" in set(rows.framework):  # a run for the deployment alone
        lines += [*learn_deploy(rows), ""]
    else:
        n_train = rows.groupby("dataset").n_train.first()
        heads = {name: head_fold_s(name, int(n)) for name, n in n_train.items()}
        lines += [*learn_folds(rows, heads), "", *learn_stacking(rows, heads), ""]
    lines += family_time_and_weight(read_logs(path))
    lines += ["", f"Command: `python benchmarks/learn_defaults.py {path}`"]
    out = path.with_name(path.stem + "_defaults.md")
    out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

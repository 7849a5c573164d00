"""Learn assay's ordered portfolio of configs on the design datasets (see benchmarks/README.md).

    python benchmarks/build_portfolio.py evaluate    # candidates x datasets -> CSV, resumable
    python benchmarks/build_portfolio.py select      # ordered portfolio + leave-one-out check

The portfolio is learned on the manifest's `tabular_design` section only, so the benchmark
suite `tabular` judges it on data it never saw. `evaluate` scores every candidate config
(each family's default configs plus seeded samples from its search space) on the training
part of each dataset's fold-0 split, by k-fold cross-validation under a time cap, appending
one row per (candidate, dataset) with its cost. `select` turns the scores into normalized
errors (0 = the best candidate on that dataset, 1 = the median candidate or worse) on the
datasets where every candidate was evaluated, and orders the portfolio: three greedy picks
(each the config that most lowers the mean over datasets of the best normalized error so
far), then the families in turn, each by its config of the lowest mean error
(`portfolio_order`). It writes the packaged portfolio and a table comparing, dataset by
dataset, a portfolio built without that dataset against the hand-made one.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
import zlib
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from _rows import append_row, read_rows  # noqa: E402
from run import SUITES, split  # noqa: E402

CANDIDATES_CSV = HERE / "results" / "portfolio_candidates_design.csv"
PACKAGED = ROOT / "src" / "assay" / "search" / "portfolios" / "default.json"
REPORT = HERE / "results" / "portfolio_loo.md"
# Large data: the design datasets of this many rows or more, evaluated at up to
# LARGE_MAX_ROWS training rows, give each pool a second list that assay reads from
# LARGE_FROM_ROWS training rows on (`load_portfolio`).
LARGE_CANDIDATES_CSV = HERE / "results" / "portfolio_candidates_design_large.csv"
LARGE_REPORT = HERE / "results" / "portfolio_large_loo.md"
LARGE_DATA_ROWS = 10_000
LARGE_MAX_ROWS = 15_000
LARGE_FROM_ROWS = 8_000
# Seeded samples per family on top of its default configs: more for the boosters, which
# lead on most tabular data and have the widest spaces.
N_SAMPLES = {
    "lightgbm": 8,
    "xgboost": 5,
    "catboost": 4,
    "extra_trees": 3,
    "random_forest": 3,
    "linear": 1,
    "knn": 2,
    "mlp": 4,
}
FIELDS = ["pool", "candidate", "model", "config", "dataset", "metric", "status", "score"]
FIELDS += ["loss", "fit_s", "n_rows", "error"]


def candidates(pool: str) -> list[tuple[str, str, dict]]:
    """(id, model, config) for one pool; the same list on every machine and run."""
    from assay._types import Task
    from assay.models import MODELS
    from assay.search._space import sample

    task = Task.BINARY if pool == "classification" else Task.REGRESSION
    out = []
    for name, cls in MODELS.items():
        if task not in cls.tasks or cls.kind is not None:
            continue  # the networks of text, image and sound columns: not tabular configs
        configs = [dict(c) for c in cls.default_configs(task)]
        space = cls.search_space(5_000, 20, task)
        rng = np.random.default_rng(zlib.crc32(f"{pool}/{name}".encode()))
        configs += [sample(space, rng) for _ in range(N_SAMPLES.get(name, 2))]
        for config in configs:
            config = json.loads(json.dumps(config, default=_plain))
            key = json.dumps([pool, name, config], sort_keys=True)
            out.append((hashlib.sha1(key.encode()).hexdigest()[:10], name, config))
    return out


def subsample(frame: pd.DataFrame, target: str, task: str, n_rows: int) -> pd.DataFrame:
    from sklearn.model_selection import train_test_split

    stratify = frame[target] if task != "regression" else None
    kept, _ = train_test_split(frame, train_size=n_rows, random_state=0, stratify=stratify)
    return kept


def _plain(value):
    return value.item() if hasattr(value, "item") else str(value)


def _done(path: Path) -> set[tuple[str, str]]:
    return {(r["candidate"], r["dataset"]) for r in read_rows(path)}


def evaluate(args) -> None:
    from assay.data import prepare
    from assay.evaluate import TrialTimeout, cross_fit, get_metric, make_folds
    from assay.evaluate._cv import safe_score
    from assay.models import MODELS

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    names = [n for n in args.datasets.split(",") if n]
    if args.min_rows:  # by the manifest's row counts, before any table is read
        from assay.data import benchmark_datasets

        sized = [s.name for s in benchmark_datasets(section=args.suite) if s.rows >= args.min_rows]
        names = [n for n in names or sized if n in sized]
        if not names:
            return
    skip = {n for n in args.skip.split(",") if n}
    for name, frame, target, task_name, metric_name, _ in SUITES[args.suite](names):
        if name in skip:
            continue
        pool = "regression" if task_name == "regression" else "classification"
        done = _done(out)  # re-read: several evaluate processes may share the file
        todo = [c for c in candidates(pool) if (c[0], name) not in done]
        if not todo:
            continue
        train, _ = split(frame, target, task_name, seed=0)
        if len(train) > args.max_rows:  # the same seeded subsample for every candidate
            train = subsample(train, target, task_name, args.max_rows)
        data = prepare(train.reset_index(drop=True), target, task=task_name)
        metric = get_metric(metric_name, data.task)
        if data.task.is_classification:
            classes, y = np.unique(data.y.to_numpy(), return_inverse=True)
            n_classes = len(classes)
        else:
            y, n_classes = data.y.to_numpy(dtype=float), 0
        folds = make_folds(y, data.task, args.folds, 0)
        for cid, model, config in todo:
            if (cid, name) in _done(out):  # another evaluate process got to it first
                continue
            row = {"pool": pool, "candidate": cid, "model": model, "dataset": name}
            row.update(config=json.dumps(config, sort_keys=True), metric=metric_name)
            row.update(n_rows=len(y), error="", score="", loss="")
            started = time.monotonic()
            try:
                fit = cross_fit(
                    MODELS[model],
                    config,
                    data.X,
                    y,
                    data.schema.types,
                    folds,
                    task=data.task,
                    metric=metric,
                    n_classes=n_classes,
                    n_jobs=args.n_jobs,
                    random_state=0,
                    deadline=time.monotonic() + args.cap,
                )
                value = safe_score(metric, y, fit.oof)
                row.update(status="ok", score=value, loss=metric.loss(value))
            except TrialTimeout as exc:
                row.update(status="timeout", error=str(exc)[:200])
            except Exception as exc:  # a failing candidate is a result, not a crash
                row.update(status="error", error=f"{type(exc).__name__}: {exc}"[:200])
            row["fit_s"] = round(time.monotonic() - started, 2)
            append_row(out, FIELDS, row)
            print(f"{name:20s} {model:14s} {cid} {row['status']:7s} {row['score']}", flush=True)


# -- selection -------------------------------------------------------------------------
def normalized_errors(rows: pd.DataFrame) -> pd.DataFrame:
    """candidate x dataset: 0 for the best candidate on a dataset, 1 for the median or worse
    (and for failures), linear between."""
    loss = rows.pivot_table(index="candidate", columns="dataset", values="loss", aggfunc="first")
    values = loss.to_numpy()
    best, median = np.nanmin(values, axis=0), np.nanmedian(values, axis=0)
    span = median - best
    with np.errstate(divide="ignore", invalid="ignore"):
        errors = np.where(span > 0, (values - best) / span, (values > best).astype(float))
    errors = np.where(np.isnan(values), 1.0, np.clip(errors, 0.0, 1.0))
    return pd.DataFrame(errors, index=loss.index, columns=loss.columns)


def greedy(
    errors: pd.DataFrame, cost: pd.Series, family: dict[str, str], size: int, lead: int = 2
) -> list[str]:
    """Order candidates by how much each lowers the mean best-so-far error, then by mean
    error, then by cost. No family may get more than `lead` entries ahead of an even share
    (`len(chosen) // n_families`): greedy alone saturates after a few picks and then fills
    with the families that are good on average, leaving out a family that is best on few
    datasets (extra trees on phoneme); the quota lowered the held-out error at every k."""
    chosen: list[str] = []
    current = np.ones(errors.shape[1])
    left = list(errors.index)
    mean_error = errors.mean(axis=1)
    while left and len(chosen) < size:
        counts = pd.Series([family[c] for c in chosen], dtype=object).value_counts()
        n_families = len({family[c] for c in left})
        cap = len(chosen) // n_families + lead
        allowed = [c for c in left if counts.get(family[c], 0) < cap] or left
        gain = np.minimum(errors.loc[allowed].to_numpy(), current).mean(axis=1)
        keys = (cost.loc[allowed].to_numpy(), mean_error.loc[allowed].to_numpy(), gain)
        pick = allowed[int(np.lexsort(keys)[0])]
        chosen.append(pick)
        current = np.minimum(current, errors.loc[pick].to_numpy())
        left.remove(pick)
    return chosen


def portfolio_order(
    errors: pd.DataFrame, cost: pd.Series, family: dict[str, str], size: int, n_greedy: int = 3
) -> list[str]:
    """The first `n_greedy` configs by `greedy`, then the families in turn (the family of the
    best remaining mean error first), each giving its config of the lowest mean error.

    Greedy alone overfits the datasets it learns on: after a few picks each new one lowers
    the error of one or two of them, and held out (leave one dataset out on 34 design
    datasets) its first 10 and 20 configs were worse than the families' hand-made defaults
    (0.128 / 0.083 against 0.114 / 0.057 mean normalized error). Three greedy picks then
    families in turn: 0.104 / 0.059, and 0.145 against 0.173 at 5."""
    chosen = greedy(errors, cost, family, n_greedy) if n_greedy else []
    mean_error = errors.mean(axis=1).sort_values(kind="stable")
    queues: dict[str, list[str]] = {}
    for c in mean_error.index:
        if c not in chosen:
            queues.setdefault(family[c], []).append(c)
    turn = sorted(queues, key=lambda f: mean_error[queues[f][0]])
    while len(chosen) < size and any(queues.values()):
        for f in turn:
            if queues[f] and len(chosen) < size:
                chosen.append(queues[f].pop(0))
    return chosen


def best_of_first(errors: pd.DataFrame, order: list[str], dataset: str, k: int) -> float:
    present = [c for c in order[:k] if c in errors.index]
    return float(errors.loc[present, dataset].min()) if present else 1.0


def complete_datasets(part: pd.DataFrame, pool: str) -> pd.DataFrame:
    """The rows of datasets on which every candidate of the pool was evaluated: a dataset an
    interrupted `evaluate` left half done would count its missing candidates as failures."""
    wanted = {cid for cid, _, _ in candidates(pool)}
    seen = part.groupby("dataset").candidate.agg(lambda ids: wanted <= set(ids))
    partial = sorted(seen.index[~seen])
    if partial:
        print(f"{pool}: left out, not every candidate evaluated: {', '.join(partial)}")
    return part[part.dataset.isin(seen.index[seen]) & part.candidate.isin(wanted)]


def errors_and_cost(part: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    """Normalized errors (candidate x dataset) and each candidate's mean seconds."""
    errors = normalized_errors(part)
    return errors, part.groupby("candidate").fit_s.mean().reindex(errors.index)


def large_order(
    big: pd.DataFrame, errors: pd.DataFrame, cost: pd.Series, family: dict[str, str], size: int
) -> tuple[list[str], list[dict]]:
    """The large-data order, learned on `big` (the large datasets' rows) as the general one
    is on the 4,000-row `errors`; and, each large dataset held out in turn, both orders
    built without it, read on its full-size errors, with the seconds their first k took."""
    large, large_cost = errors_and_cost(big)
    held_out = []
    for dataset in large.columns:
        order_large = portfolio_order(large.drop(columns=[dataset]), large_cost, family, size)
        others = errors.drop(columns=[dataset], errors="ignore")
        order_small = portfolio_order(others, cost, family, size)
        seconds = big[big.dataset == dataset].set_index("candidate").fit_s
        for k in (1, 3, 5, 10, 20):
            held_out.append(
                {
                    "dataset": dataset,
                    "k": k,
                    "large": best_of_first(large, order_large, dataset, k),
                    "small": best_of_first(large, order_small, dataset, k),
                    "large_s": float(seconds.reindex(order_large[:k]).sum()),
                    "small_s": float(seconds.reindex(order_small[:k]).sum()),
                }
            )
    return portfolio_order(large, large_cost, family, size), held_out


def _candidate_rows(path: Path) -> pd.DataFrame:
    if not path.is_file():
        return pd.DataFrame(columns=FIELDS)
    rows = pd.read_csv(path)
    rows["loss"] = pd.to_numeric(rows.loss, errors="coerce")
    return rows


def select(args) -> dict[str, list]:
    """The ordered pools (and writes them unless `dry_run`, with the reports)."""
    from assay._types import Task
    from assay.search import load_portfolio, save_portfolio
    from assay.search._portfolio import LARGE

    rows = _candidate_rows(Path(args.candidates))
    large_rows = _candidate_rows(Path(args.large_candidates))
    both = pd.concat([rows, large_rows])
    configs = {r.candidate: (r.model, json.loads(r.config)) for r in both.itertuples()}
    about = (
        "Learned by benchmarks/build_portfolio.py on {n} datasets of tabular_design (none "
        "of the benchmark suite): 3 configs greedy for the best mean normalized error, "
        "then the families in turn, each by its mean normalized error."
    )
    about_large = (
        " The _large lists: the same on the {n} design datasets of {min_rows:,} rows or "
        "more, at up to {max_rows:,} training rows."
    )
    pools, report, large_report, used, used_large = {}, [], [], [], []
    for pool, task in (("classification", Task.BINARY), ("regression", Task.REGRESSION)):
        part = complete_datasets(rows[rows.pool == pool], pool)
        if part.empty:
            continue
        used.append(part)
        errors, cost = errors_and_cost(part)
        family = {c: configs[c][0] for c in errors.index}
        pools[pool] = [configs[c] for c in portfolio_order(errors, cost, family, args.size)]
        # the hand-made configs are among the candidates (each family's defaults)
        by_key = {json.dumps(configs[c], sort_keys=True): c for c in errors.index}
        handmade_keys = [json.dumps(e, sort_keys=True) for e in load_portfolio("handmade", task)]
        handmade_order = [by_key[key] for key in handmade_keys if key in by_key]
        for dataset in errors.columns:
            others = errors.drop(columns=[dataset])
            order = portfolio_order(others, cost, family, args.size)
            for k in (1, 3, 5, 10, 20):
                report.append(
                    {
                        "pool": pool,
                        "dataset": dataset,
                        "k": k,
                        "learned": best_of_first(errors, order, dataset, k),
                        "handmade": best_of_first(errors, handmade_order, dataset, k),
                    }
                )
        big = complete_datasets(large_rows[large_rows.pool == pool], pool)
        if big.empty:
            continue
        used_large.append(big)
        order, held_out = large_order(big, errors, cost, family, args.size)
        pools[pool + LARGE] = [configs[c] for c in order]
        large_report += [{"pool": pool, **row} for row in held_out]
    rows = pd.concat(used)
    n = rows.dataset.nunique()
    if not args.dry_run:
        text, large_from = about.format(n=n), None
        if used_large:
            n_large = sum(part.dataset.nunique() for part in used_large)
            text += about_large.format(n=n_large, min_rows=LARGE_DATA_ROWS, max_rows=LARGE_MAX_ROWS)
            large_from = args.large_from
        save_portfolio(PACKAGED, pools, text, large_from_rows=large_from)
    write_report(pd.DataFrame(report), rows, Path(args.report))
    if large_report:
        large_rows = pd.concat(used_large)
        write_large_report(pd.DataFrame(large_report), large_rows, Path(args.large_report))
    return pools


def _by_k(report: pd.DataFrame, ours: str, theirs: str, columns: list[str]):
    """The means of `columns` by k, and by k how often `ours` is lower (better) or higher
    than `theirs`."""
    table = report.groupby("k")[columns].mean()
    flags = report.assign(win=report[ours] < report[theirs], loss=report[ours] > report[theirs])
    return table, flags.groupby("k")[["win", "loss"]].sum()


def _write(path: Path, lines: list[str], report: pd.DataFrame) -> None:
    path.write_text("\n".join(lines) + "\n")
    report.to_csv(path.with_suffix(".csv"), index=False)
    print("\n".join(lines))


def write_report(report: pd.DataFrame, rows: pd.DataFrame, path: Path) -> None:
    table, counts = _by_k(report, "learned", "handmade", ["learned", "handmade"])
    lines = [
        "# Learned portfolio: leave-one-dataset-out check",
        "",
        f"{rows.candidate.nunique()} candidate configs, {rows.dataset.nunique()} datasets, "
        f"{len(rows)} evaluations ({(rows.status != 'ok').sum()} failed or over the cap). "
        "For each dataset the portfolio is built on the other datasets of its pool, then "
        "the best normalized error among its first k configs is read on the held-out "
        "dataset (0 = best candidate, 1 = median candidate). Lower is better.",
        "",
        "| first k configs | learned (held out) | hand-made | learned better / worse |",
        "|---:|---:|---:|---:|",
    ]
    for k, row in table.iterrows():
        lines.append(
            f"| {k} | {row.learned:.3f} | {row.handmade:.3f} | "
            f"{int(counts.loc[k, 'win'])} / {int(counts.loc[k, 'loss'])} |"
        )
    lines += ["", "Command: `python benchmarks/build_portfolio.py evaluate && "]
    lines[-1] += "python benchmarks/build_portfolio.py select`"
    _write(path, lines, report)


def write_large_report(report: pd.DataFrame, rows: pd.DataFrame, path: Path) -> None:
    """Leave one large dataset out: the large-data order built on the other large datasets
    against the order learned on the 4,000-row subsamples, both read on the held-out
    dataset's full-size errors, with the seconds their first k configs took there."""
    table, counts = _by_k(report, "large", "small", ["large", "small", "large_s", "small_s"])
    lines = [
        "# Large-data portfolio: leave-one-dataset-out check",
        "",
        f"{rows.candidate.nunique()} candidate configs on {rows.dataset.nunique()} datasets of "
        f"tabular_design with {LARGE_DATA_ROWS:,} rows or more, their training part at up to "
        f"{rows.n_rows.max():,} rows. For each, the large-data order is built on the other "
        "large datasets of its pool, and the best normalized error among its first k configs "
        "is read on the held-out dataset, beside the order learned on 4,000-row subsamples "
        "(0 = best candidate, 1 = median). Seconds: what those k configs took there "
        "(3 folds, one thread, summed).",
        "",
        "| first k configs | large-data order | 4,000-row order | better / worse "
        "| large-data s | 4,000-row s |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for k, row in table.iterrows():
        lines.append(
            f"| {k} | {row.large:.3f} | {row.small:.3f} | {int(counts.loc[k, 'win'])} / "
            f"{int(counts.loc[k, 'loss'])} | {row.large_s:.0f} | {row.small_s:.0f} |"
        )
    _write(path, lines, report)


def main() -> None:
    parser = argparse.ArgumentParser(description="Learn assay's portfolio of configs.")
    commands = parser.add_subparsers(dest="command", required=True)
    ev = commands.add_parser("evaluate", help="score candidates on the suite (resumable)")
    ev.add_argument("--suite", default="tabular_design", choices=["tabular_design", "tabular"])
    ev.add_argument("--datasets", default="", help="comma-separated names (default all)")
    ev.add_argument("--skip", default="", help="comma-separated names to leave out")
    ev.add_argument("--max-rows", type=int, default=4_000)
    ev.add_argument("--folds", type=int, default=3)
    ev.add_argument("--cap", type=float, default=60.0, help="seconds per candidate and dataset")
    ev.add_argument("--n-jobs", type=int, default=1)
    ev.add_argument("--out", default=str(CANDIDATES_CSV))
    ev.add_argument("--min-rows", type=int, default=0, help="leave out smaller datasets")
    ev.add_argument(
        "--large",
        action="store_true",
        help=f"the large-data evaluation: datasets of {LARGE_DATA_ROWS:,} rows or more, at up "
        f"to {LARGE_MAX_ROWS:,} training rows, into {LARGE_CANDIDATES_CSV.name}",
    )
    se = commands.add_parser("select", help="ordered portfolio + leave-one-out report")
    se.add_argument("--candidates", default=str(CANDIDATES_CSV))
    se.add_argument("--size", type=int, default=40)
    se.add_argument("--report", default=str(REPORT))
    se.add_argument("--large-candidates", default=str(LARGE_CANDIDATES_CSV))
    se.add_argument("--large-report", default=str(LARGE_REPORT))
    se.add_argument(
        "--large-from",
        type=int,
        default=LARGE_FROM_ROWS,
        help="training rows from which a fit reads the large list",
    )
    se.add_argument("--dry-run", action="store_true", help="write the report, no portfolio")
    args = parser.parse_args()
    if args.command == "evaluate" and args.large:
        args.min_rows, args.max_rows = LARGE_DATA_ROWS, LARGE_MAX_ROWS
        args.out = str(LARGE_CANDIDATES_CSV) if args.out == str(CANDIDATES_CSV) else args.out
    {"evaluate": evaluate, "select": select}[args.command](args)


if __name__ == "__main__":
    main()

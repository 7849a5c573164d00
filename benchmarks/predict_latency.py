"""Prediction latency of a default predictor, for the current source and an earlier revision,
on the same saved predictor and the same rows.

    ASSAY_DATASETS=../shared/datasets .venv/bin/python benchmarks/predict_latency.py \
        --before 80f6374

Datasets: bank-marketing (tabular, a default fit of `--budget` seconds on a seeded 80/20
split) and SST-2 (text, its own train/test split, a fit of `--text-budget` seconds; on a
busy machine that fit skips the sentence embeddings for time). `sst2-embed` is the same fit
with the training sentences embedded beforehand (untimed, cached as a second fit of the same
data finds them), so its predictor embeds every sentence it predicts. Each
predictor is fitted once with the current source and saved under
benchmarks/.work/predict_latency/ (not committed; reused when present). Each revision is
then measured in its own interpreter (`--before REV` is extracted with `git archive` and put
first on PYTHONPATH), with a fresh ASSAY_HOME so no sentence embedding of the rows to
predict is cached:

- the batch: all test rows predicted at once (`predict_s_per_1000`; for text the first
  batch pays the sentence embeddings, `predict_s_per_1000_cached` repeats it with them
  cached);
- single rows: `--n-single` calls (1,000 for bank-marketing, `--n-single-text` for text)
  of one test row each, cycling through the rows, after 20 calls of warm-up; p50 and p99.

The predictions of both revisions are compared (`max_abs_diff_vs_after`). The machine's
load average is recorded at the start and end of each measurement. Writes
benchmarks/results/predict_latency.csv (a row per dataset and revision) and a markdown
table beside it."""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from _revision import source  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
WORK = ROOT / "benchmarks" / ".work" / "predict_latency"
N_WARM_UP = 20
FIELDS = [
    "dataset",
    "code",
    "revision",
    "fit_budget_s",
    "members",
    "n_fold_models",
    "n_test",
    "predict_s_per_1000",
    "predict_s_per_1000_cached",
    "n_single",
    "single_row_p50_ms",
    "single_row_p99_ms",
    "max_abs_diff_vs_after",
    "load_start",
    "load_end",
    "cores",
    "measured_at",
]


def split(dataset: str):
    """(train, test, target) of a dataset, the same on every run."""
    if dataset in ("sst2", "sst2-embed"):
        sys.path.insert(0, str(ROOT / "benchmarks"))
        from suites_text import text_suite

        _, _, target, _, _, (train, test) = next(text_suite(["sst2"]))
        return train.reset_index(drop=True), test.reset_index(drop=True), target
    from assay.data import load_benchmark

    frame, spec = load_benchmark(dataset)
    order = np.random.default_rng(0).permutation(len(frame))
    cut = int(0.8 * len(frame))
    train, test = frame.iloc[order[:cut]], frame.iloc[order[cut:]]
    return train.reset_index(drop=True), test.reset_index(drop=True), spec.target


def fitted(dataset: str, budget_s: float) -> Path:
    folder = WORK / f"{dataset}_{int(budget_s)}s"
    if not (folder / "manifest.json").exists():
        from assay import AutoML

        train, test, target = split(dataset)
        options = {}
        if dataset == "sst2-embed":  # the training rows embedded beforehand, untimed
            from assay.config import settings
            from assay.features import embed_texts

            texts = train["sentence"].astype(str).tolist()
            embed_texts(texts, cache_dir=settings().home / "cache" / "embeddings")
            options["embed"] = True
        automl = AutoML(time_limit_s=budget_s, store=False, random_state=0, **options)
        automl.fit(train, target=target)
        automl.predictor_.save(folder)
        test.to_parquet(folder.parent / f"{folder.name}_test.parquet")
    return folder


def measure(folder: Path, n_single: int, out: Path) -> None:
    """Runs in the interpreter of the revision measured (only public API)."""
    import pandas as pd

    import assay

    load_start = os.getloadavg()[0]
    predictor = assay.load(folder)
    test = pd.read_parquet(folder.parent / f"{folder.name}_test.parquet")
    task = predictor.task.value
    test = test.drop(columns=[predictor.target])

    def raw(rows):
        if task == "regression":
            return np.asarray(predictor.predict(rows), dtype=float)
        return predictor.predict_proba(rows).to_numpy()

    started = time.perf_counter()
    batch = raw(test)
    batch_s = time.perf_counter() - started
    started = time.perf_counter()
    raw(test)
    cached_s = time.perf_counter() - started
    rows = [test.iloc[[i % len(test)]] for i in range(N_WARM_UP + n_single)]
    for row in rows[:N_WARM_UP]:
        raw(row)
    times = []
    for row in rows[N_WARM_UP:]:
        started = time.perf_counter()
        raw(row)
        times.append(time.perf_counter() - started)
    np.save(out.with_suffix(".npy"), batch)
    result = {
        "members": " ".join(f"{m.model}:{m.weight:.2f}" for m in predictor.members),
        "n_fold_models": sum(len(m.models) for m in predictor.members),
        "n_test": len(test),
        "predict_s_per_1000": round(1000 * batch_s / len(test), 4),
        "predict_s_per_1000_cached": round(1000 * cached_s / len(test), 4),
        "n_single": n_single,
        "single_row_p50_ms": round(1000 * float(np.median(times)), 2),
        "single_row_p99_ms": round(1000 * float(np.percentile(times, 99)), 2),
        "load_start": round(load_start, 2),
        "load_end": round(os.getloadavg()[0], 2),
    }
    out.write_text(json.dumps(result))


def run_revision(folder: Path, revision: str | None, n_single: int) -> tuple[dict, np.ndarray]:
    path, commit = source(revision, WORK)
    with tempfile.TemporaryDirectory(prefix="assay-latency-") as home:
        out = Path(home) / "result.json"
        env = {**os.environ, "PYTHONPATH": path, "ASSAY_HOME": home}
        command = [sys.executable, __file__, "--measure", str(folder), str(n_single), str(out)]
        subprocess.run(command, env=env, check=True)
        result = json.loads(out.read_text())
        batch = np.load(out.with_suffix(".npy"))
    result["revision"] = commit
    return result, batch


def write(new_rows: list[dict]) -> None:
    """Rows of earlier runs are kept unless this run measured the same dataset and code."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / "predict_latency.csv"
    measured = {(r["dataset"], r["code"]) for r in new_rows}
    rows = []
    if path.exists():
        with path.open(newline="") as handle:
            rows = [r for r in csv.DictReader(handle) if (r["dataset"], r["code"]) not in measured]
    rows += new_rows
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    lines = [
        "# Prediction latency: before and after",
        "",
        "Reproduce: `ASSAY_DATASETS=../shared/datasets .venv/bin/python "
        "benchmarks/predict_latency.py --before REV` (see the module docstring).",
        f"Machine: {os.cpu_count()} cores, shared with other jobs; `load` is the 1-minute "
        "load average at the start and end of each measurement.",
        "",
        "| dataset | code | revision | members | fold models | s per 1000 rows "
        "(cached) | single row p50 ms | p99 ms | calls | max diff vs after | load |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['dataset']} | {r['code']} | {r['revision']} | {r['members']} | "
            f"{r['n_fold_models']} | {r['predict_s_per_1000']} ({r['predict_s_per_1000_cached']})"
            f" | {r['single_row_p50_ms']} | {r['single_row_p99_ms']} | {r['n_single']} | "
            f"{r['max_abs_diff_vs_after']} | {r['load_start']}-{r['load_end']} |"
        )
    (RESULTS / "predict_latency.md").write_text("\n".join(lines) + "\n")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--measure":
        measure(Path(sys.argv[2]), int(sys.argv[3]), Path(sys.argv[4]))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", help="the revision to compare with (e.g. a commit)")
    parser.add_argument("--budget", type=float, default=60.0, help="bank-marketing fit, s")
    parser.add_argument("--text-budget", type=float, default=300.0, help="SST-2 fit, s")
    parser.add_argument("--n-single", type=int, default=1000)
    parser.add_argument("--n-single-text", type=int, default=300)
    parser.add_argument("--datasets", default="bank-marketing,sst2")
    args = parser.parse_args()
    os.environ.setdefault("ASSAY_HOME", str(WORK / "home"))  # the fits' embedding cache
    rows = []
    for dataset in args.datasets.split(","):
        text = dataset.startswith("sst2")
        budget = args.text_budget if text else args.budget
        folder = fitted(dataset, budget)
        n_single = args.n_single_text if text else args.n_single
        codes = [("after", None)] + ([("before", args.before)] if args.before else [])
        after = None
        for code, revision in codes:
            result, batch = run_revision(folder, revision, n_single)
            after = batch if after is None else after
            diff = float(np.max(np.abs(batch - after))) if batch.shape == after.shape else "shape"
            rows.append(
                {
                    "dataset": dataset,
                    "code": code,
                    "fit_budget_s": budget,
                    "max_abs_diff_vs_after": diff,
                    "cores": os.cpu_count(),
                    "measured_at": time.strftime("%Y-%m-%d %H:%M:%S"),
                    **result,
                }
            )
            print(json.dumps(rows[-1]), flush=True)
            write(rows)


if __name__ == "__main__":
    main()

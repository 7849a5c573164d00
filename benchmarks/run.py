"""Side-by-side benchmark on the public tabular suite (../shared/datasets/manifest.json).

Each (dataset, system) runs in its own process on the same seeded 80/20 split (stratified
for classification) with the same time budget; the score on the 20%, fit and predict time
and the process's peak memory go to a CSV row by row, so an interrupted run resumes.

    python benchmarks/run.py --time 60                 # all datasets, assay and lightgbm
    python benchmarks/run.py --time 60 --datasets credit-g,vehicle --systems assay
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
FIELDS = [
    "dataset",
    "system",
    "seed",
    "time_limit_s",
    "metric",
    "score",
    "fit_time_s",
    "predict_time_s",
    "peak_memory_mb",
    "status",
    "error",
]


def split(frame: pd.DataFrame, target: str, task: str, seed: int):
    from sklearn.model_selection import train_test_split

    frame = frame[frame[target].notna()].reset_index(drop=True)
    stratify = frame[target] if task != "regression" else None
    return train_test_split(frame, test_size=0.2, random_state=seed, stratify=stratify)


def score(metric: str, y_true: pd.Series, pred: np.ndarray, classes: list) -> float:
    from sklearn import metrics

    if metric == "rmse":
        return float(np.sqrt(metrics.mean_squared_error(y_true.astype(float), pred)))
    index = {c: i for i, c in enumerate(classes)}
    keep = y_true.map(lambda v: v in index).to_numpy()
    y = y_true[keep].map(index).to_numpy(dtype=int)
    proba = np.clip(pred[keep], 1e-15, 1)
    proba = proba / proba.sum(axis=1, keepdims=True)
    if metric == "auc":
        return float(metrics.roc_auc_score(y, proba[:, 1]))
    if metric == "logloss":
        return float(metrics.log_loss(y, proba, labels=list(range(len(classes)))))
    raise ValueError(f"unknown metric {metric}")


def run_assay(train, test, spec, time_s, seed):
    from assay import AutoML

    automl = AutoML(
        task=spec.task.value, metric=spec.metric, time_limit_s=time_s, random_state=seed
    )
    started = time.monotonic()
    automl.fit(train, target=spec.target)
    fit_s = time.monotonic() - started
    started = time.monotonic()
    X_test = test.drop(columns=[spec.target])
    if spec.task.value == "regression":
        pred = np.asarray(automl.predict(X_test), dtype=float)
        classes = []
    else:
        proba = automl.predict_proba(X_test)
        pred, classes = proba.to_numpy(), list(proba.columns)
    return pred, classes, fit_s, time.monotonic() - started


def run_lightgbm(train, test, spec, time_s, seed):
    """LightGBM with its default parameters; text columns as pandas categories."""
    import lightgbm as lgb

    def prepare(frame):
        X = frame.drop(columns=[spec.target]).copy()
        for column in X.columns:
            if not pd.api.types.is_numeric_dtype(X[column]):
                X[column] = X[column].astype("category")
        return X

    X_train, X_test = prepare(train), prepare(test)
    for column in X_train.select_dtypes("category").columns:
        X_test[column] = pd.Categorical(X_test[column], categories=X_train[column].cat.categories)
    regression = spec.task.value == "regression"
    model = (lgb.LGBMRegressor if regression else lgb.LGBMClassifier)(random_state=seed, verbose=-1)
    y_train = train[spec.target] if regression else train[spec.target].astype(str)
    started = time.monotonic()
    model.fit(X_train, y_train)
    fit_s = time.monotonic() - started
    started = time.monotonic()
    if regression:
        pred, classes = model.predict(X_test), []
    else:
        pred, classes = model.predict_proba(X_test), list(model.classes_)
    return pred, classes, fit_s, time.monotonic() - started


SYSTEMS = {"assay": run_assay, "lightgbm": run_lightgbm}


def child(system: str, dataset: str, time_s: float, seed: int, out: str) -> None:
    """Runs one (system, dataset) in this process and writes one JSON result to `out`."""
    from assay.data import load_benchmark

    frame, spec = load_benchmark(dataset)
    train, test = split(frame, spec.target, spec.task.value, seed)
    y_test = test[spec.target]
    pred, classes, fit_s, predict_s = SYSTEMS[system](train, test, spec, time_s, seed)
    if spec.task.value != "regression":  # compare labels as text: systems differ in dtype
        classes, y_test = [str(c) for c in classes], y_test.astype(str)
    result = {
        "metric": spec.metric,
        "score": score(spec.metric, y_test, pred, classes),
        "fit_time_s": fit_s,
        "predict_time_s": predict_s,
        "peak_memory_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    Path(out).write_text(json.dumps(result))


def done_rows(path: Path) -> set[tuple[str, str, str]]:
    if not path.exists():
        return set()
    with path.open() as handle:
        return {(r["dataset"], r["system"], r["seed"]) for r in csv.DictReader(handle)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--time", type=float, default=60)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--datasets", default="")
    parser.add_argument("--systems", default="assay,lightgbm")
    parser.add_argument("--out", default=None)
    parser.add_argument("--child", nargs=5, metavar=("SYSTEM", "DATASET", "TIME", "SEED", "OUT"))
    args = parser.parse_args()
    if args.child:
        system, dataset, time_s, seed, out = args.child
        child(system, dataset, float(time_s), int(seed), out)
        return

    from assay.data import benchmark_datasets

    names = [d.name for d in benchmark_datasets()]
    if args.datasets:
        names = [n for n in args.datasets.split(",") if n]
    out = Path(args.out or HERE / "results" / f"tabular_{int(args.time)}s.csv")
    out.parent.mkdir(parents=True, exist_ok=True)
    finished = done_rows(out)
    work = HERE / ".work"
    work.mkdir(exist_ok=True)
    env = dict(os.environ, ASSAY_HOME=str(work / "assay-home"))
    for dataset in names:
        for system in args.systems.split(","):
            if (dataset, system, str(args.seed)) in finished:
                continue
            result_file = work / f"{dataset}-{system}-{args.seed}.json"
            result_file.unlink(missing_ok=True)
            row = {
                "dataset": dataset,
                "system": system,
                "seed": args.seed,
                "time_limit_s": args.time,
                "status": "ok",
                "error": "",
            }
            command = [
                sys.executable,
                __file__,
                "--child",
                system,
                dataset,
                str(args.time),
                str(args.seed),
                str(result_file),
            ]
            try:
                proc = subprocess.run(
                    command, env=env, capture_output=True, text=True, timeout=args.time * 3 + 120
                )
                if proc.returncode != 0 or not result_file.exists():
                    row.update(status="error", error=proc.stderr.strip().splitlines()[-1:])
                else:
                    row.update(json.loads(result_file.read_text()))
            except subprocess.TimeoutExpired:
                row.update(status="timeout")
            write_header = not out.exists()
            with out.open("a", newline="") as handle:
                writer = csv.DictWriter(handle, fieldnames=FIELDS, extrasaction="ignore")
                if write_header:
                    writer.writeheader()
                writer.writerow(row)
            print(
                f"{dataset:22s} {system:10s} {row.get('score', '-')!s:>22} "
                f"fit {row.get('fit_time_s', 0):.1f}s {row['status']}",
                flush=True,
            )
    from summarize import summarize

    summarize(out)


if __name__ == "__main__":
    main()

"""One benchmark harness for every framework (see benchmarks/README.md).

    python benchmarks/run.py --suite tabular --budget 60 --folds 1 \
        --frameworks assay,autogluon-best,autogluon-medium,flaml,lightgbm,constant

For each dataset and fold (a seeded 80/20 split, stratified for classification; fold k uses
seed k), every framework runs in its own subprocess and interpreter on the same split files,
interleaved per dataset so machine drift hits all alike. The harness scores the predictions
itself (auc / logloss / rmse as in the AutoML Benchmark), samples the peak memory of the
whole process tree, and appends one row per (framework, dataset, fold) to the results CSV,
so an interrupted run resumes and a finished slice is skipped.
"""

from __future__ import annotations

import argparse
import gzip
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import psutil

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _rows import append_row, read_rows  # noqa: E402
from frameworks import FRAMEWORKS  # noqa: E402
from frameworks.constant_fw import constant_prediction  # noqa: E402
from suites_text import text_suite, textpair_suite  # noqa: E402

FIELDS = [
    "dataset",
    "framework",
    "fold",
    "budget_s",
    "task",
    "metric",
    "score",
    "status",
    "fit_s",
    "overrun_s",
    "predict_s_per_1000",
    "single_row_ms",
    "peak_memory_mb",
    "n_train",
    "n_test",
    "error",
    "finished_at",
    "version",
    "notes",
    "f1",
]


def split(frame: pd.DataFrame, target: str, task: str, seed: int):
    from sklearn.model_selection import train_test_split

    frame = frame[frame[target].notna()].reset_index(drop=True)
    stratify = frame[target] if task != "regression" else None
    return train_test_split(frame, test_size=0.2, random_state=seed, stratify=stratify)


def score(metric: str, y_true: pd.Series, pred: np.ndarray, classes: list[str]) -> float:
    """AMLB conventions; labels compared as text since frameworks differ in label dtype."""
    from sklearn import metrics

    if metric == "rmse":
        return float(np.sqrt(metrics.mean_squared_error(y_true.astype(float), pred)))
    index = {c: i for i, c in enumerate(classes)}
    y_text = y_true.astype(str)
    keep = y_text.isin(index).to_numpy()
    y = y_text[keep].map(index).to_numpy(dtype=int)
    proba = np.clip(np.asarray(pred, dtype=float)[keep], 1e-15, 1)
    proba = proba / proba.sum(axis=1, keepdims=True)
    if metric == "auc":
        return float(metrics.roc_auc_score(y, proba[:, 1]))
    if metric == "accuracy":
        return float(metrics.accuracy_score(y, proba.argmax(axis=1)))
    if metric == "f1":  # of the positive class: the last label in sorted order (1, spam)
        return float(metrics.f1_score(y, proba.argmax(axis=1), pos_label=len(classes) - 1))
    if metric == "logloss":
        return float(metrics.log_loss(y, proba, labels=list(range(len(classes)))))
    raise ValueError(f"unknown metric {metric}")


def tabular_suite(names: list[str], section: str = "tabular"):
    """(name, frame, target, task, metric) for the manifest's tabular datasets (`section`
    "tabular_design" for the datasets that defaults are learned on)."""
    from assay.data import benchmark_datasets, load_benchmark

    for spec in benchmark_datasets(section=section):
        if not names or spec.name in names:
            frame, spec = load_benchmark(spec.name)
            frame.columns = [str(c) for c in frame.columns]
            yield spec.name, frame, str(spec.target), spec.task.value, spec.metric, None


def design_suite(names: list[str]):
    """The tabular datasets that defaults are learned on (never the ones they are judged on)."""
    return tabular_suite(names, section="tabular_design")


SUITES = {
    "tabular": tabular_suite,
    "tabular_design": design_suite,
    "text": text_suite,
    "textpair": textpair_suite,
}


def run_child(
    command: list[str], timeout_s: float, log_dir: Path | None = None
) -> tuple[int | None, float, str]:
    """Run `command`, sampling the RSS of its whole process tree; kill the tree on timeout.
    Its stderr goes to `log_dir` (default: the folder its last argument names)."""
    log = (Path(command[-1]) if log_dir is None else log_dir) / "stderr.txt"
    with open(log, "w") as stderr:
        proc = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=stderr, start_new_session=True
        )
        parent, peak, deadline = psutil.Process(proc.pid), 0.0, time.monotonic() + timeout_s
        while proc.poll() is None:
            try:
                tree = [parent, *parent.children(recursive=True)]
                peak = max(peak, sum(p.memory_info().rss for p in tree if p.is_running()) / 2**20)
            except psutil.Error:
                pass
            if time.monotonic() > deadline:
                for p in [parent, *parent.children(recursive=True)]:
                    p.kill()
                proc.wait()
                return None, peak, "timeout"
            time.sleep(0.1)
    tail = log.read_text().strip().splitlines()[-1:]
    return proc.returncode, peak, tail[0] if tail else ""


def finished(path: Path) -> set[tuple[str, str, str, str]]:
    return {(r["dataset"], r["framework"], r["fold"], r["budget_s"]) for r in read_rows(path)}


def logs_path(out: Path) -> Path:
    """Where the fit logs of a results CSV live: `<csv stem>_trials.jsonl.gz`."""
    return out.with_name(out.stem + "_trials.jsonl.gz")


def keep_log(out: Path, row: dict, log: dict) -> None:
    """Appends a run's fit log (its trials, as the framework reports them), keyed like its
    row, as one gzip member of `logs_path(out)`: a finished run's log is never rewritten,
    and the file is a tenth of the plain JSON lines."""
    key = {k: row[k] for k in ("dataset", "framework", "fold", "budget_s", "finished_at")}
    line = json.dumps({**key, **log}, default=str) + "\n"
    with gzip.open(logs_path(out), "at") as handle:
        handle.write(line)


def read_logs(out: Path) -> list[dict]:
    """The fit logs kept beside a results CSV, oldest first ([] when there are none)."""
    path = logs_path(out)
    if not path.exists():
        return []
    logs = []
    with gzip.open(path, "rt") as handle:
        try:
            for line in handle:
                logs.append(json.loads(line))
        except (EOFError, gzip.BadGzipFile):  # a write cut off by a kill: earlier logs stand
            pass
    return logs


def main() -> None:
    parser = argparse.ArgumentParser(description="assay and its peers on the same splits.")
    parser.add_argument("--frameworks", default="assay,lightgbm,constant")
    parser.add_argument("--suite", default="tabular", choices=sorted(SUITES))
    parser.add_argument("--budget", type=float, default=60)
    parser.add_argument("--folds", type=int, default=1)
    parser.add_argument("--datasets", default="", help="comma-separated names (default all)")
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--out", default=None, help="results CSV")
    args = parser.parse_args()
    frameworks = [FRAMEWORKS[name] for name in args.frameworks.split(",") if name]
    out = Path(args.out or HERE / "results" / f"{args.suite}_{int(args.budget)}s.csv")
    out.parent.mkdir(parents=True, exist_ok=True)
    done = finished(out)
    work = HERE / ".work"
    names = [n for n in args.datasets.split(",") if n]
    for name, frame, target, task, metric, fixed in SUITES[args.suite](names):
        for fold in range(args.folds):
            todo = [
                f for f in frameworks if (name, f.name, str(fold), f"{args.budget:g}") not in done
            ]
            if not todo:
                continue
            train, test = fixed if fixed else split(frame, target, task, seed=fold)
            fallback, fallback_classes = constant_prediction(train[target], task, len(test))
            fallback_score = score(metric, test[target], fallback, fallback_classes or [])
            for framework in todo:
                workdir = work / f"{name}-{fold}-{framework.name}"
                shutil.rmtree(workdir, ignore_errors=True)
                workdir.mkdir(parents=True)
                train.to_parquet(workdir / "train.parquet")
                test.drop(columns=[target]).to_parquet(workdir / "test.parquet")
                spec = {
                    "dataset": name,
                    "target": target,
                    "task": task,
                    "metric": metric,
                    "seed": fold,
                    "budget_s": args.budget,
                    "n_jobs": args.n_jobs,
                    "options": framework.options,
                }
                (workdir / "spec.json").write_text(json.dumps(spec))
                row = {
                    "dataset": name,
                    "framework": framework.name,
                    "fold": fold,
                    "budget_s": f"{args.budget:g}",
                    "task": task,
                    "metric": metric,
                    "n_train": len(train),
                    "n_test": len(test),
                    "error": "",
                }
                command = [
                    framework.python(sys.executable),
                    str(HERE / "frameworks/_child.py"),
                    framework.module,
                    str(workdir),
                ]
                code, peak, message = run_child(command, timeout_s=args.budget * 3 + 300)
                row["peak_memory_mb"] = round(peak, 1)
                if code == 0 and (workdir / "result.json").exists():
                    result = json.loads((workdir / "result.json").read_text())
                    pred = np.load(workdir / "pred.npy")
                    row.update(
                        status="ok",
                        fit_s=round(result["fit_s"], 2),
                        overrun_s=round(max(0.0, result["fit_s"] - args.budget), 2),
                        predict_s_per_1000=round(1000 * result["predict_s"] / len(test), 4),
                        single_row_ms=round(result.get("single_row_ms", float("nan")), 3),
                        score=score(metric, test[target], pred, result["classes"]),
                        f1=score("f1", test[target], pred, result["classes"])
                        if task == "binary" and metric in ("accuracy", "f1")
                        else "",
                        version=result.get("version", ""),
                        notes=result.get("notes", ""),
                    )
                else:  # scored as the constant predictor, as in the AutoML Benchmark
                    row.update(
                        status="error" if code is not None else "timeout",
                        score=fallback_score,
                        error=message[:300],
                    )
                row["finished_at"] = time.strftime("%Y-%m-%d %H:%M:%S")
                if row["status"] == "ok" and result.get("log"):
                    keep_log(out, row, result["log"])
                append_row(out, FIELDS, row)
                shutil.rmtree(workdir, ignore_errors=True)
                print(
                    f"{name:20s} fold {fold} {framework.name:17s} {row['status']:7s} "
                    f"{row['score']:.5g} fit {row.get('fit_s', '-')}s "
                    f"{row['peak_memory_mb']:.0f} MB",
                    flush=True,
                )


if __name__ == "__main__":
    main()

"""What calibration for log loss does: the same fitted ensemble's test log loss with its
temperature and without (T = 1), per dataset and split. The temperature is the one the fit
chose on its out-of-fold predictions (`assay.ensemble.fit_temperature`); nothing else
differs, so the difference is the calibration's alone.

Datasets: the log-loss datasets of the public suite (seeded 80/20 splits as run.py makes
them) and multiclass datasets of the design suite.

    ASSAY_DATASETS=../shared/datasets .venv/bin/python benchmarks/calibration.py \\
        --datasets segment,vehicle,cmc,mfeat-factors --splits 2 --budget 60
    .venv/bin/python benchmarks/calibration.py --report

Rows go to benchmarks/results/calibration_60s.csv as they finish; a killed run resumes.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
from _rows import append_row, code_version, read_rows  # noqa: E402
from run import split  # noqa: E402  (the benchmark's own seeded splits)

FIELDS = [
    "dataset", "suite", "split", "budget_s", "temperature", "test_logloss_t1",
    "test_logloss", "gain", "n_train", "n_test", "version",
]  # fmt: skip


def measure(name: str, seed: int, budget: float) -> dict:
    from assay import AutoML
    from assay.data import load_benchmark
    from assay.data._benchmarks import DESIGN_SECTION, benchmark_datasets
    from assay.evaluate._metrics import row_log_losses

    frame, spec = load_benchmark(name)
    target = frame.columns[spec.target] if isinstance(spec.target, int) else spec.target
    frame[target] = frame[target].astype(str)
    train, test = split(frame, target, "multiclass", seed)
    automl = AutoML(
        task=spec.task.value, metric="logloss", time_limit_s=budget, random_state=seed,
        store=False,
    ).fit(train, target=target)  # fmt: skip
    predictor = automl.predictor_
    classes = [str(c) for c in predictor.classes_]
    known = test[target].isin(classes).to_numpy()
    y = np.array([classes.index(v) for v in test.loc[known, target]])
    temperature = predictor.temperatures[0]
    calibrated = predictor.predict_proba(test[known]).to_numpy()
    predictor.temperatures = [1.0]
    plain = predictor.predict_proba(test[known]).to_numpy()
    before, after = row_log_losses(y, plain).mean(), row_log_losses(y, calibrated).mean()
    design = {d.name for d in benchmark_datasets(None, DESIGN_SECTION)}
    return {
        "dataset": name, "suite": "tabular_design" if name in design else "tabular",
        "split": seed, "budget_s": budget, "temperature": round(temperature, 4),
        "test_logloss_t1": before, "test_logloss": after, "gain": (before - after) / before,
        "n_train": len(train), "n_test": int(known.sum()), "version": code_version(),
    }  # fmt: skip


def report(path: Path) -> str:
    rows = read_rows(path)
    lines = [
        "| dataset | suite | split | temperature | test log loss, T = 1 | calibrated | change |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['dataset']} | {r['suite']} | {r['split']} | {float(r['temperature']):.3f} | "
            f"{float(r['test_logloss_t1']):.4f} | {float(r['test_logloss']):.4f} | "
            f"{-float(r['gain']):+.1%} |"
        )
    gains = np.array([float(r["gain"]) for r in rows])
    moved = gains[np.abs(gains) > 0]
    lines += [
        "",
        f"Calibrated better on {int((gains > 0).sum())} of {len(rows)} dataset-splits, worse on "
        f"{int((gains < 0).sum())}, unchanged (T = 1) on {int((gains == 0).sum())}; median change "
        f"of those it moved {-np.median(moved) if len(moved) else 0:+.1%}. Measured on "
        f"{', '.join(sorted({r['version'] for r in rows}))}.",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", default="segment,vehicle,cmc,mfeat-factors")
    parser.add_argument("--splits", type=int, default=2)
    parser.add_argument("--budget", type=float, default=60)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "calibration_60s.csv")
    parser.add_argument("--report", action="store_true")
    args = parser.parse_args()
    if not args.report:
        done = {(r["dataset"], r["split"]) for r in read_rows(args.out)}
        for name in args.datasets.split(","):
            for seed in range(args.splits):
                if (name, str(seed)) in done:
                    continue
                row = measure(name, seed, args.budget)
                append_row(args.out, FIELDS, row)
                print(row, flush=True)
    text = report(args.out)
    args.out.with_suffix(".md").write_text(
        "# Calibration for log loss, 60 s fits\n\nReproduce: see benchmarks/calibration.py.\n\n"
        + text
        + "\n"
    )
    print(text)


if __name__ == "__main__":
    main()

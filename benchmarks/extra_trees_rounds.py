"""How many more rounds LightGBM's extra trees need before early stopping, learned on
`tabular_design` (never on `tabular`): for each dataset, one seeded 80/20 split of its rows,
the fit part split again 80/20 to stop on; the same config (31 leaves, rate 0.05, feature
fraction 0.9) with and without extra trees, two threads, no time limit. The median ratio
of seconds (not rounds: extra trees' rounds are cheaper) is `EXTRA_TREES_SECONDS` in
`models/_lgbm.py`.

    ASSAY_DATASETS=../shared/datasets .venv/bin/python benchmarks/extra_trees_rounds.py
    .venv/bin/python benchmarks/extra_trees_rounds.py --report

Rows go to results/extra_trees_rounds.csv as each dataset finishes; a rerun skips the
datasets already there.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _rows import append_rows, read_rows  # noqa: E402

OUT = HERE / "results" / "extra_trees_rounds.csv"
FIELDS = ["dataset", "task", "n_rows", "n_features", "extra_trees", "rounds", "fit_s", "test_loss"]
CONFIG = {"num_leaves": 31, "learning_rate": 0.05, "feature_fraction": 0.9}


def _measure(name: str) -> list[dict]:
    from sklearn.metrics import log_loss, mean_squared_error
    from sklearn.model_selection import train_test_split

    from assay.data import load_benchmark, prepare
    from assay.features import TabularEncoder
    from assay.models._lgbm import LightGBMModel

    frame, spec = load_benchmark(name)
    data = prepare(frame, spec.target, task=spec.task)
    X = TabularEncoder(LightGBMModel.encoding, data.schema.types).fit(data.X).transform(data.X)
    y = data.y.to_numpy()
    strat = y if data.task.is_classification else None
    X_fit, X_test, y_fit, y_test = train_test_split(
        X, y, test_size=0.2, random_state=0, stratify=strat
    )
    strat = y_fit if data.task.is_classification else None
    X_a, X_v, y_a, y_v = train_test_split(
        X_fit, y_fit, test_size=0.2, random_state=0, stratify=strat
    )
    rows = []
    for extra in (False, True):
        model = LightGBMModel(task=data.task, n_jobs=2, extra_trees=extra, **CONFIG)
        started = time.monotonic()
        model.fit(X_a, y_a, X_val=X_v, y_val=y_v)
        seconds = time.monotonic() - started
        if data.task.is_classification:
            proba = model.predict_proba(X_test)
            loss = log_loss(y_test, np.clip(proba, 1e-15, 1), labels=model.classes_)
        else:
            loss = mean_squared_error(y_test, model.predict(X_test)) ** 0.5
        rows.append(
            {
                "dataset": name,
                "task": data.task.value,
                "n_rows": len(y_a),
                "n_features": X.shape[1],
                "extra_trees": extra and model.extra_trees_,
                "rounds": model.n_iterations_,
                "fit_s": round(seconds, 3),
                "test_loss": round(float(loss), 6),
            }
        )
    return rows


def _report() -> None:
    rows = read_rows(OUT)
    by = {}
    for row in rows:
        by.setdefault(row["dataset"], {})[row["extra_trees"]] = row
    ratios = [
        int(pair["True"]["rounds"]) / int(pair["False"]["rounds"])
        for pair in by.values()
        if "True" in pair and "False" in pair and int(pair["False"]["rounds"]) > 0
    ]
    seconds = [
        float(pair["True"]["fit_s"]) / float(pair["False"]["fit_s"])
        for pair in by.values()
        if "True" in pair and "False" in pair and float(pair["False"]["fit_s"]) > 0
    ]
    print(f"{len(ratios)} datasets where extra trees applied")
    print(
        f"rounds, extra trees / plain: median {np.median(ratios):.2f}, "
        f"quartiles {np.percentile(ratios, 25):.2f} to {np.percentile(ratios, 75):.2f}"
    )
    print(f"seconds, extra trees / plain: median {np.median(seconds):.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--report", action="store_true")
    args = parser.parse_args()
    if args.report:
        _report()
        return
    from assay.data import benchmark_datasets

    done = {row["dataset"] for row in read_rows(OUT)}
    for spec in benchmark_datasets(section="tabular_design"):
        if spec.name in done:
            continue
        rows = _measure(spec.name)
        append_rows(OUT, FIELDS, rows)
        print(spec.name, [(r["extra_trees"], r["rounds"], r["fit_s"]) for r in rows], flush=True)
    _report()


if __name__ == "__main__":
    main()

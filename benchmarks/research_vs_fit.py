"""I have T minutes: `assay research` or `assay fit`? Both on the same rows, scored on the
same hidden holdout, one after the other on this machine.

For each dataset and seed, `assay research init` splits the rows (training, validation,
a hidden 20% holdout). Then, in turn:

- research: `assay research run WS --time T*60` (search proposer); its answer is what
  `assay research export` delivers by default (`research_answer`: the ensemble of
  experiments unless the best experiment beats it on validation by more than two bootstrap
  errors), retrained on training + validation rows and scored on the holdout; the
  baseline's, the best's and the ensemble's holdout scores are recorded beside it;
- fit: `AutoML(time_limit_s=T*60)` on the training + validation rows, scored on the same
  holdout; its validation score is its ensemble's out-of-fold score.

Every kept change of the research run is scored on the holdout too (its gain over the
best before it), for the share of keeps the holdout confirms.

    ASSAY_DATASETS=../shared/datasets .venv/bin/python benchmarks/research_vs_fit.py \
        --minutes 10 --seeds 0,1
    .venv/bin/python benchmarks/research_vs_fit.py --report

Rows go to benchmarks/results/research_vs_fit.csv (one per dataset, seed and side) and
research_vs_fit_keeps.csv (one per kept change) as they finish; a killed run resumes: a
finished side is not run again; a research side that was cut off starts over in a fresh
workspace (continuing it would give research more than T minutes).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _rows import append_row, code_version, read_rows

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
WORK = ROOT / "benchmarks" / ".work" / "research_vs_fit"
DATASETS = "credit-g,kc1,diabetes,cmc,vehicle,segment,abalone,wine-quality-red"
FIELDS = [
    "dataset", "seed", "side", "minutes", "task", "metric", "valid_score", "holdout_score",
    "answer", "n_experiments", "n_kept", "wall_s", "export_s", "finished_at", "version",
    "baseline_holdout", "best_holdout", "ensemble_holdout",
]  # fmt: skip
KEEP_FIELDS = [
    "dataset", "seed", "exp_no", "description", "valid_gain", "holdout_gain", "confirmed",
]  # fmt: skip


def _assay(*args: str, env: dict) -> None:
    subprocess.run([sys.executable, "-m", "assay", *args], check=True, env=env)


# -- the fit side, in a child process of its own ------------------------------------------------
def fit_one(harness_dir: str, seconds: float) -> dict:
    """AutoML on the harness's training + validation rows, scored on its holdout."""
    import tempfile

    import pandas as pd

    from assay import AutoML
    from assay.research import Harness

    harness = Harness(harness_dir)
    with tempfile.TemporaryDirectory() as tmp:
        files, _ = harness._holdout_inputs(Path(tmp))
        dtype = {harness.target: str} if harness.task.is_classification else None
        train = pd.read_csv(files["train.csv"], dtype=dtype)
        holdout = pd.read_csv(files["valid.csv"])
    started = time.monotonic()
    automl = AutoML(
        task=harness.task.value,
        metric=harness.metric.name,
        time_limit_s=seconds,
        random_state=harness.seed,
        store=False,
    ).fit(train, target=harness.target)
    wall_s = time.monotonic() - started
    rows = holdout.pop("__row__")
    labels = harness.holdout_labels().loc[rows]
    if harness.task.is_classification:
        names = [str(c) for c in automl.predictor_.classes_]
        order = [names.index(c) for c in harness.classes]
        oof = np.asarray(automl.oof_)[:, order]
        pred = automl.predict_proba(holdout).to_numpy()[:, order]
    else:
        oof, pred = np.asarray(automl.oof_), automl.predict(holdout)
    y_train = harness.encoded(train[harness.target].astype(str) if dtype else train[harness.target])
    return {
        "valid_score": float(harness.metric(y_train, oof)),
        "holdout_score": float(harness.metric(harness.encoded(labels), pred)),
        "wall_s": round(wall_s, 1),
    }


# -- the research side ---------------------------------------------------------------------------
def research_side(ws: Path) -> tuple[dict, list[dict]]:
    """The research run's answer on the holdout (chosen as `assay research export` chooses
    it), the holdout scores of the baseline, the best and the ensemble beside it, and every
    kept change's holdout gain."""
    from assay.research import ExperimentStatus, holdout_scores, research_status
    from assay.research._ledger import score_of
    from assay.research._report import HoldoutBook, research_answer
    from assay.research._workspace import Repo

    started = time.monotonic()
    status = research_status(ws)
    harness, loss = status.harness, status.harness.metric.loss
    rows = {row.label: row for row in holdout_scores(status, ws)}
    best = rows.get("best", rows["baseline"])
    chosen = research_answer(status)
    answer = rows["ensemble"] if chosen.which == "ensemble" and "ensemble" in rows else best
    book, keeps = HoldoutBook(harness, Repo(ws)), []
    previous = status.baseline
    for record in status.records:
        if record.status != ExperimentStatus.KEEP:
            continue
        before, after = book.run(previous)[0], book.run(record)[0]
        holdout_gain = loss(before) - loss(after)
        keeps.append(
            {
                "exp_no": record.exp_no,
                "description": record.description[:200],
                "valid_gain": loss(score_of(previous)) - loss(score_of(record)),
                "holdout_gain": holdout_gain,
                "confirmed": int(holdout_gain > 0),
            }
        )
        previous = record
    experiments = [r for r in status.records if r.status != ExperimentStatus.ENSEMBLE]
    return {
        "valid_score": answer.valid_score,
        "holdout_score": answer.holdout_score,
        "answer": f"{answer.label} (experiment {answer.exp_no})",
        "n_experiments": len(experiments),
        "n_kept": len(keeps),
        "export_s": round(time.monotonic() - started, 1),
        "baseline_holdout": rows["baseline"].holdout_score,
        "best_holdout": best.holdout_score,
        "ensemble_holdout": rows["ensemble"].holdout_score if "ensemble" in rows else "",
    }, keeps


def run(args) -> None:
    from assay.data import load_benchmark

    out, keeps_out = (
        args.results / "research_vs_fit.csv",
        args.results / "research_vs_fit_keeps.csv",
    )
    done = {(r["dataset"], r["seed"], r["side"]) for r in read_rows(out)}
    seconds = 60 * args.minutes
    for name in args.datasets.split(","):
        for seed in [int(s) for s in args.seeds.split(",")]:
            if all((name, str(seed), side) in done for side in ("research", "fit")):
                continue
            frame, spec = load_benchmark(name)
            work = args.results / ".work" / f"{name}-{seed}-{args.minutes:g}min"
            if args.results == RESULTS:
                work = WORK / f"{name}-{seed}-{args.minutes:g}min"
            work.mkdir(parents=True, exist_ok=True)
            env = {**os.environ, "ASSAY_HOME": str(work / "home")}
            ws, started_mark = work / "ws", work / "research.started"
            if (name, str(seed), "research") not in done and started_mark.exists():
                for stale in (ws, work / "home"):  # cut off: start over, T minutes in all
                    shutil.rmtree(stale, ignore_errors=True)
                started_mark.unlink()
            if not ws.exists():
                data = work / f"{name}.csv"
                frame.to_csv(data, index=False)
                # the manifest's task and metric: inferred, wine quality's six integer
                # grades would be classes scored by log loss instead of rmse
                _assay("research", "init", str(data), "--target", str(spec.target),
                       "--dir", str(ws), "--budget-per-exp", str(args.budget_per_exp),
                       "--seed", str(seed), "--task", spec.task.value,
                       "--metric", str(spec.metric), env=env)  # fmt: skip
            common = {
                "dataset": name, "seed": seed, "minutes": args.minutes, "task": spec.task.value,
                "metric": spec.metric, "version": code_version(),
            }  # fmt: skip
            if (name, str(seed), "research") not in done:
                started_mark.touch()
                started = time.monotonic()
                _assay("research", "run", str(ws), "--time", str(seconds), "--no-holdout",
                       "--max-exp", "1000", env=env)  # fmt: skip
                wall_s = time.monotonic() - started
                os.environ["ASSAY_HOME"] = env["ASSAY_HOME"]
                answer, keeps = research_side(ws)
                for keep in keeps:
                    append_row(keeps_out, KEEP_FIELDS, {"dataset": name, "seed": seed, **keep})
                row = {**common, **answer, "side": "research", "wall_s": round(wall_s, 1)}
                append_row(out, FIELDS, {**row, "finished_at": time.time()})
                print(f"{name} seed {seed} research: {answer}", flush=True)
            if (name, str(seed), "fit") not in done:
                from assay.research import Harness

                harness = Harness.for_workspace(ws)
                child = subprocess.run(
                    [sys.executable, __file__, "--fit-one", str(harness.folder), str(seconds)],
                    capture_output=True, text=True, check=True, env=env,
                )  # fmt: skip
                result = json.loads(child.stdout.strip().splitlines()[-1])
                row = {**common, **result, "side": "fit", "answer": "AutoML", "n_experiments": ""}
                append_row(out, FIELDS, {**row, "finished_at": time.time()})
                print(f"{name} seed {seed} fit: {result}", flush=True)


# -- the report ----------------------------------------------------------------------------------
def report(results: Path = RESULTS) -> str:
    from scipy.stats import binomtest

    from assay.evaluate import get_metric

    rows = read_rows(results / "research_vs_fit.csv")
    pairs = {}
    for r in rows:
        pairs.setdefault((r["dataset"], r["seed"]), {})[r["side"]] = r
    lines = [
        "| dataset | seed | metric | research holdout | fit holdout | gain | research valid-holdout"
        " gap | fit valid-holdout gap | research answer |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    gains, wins, losses, exports, versions = [], 0, 0, [], set()
    for (name, seed), sides in sorted(pairs.items()):
        if set(sides) != {"research", "fit"}:
            continue
        res, fit = sides["research"], sides["fit"]
        metric = get_metric(res["metric"], res["task"])
        l_res, l_fit = (
            metric.loss(float(res["holdout_score"])),
            metric.loss(float(fit["holdout_score"])),
        )
        gain = (l_fit - l_res) / abs(l_fit)
        gains.append(gain)
        exports += [float(res["export_s"])] if res.get("export_s") else []
        versions |= {s.get("version") for s in (res, fit) if s.get("version")}
        wins += l_res < l_fit
        losses += l_res > l_fit
        gaps = [
            metric.loss(float(s["holdout_score"])) - metric.loss(float(s["valid_score"]))
            for s in (res, fit)
        ]
        lines.append(
            f"| {name} | {seed} | {res['metric']} | {float(res['holdout_score']):.4f} | "
            f"{float(fit['holdout_score']):.4f} | {gain:+.2%} | {gaps[0]:+.4f} | {gaps[1]:+.4f} | "
            f"{res['answer']} |"
        )
    if not gains:
        return "no finished dataset-seed pair yet"
    rng = np.random.default_rng(0)
    boot = [np.mean(rng.choice(gains, len(gains))) for _ in range(10_000)]
    low, high = np.percentile(boot, [2.5, 97.5])
    p = binomtest(wins, wins + losses).pvalue if wins + losses else 1.0
    keeps = read_rows(results / "research_vs_fit_keeps.csv")
    confirmed = sum(int(k["confirmed"]) for k in keeps)
    summary = [
        "",
        f"Research beats the fit on the holdout in {wins} of {len(gains)} dataset-seed pairs "
        f"({wins / len(gains):.2f}; {losses} losses; sign test p {p:.2f}).",
        f"Mean normalized gain (research over fit relative to the fit: of the score, or of "
        f"the loss where lower is better): {np.mean(gains):+.2%}, "
        f"bootstrap 95% interval [{low:+.2%}, {high:+.2%}].",
        f"Kept changes the holdout confirms: {confirmed} of {len(keeps)}"
        + (f" ({confirmed / len(keeps):.2f})." if keeps else "."),
    ]
    if exports:  # the fit's time limit covers its whole answer; research's retraining does not
        summary.append(
            f"Retraining the research answer on training + validation rows (what `assay research"
            f" export` does) took a further {min(exports):.0f} to {max(exports):.0f} s (median "
            f"{np.median(exports):.0f} s) after research's time limit; the fit's time limit "
            "includes everything it delivers."
        )
    if versions:
        summary.append(f"Measured on commit(s) {', '.join(sorted(versions))}.")
    return "\n".join(lines + summary)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", default=DATASETS)
    parser.add_argument("--seeds", default="0,1")
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--budget-per-exp", type=float, default=30)
    parser.add_argument("--report", action="store_true", help="Print the markdown table.")
    parser.add_argument("--results", type=Path, default=RESULTS, help="Folder of the CSVs.")
    parser.add_argument(
        "--fit-one", nargs=2, metavar=("HARNESS", "SECONDS"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.fit_one:
        print(json.dumps(fit_one(args.fit_one[0], float(args.fit_one[1]))))
    elif args.report:
        text = report(args.results)
        (args.results / "research_vs_fit.md").write_text(text + "\n")
        print(text)
    else:
        run(args)


if __name__ == "__main__":
    main()

"""M4 Hourly and Weekly: assay's Forecaster against the M4 statistical benchmarks.

    .venv/bin/python benchmarks/forecast.py --time-limit 300

For each time-series dataset of `$ASSAY_DATASETS/manifest.json` (default ../shared/datasets),
the baselines (seasonal naive, naive, Naive2, Theta) forecast the test horizon from the full
training series, then the Forecaster fits under the time limit (its backtests use only the
training file). Everything is scored on the test file with the M4 definitions (sMAPE, MASE,
OWA against Naive2), and the Forecaster's prediction intervals too: coverage at 80% and 95%
and MSIS at 95% (the baselines give no intervals here). One row per (dataset, method) is
appended to the CSV as it finishes; the markdown table is rewritten from the CSV at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
from _rows import append_row  # noqa: E402

FIELDS = [
    "dataset",
    "method",
    "smape",
    "mase",
    "owa",
    "coverage_80",
    "coverage_95",
    "msis_95",
    "fit_s",
    "version",
    "budget_s",
    "notes",
]
INTERVALS = ("coverage_80", "coverage_95", "msis_95")
BASELINES = ("snaive", "naive", "naive2", "theta")
REFERENCE = {  # published M4 scores (sMAPE, MASE, OWA), for the table
    ("m4-hourly", "best M4 entry"): (None, None, 0.41),
    ("m4-weekly", "best M4 entry"): (None, None, 0.74),
}


def datasets_dir() -> Path:
    path = Path(os.environ.get("ASSAY_DATASETS", ROOT.parent / "shared" / "datasets"))
    return path if path.is_absolute() else ROOT / path


def append(path: Path, row: dict) -> None:
    """Append one result row and print it."""
    append_row(path, FIELDS, row)
    intervals = " ".join(f"{name} {row[name]:.3f}" for name in INTERVALS if row.get(name, "") != "")
    print(
        f"{row['dataset']:10s} {row['method']:12s} smape {row['smape']:7.3f} "
        f"mase {row['mase']:6.3f} owa {row['owa']:6.3f} {intervals} fit {row['fit_s']:6.1f}s "
        f"{row['notes']}",
        flush=True,
    )


def run_dataset(spec: dict, root: Path, time_limit_s: float, out: Path, version: str) -> None:
    from assay.forecast import Forecaster, forecast_baseline, read_wide, score, with_owa

    train = read_wide(root / spec["paths"]["train"])
    test = read_wide(root / spec["paths"]["test"])
    horizon, season = spec["horizon"], spec["season"]
    actual = [test.values[test.ids.index(i)][:horizon] for i in train.ids]
    base = {"dataset": spec["name"], "version": version, "budget_s": ""}
    results = {}
    for method in BASELINES:
        started = time.monotonic()
        forecasts = forecast_baseline(method, train.values, horizon, season)
        results[method] = (
            score(train.values, actual, forecasts, season),
            time.monotonic() - started,
        )
    for method, (scores, seconds) in results.items():
        scores = with_owa(scores, results["naive2"][0])
        append(
            out,
            {
                **base,
                "method": method,
                "smape": scores.smape,
                "mase": scores.mase,
                "owa": scores.owa,
                **dict.fromkeys(INTERVALS, ""),
                "fit_s": seconds,
                "notes": "",
            },
        )
    started = time.monotonic()
    forecaster = Forecaster(horizon, season=season, time_limit_s=time_limit_s, random_state=0)
    forecaster.fit(train)
    fit_s = time.monotonic() - started
    scores = forecaster.score(test)
    at_80, at_95 = (forecaster.score_intervals(test, level) for level in (80, 95))
    ensemble = " + ".join(f"{w:.2f} {n}" for n, w in forecaster.weights_.items())
    append(
        out,
        {
            **base,
            "method": "assay",
            "smape": scores.smape,
            "mase": scores.mase,
            "owa": scores.owa,
            "coverage_80": at_80.coverage,
            "coverage_95": at_95.coverage,
            "msis_95": at_95.msis,
            "fit_s": fit_s,
            "budget_s": time_limit_s,
            "notes": ensemble,
        },
    )
    board = forecaster.leaderboard_.round(4)
    board.to_csv(out.with_name(f"forecast_{spec['name']}_backtest.csv"), index=False)


def write_markdown(csv_path: Path, md_path: Path, command: str) -> None:
    frame = pd.read_csv(csv_path).reindex(columns=FIELDS)  # older files lack the interval ones
    frame = frame.drop_duplicates(["dataset", "method"], keep="last")
    lines = [
        "# Forecasting: M4 Hourly and Weekly (test set, M4 definitions)",
        "",
        f"Reproduce: `{command}`",
        "",
        "OWA is relative to Naive2 (1.0 by definition); lower is better. fit_s is wall time on",
        "a shared 2-core machine; `assay` fits under the budget shown and its notes give the",
        "ensemble chosen on rolling-origin backtests of the training data.",
        "Its prediction intervals come from the backtest errors: coverage is the share of test",
        "values inside the 80% and 95% intervals (the closer to 0.80 and 0.95 the better), MSIS",
        "the M4 mean scaled interval score of the 95% ones (lower is better; blank for the",
        "baselines, which give no intervals here).",
        "",
        "| dataset | method | sMAPE | MASE | OWA | cover 80% | cover 95% | MSIS 95% | fit s "
        "| budget s | notes |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in frame.itertuples(index=False):
        budget = "" if pd.isna(row.budget_s) or row.budget_s == "" else f"{float(row.budget_s):g}"
        notes = "" if pd.isna(row.notes) else row.notes
        intervals = " | ".join(
            "" if pd.isna(value) else f"{float(value):.3f}"
            for value in (row.coverage_80, row.coverage_95, row.msis_95)
        )
        lines.append(
            f"| {row.dataset} | {row.method} | {row.smape:.3f} | {row.mase:.3f} | "
            f"{row.owa:.3f} | {intervals} | {row.fit_s:.1f} | {budget} | {notes} |"
        )
    for (dataset, method), (_, _, owa) in REFERENCE.items():
        if dataset in set(frame["dataset"]):
            lines.append(f"| {dataset} | {method} (published) | | | {owa:.2f} | | | | | | |")
    md_path.write_text("\n".join(lines) + "\n")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--time-limit", type=float, default=300.0, help="seconds per dataset")
    parser.add_argument("--datasets", default="m4-hourly,m4-weekly")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "forecast_m4.csv")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT / "src"))
    import assay

    root = datasets_dir()
    manifest = json.loads((root / "manifest.json").read_text())["timeseries"]
    wanted = args.datasets.split(",")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    for spec in manifest:
        if spec["name"] in wanted:
            run_dataset(spec, root, args.time_limit, args.out, assay.__version__)
    command = f".venv/bin/python benchmarks/forecast.py --time-limit {args.time_limit:g}"
    write_markdown(args.out, args.out.with_suffix(".md"), command)


if __name__ == "__main__":
    main()

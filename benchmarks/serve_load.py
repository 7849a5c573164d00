"""Load test of `assay serve`: a bounded number of requests from this process to the service
in a second process on 127.0.0.1, for the default predictor (a model per fold) and for
`--deploy fast` (one refitted model per member), fitted on the same rows.

    ASSAY_DATASETS=../shared/datasets .venv/bin/python benchmarks/serve_load.py \
        --dataset bank-marketing --time 120

Modes: single rows one after another (latency), single rows from 4 client threads at once
(throughput), and batches of 1,000 rows (rows per second). Rows to predict are held out of
training. Writes benchmarks/results/serve_load.csv (a row per predictor and mode, appended as
each finishes) and a markdown table beside it. Predictors are kept in
benchmarks/.work/serve_load_models/ (not committed) and reused when present."""

from __future__ import annotations

import argparse
import csv
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
MODELS = ROOT / "benchmarks" / ".work" / "serve_load_models"
N_HELD_OUT = 3000


def fit_predictors(frame, target: str, time_s: float, dataset: str) -> dict[str, Path]:
    from assay import AutoML

    folders = {}
    for deploy in ("bagged", "fast"):
        folder = MODELS / f"{dataset}_{int(time_s)}s_{deploy}"
        if not (folder / "manifest.json").exists():
            automl = AutoML(time_limit_s=time_s, deploy=deploy, store=False, random_state=0)
            automl.fit(frame, target=target)
            automl.predictor_.save(folder)
        folders[deploy] = folder
    return folders


def run_mode(url: str, records: list[dict], batch: int, n_requests: int, n_clients: int) -> dict:
    import httpx

    bodies = [records[(i * batch) % len(records) :][:batch] for i in range(n_requests)]
    bodies = [b if len(b) == batch else records[:batch] for b in bodies]

    def send(client, body) -> tuple[float, int]:
        started = time.perf_counter()
        answer = client.post(f"{url}/predict", json=body, params={"proba": "true"})
        return time.perf_counter() - started, answer.status_code

    clients = [httpx.Client(timeout=120) for _ in range(n_clients)]
    for client in clients:  # warm up: connections open, first-call costs paid
        send(client, bodies[0])
    started = time.perf_counter()
    with ThreadPoolExecutor(n_clients) as pool:
        results = list(pool.map(lambda i: send(clients[i % n_clients], bodies[i]),
                                range(n_requests)))  # fmt: skip
    wall_s = time.perf_counter() - started
    for client in clients:
        client.close()
    latencies = np.array([r[0] for r in results]) * 1000
    return {
        "rows_per_request": batch,
        "clients": n_clients,
        "requests": n_requests,
        "errors": sum(r[1] != 200 for r in results),
        "p50_ms": round(float(np.percentile(latencies, 50)), 2),
        "p99_ms": round(float(np.percentile(latencies, 99)), 2),
        "requests_per_s": round(n_requests / wall_s, 1),
        "rows_per_s": round(n_requests * batch / wall_s, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dataset", default="bank-marketing")
    parser.add_argument("--time", type=float, default=120, help="Fit time of each predictor.")
    parser.add_argument("--single", type=int, default=1000, help="Single-row requests.")
    parser.add_argument("--batches", type=int, default=30, help="Requests of 1,000 rows.")
    parser.add_argument("--out", default=str(RESULTS / "serve_load.csv"))
    args = parser.parse_args()

    import assay
    from assay.data import load_benchmark
    from assay.testing import ServiceProcess

    frame, spec = load_benchmark(args.dataset)
    frame = frame.sample(frac=1.0, random_state=0).reset_index(drop=True)
    train, held_out = frame.iloc[N_HELD_OUT:], frame.iloc[:N_HELD_OUT]
    folders = fit_predictors(train, spec.target, args.time, args.dataset)
    features = held_out.drop(columns=spec.target)
    records = features.astype(object).where(features.notna(), None).to_dict(orient="records")
    modes = [(1, args.single, 1), (1, args.single, 4), (1000, args.batches, 1)]
    out = Path(args.out)
    rows = []
    with out.open("w", newline="") as handle:
        writer = None
        for deploy, folder in folders.items():
            predictor = assay.load(folder)
            members = "+".join(m.model for m in predictor.members if m.weight > 0)
            n_fold_models = sum(len(m.models) for m in predictor.members if m.weight > 0)
            with ServiceProcess(folder) as service:
                url = service.url
                for batch, n_requests, n_clients in modes:
                    row = {"dataset": args.dataset, "deploy": deploy, "members": members,
                           "fold_models": n_fold_models,
                           **run_mode(url, records, batch, n_requests, n_clients),
                           "cores": os.cpu_count()}  # fmt: skip
                    rows.append(row)
                    if writer is None:
                        writer = csv.DictWriter(handle, fieldnames=list(row))
                        writer.writeheader()
                    writer.writerow(row)
                    handle.flush()
                    print(row, flush=True)
    write_table(rows, args, out.with_suffix(".md"))


def write_table(rows: list[dict], args, path: Path) -> None:
    lines = [
        f"# Load test of `assay serve` ({args.dataset}, {os.cpu_count()} cores, one worker)\n",
        f"Command: `ASSAY_DATASETS=../shared/datasets .venv/bin/python benchmarks/serve_load.py "
        f"--dataset {args.dataset} --time {args.time:g} --single {args.single} --batches "
        f"{args.batches}`. Predictors fitted with a {args.time:g} s budget on all but "
        f"{N_HELD_OUT} rows; requests (with probabilities) use the held-out rows, sent as "
        "JSON over HTTP/1.1 keep-alive from a second process on 127.0.0.1.\n",
        "| deploy | members (fold models) | rows/request | clients | requests | p50 ms | "
        "p99 ms | requests/s | rows/s | errors |",
        "|---|---|---|---|---|---|---|---|---|---|",
        *[
            f"| {r['deploy']} | {r['members']} ({r['fold_models']}) | {r['rows_per_request']} | "
            f"{r['clients']} | {r['requests']} | {r['p50_ms']} | {r['p99_ms']} | "
            f"{r['requests_per_s']} | {r['rows_per_s']} | {r['errors']} |"
            for r in rows
        ],
        "",
    ]
    path.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()

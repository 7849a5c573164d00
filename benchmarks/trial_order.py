"""The trials a fixed-count fit runs, in order, with their scores: a check that a refactor
changed no behaviour (same configs tried in the same order, same out-of-fold scores).

    python benchmarks/trial_order.py --datasets credit-g,segment,wine-quality-red \
        --trials 8 --out before.json
    python benchmarks/trial_order.py ... --out after.json --compare before.json

Fits run with `n_trials` (no time limit), so the outcome depends only on the data, the seed
and the code, not on the machine's speed.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent


def read_dataset(root: Path, name: str) -> tuple[pd.DataFrame, dict]:
    manifest = json.loads((root / "manifest.json").read_text())
    entry = next(e for e in manifest["tabular"] + manifest["tabular_design"] if e["name"] == name)
    return pd.read_csv(root / entry["path"], **entry.get("read", {})), entry


def trial_order(frame: pd.DataFrame, target: str, n_trials: int, seed: int, home: Path) -> dict:
    from assay import AutoML
    from assay.store import open_store

    url = f"sqlite:///{home / 'assay.db'}"
    automl = AutoML(n_trials=n_trials, random_state=seed, store=url)
    automl.fit(frame, target=target)
    trials = [
        {
            "trial_no": t.trial_no,
            "model": t.model,
            "config": json.loads(json.dumps(t.config, sort_keys=True, default=str)),
            "state": getattr(t.state, "value", t.state),
            "score": None if t.score is None else round(float(t.score), 10),
        }
        for t in open_store(url).trials(automl.run_id_)
    ]
    info = automl.predictor_.info
    return {
        "trials": trials,
        "ensemble_score": round(float(info["ensemble_score"]), 10),
        "stack_used": bool(info["stack"]["used"]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default="credit-g,segment,wine-quality-red")
    parser.add_argument("--trials", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--compare", type=Path, help="an earlier --out file to compare with")
    args = parser.parse_args()
    root = Path(os.environ.get("ASSAY_DATASETS", HERE.parent.parent / "shared" / "datasets"))
    if not (root / "manifest.json").exists():
        sys.exit(f"benchmark datasets not found at {root}: set ASSAY_DATASETS")
    result = {}
    for name in args.datasets.split(","):
        frame, entry = read_dataset(root, name)
        with tempfile.TemporaryDirectory() as home:
            os.environ["ASSAY_HOME"] = home
            result[name] = trial_order(frame, entry["target"], args.trials, args.seed, Path(home))
        print(name, result[name]["ensemble_score"], len(result[name]["trials"]), flush=True)
    args.out.write_text(json.dumps(result, indent=1, sort_keys=True))
    if args.compare:
        before = json.loads(args.compare.read_text())
        same = True
        for name, now in result.items():
            then = before.get(name)
            ok = (
                then is not None
                and then["trials"] == now["trials"]
                and math.isclose(then["ensemble_score"], now["ensemble_score"], rel_tol=1e-9)
            )
            same &= ok
            print(f"{name}: {'same' if ok else 'DIFFERENT'}")
        sys.exit(0 if same else 1)


if __name__ == "__main__":
    main()

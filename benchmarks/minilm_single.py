"""One fine-tuned `minilm` model on MRPC: trained on the first ROWS training pairs for a
fixed number of epochs, scored on MRPC's test set (accuracy and F1), with its fit and
prediction times. For comparing the member's settings; the whole fit is measured by
benchmarks/media.py.

    ASSAY_DATASETS=../shared/datasets .venv/bin/python benchmarks/minilm_single.py \\
        --epochs 2 --rows 2400 --pairs cross --trained-layers 6 --seed 0
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from suites_text import textpair_suite


def main() -> None:
    from sklearn.metrics import f1_score

    from assay.models import FineTunedMiniLMModel

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=2, help="0: the linear probe alone")
    parser.add_argument("--rows", type=int, default=0, help="training pairs (0: all 4,076)")
    parser.add_argument("--pairs", choices=("cross", "siamese"), default="cross")
    parser.add_argument("--trained-layers", type=int, default=6)
    parser.add_argument("--linear-probe", action="store_true")
    parser.add_argument("--seed", type=int, default=0, help="the model's random_state")
    args = parser.parse_args()
    *_, (train, test) = next(textpair_suite(["mrpc"]))
    if args.rows:
        train = train.head(args.rows)
    columns = ["sentence1", "sentence2"]
    model = FineTunedMiniLMModel(
        task="binary",
        n_jobs=2,
        n_estimators=args.epochs,
        pairs=args.pairs,
        trained_layers=args.trained_layers,
        linear_probe=args.linear_probe,
        random_state=args.seed,
    )
    started = time.monotonic()
    model.fit(train[columns], train["label"].to_numpy())
    fit_s = time.monotonic() - started
    started = time.monotonic()
    predicted = model.predict(test[columns])
    predict_s = time.monotonic() - started
    truth = test["label"].to_numpy()
    print(
        f"{vars(args)} train pairs {len(train)}: fit {fit_s:.1f}s, predict {predict_s:.1f}s "
        f"for {len(test)} pairs; accuracy {(predicted == truth).mean():.4f}, "
        f"F1 {f1_score(truth, predicted):.4f}"
    )


if __name__ == "__main__":
    main()

"""Text pairs whose order matters (entailment: does sentence A entail B, contradict it, or
neither?): assay at the current source against an earlier revision (`--before`), beside a
hand-made TF-IDF pair model, on three seeded 70/30 splits, the sides interleaved per split.

    ASSAY_DATASETS=../shared/datasets .venv/bin/python benchmarks/textpair_order.py \\
        --before 5bdbcbb --time 300

The data is SICK (Marelli et al., LREC 2014; CC BY-NC-SA 3.0), which ../shared/datasets
does not hold: `--data` (default `$ASSAY_DATASETS/textpair/SICK.txt`) is its tab-separated
file (pair_ID, sentence_A, sentence_B, relatedness_score, entailment_judgment); without it
the script says where it looked and stops. Each assay side fits from the CLI as a user
would (`assay fit train.csv --target label --time T`; sentence_A and sentence_B are detected
as a pair), with an ASSAY_HOME of its own (no embedding cached by the other side), then
predicts the test pairs. The baseline: |a-b| and a*b of TF-IDF word 1-2 grams, their
cosine, and whether exactly one side has a negation, into a logistic regression. Rows are
appended to benchmarks/results/textpair_order_<T>s.csv as they finish (a rerun skips
them), and a markdown table is written beside it."""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from _revision import source  # noqa: E402
from _rows import append_row, read_rows  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
WORK = ROOT / "benchmarks" / ".work" / "textpair_order"
FIELDS = ["split", "side", "revision", "budget_s", "accuracy", "macro_f1", "n_train", "n_test",
          "seconds"]  # fmt: skip
_NEGATION = re.compile(r"\b(?:no|not|never|nobody|nothing|none)\b|n't")


def load(path: Path) -> pd.DataFrame:
    if not path.exists():
        raise SystemExit(
            f"{path} not found: this benchmark needs SICK's tab-separated file (pair_ID, "
            "sentence_A, sentence_B, relatedness_score, entailment_judgment); give it "
            "with --data."
        )
    frame = pd.read_csv(path, sep="\t", quoting=3)
    frame = frame[["sentence_A", "sentence_B", "entailment_judgment"]].dropna()
    return frame.rename(columns={"entailment_judgment": "label"}).reset_index(drop=True)


def baseline(train: pd.DataFrame, test: pd.DataFrame) -> np.ndarray:
    from scipy import sparse
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    texts = pd.concat([train.sentence_A, train.sentence_B])
    vectorizer = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True).fit(texts)

    def features(frame: pd.DataFrame):
        a, b = vectorizer.transform(frame.sentence_A), vectorizer.transform(frame.sentence_B)
        cosine = np.asarray(a.multiply(b).sum(axis=1))
        one_negated = [
            [bool(_NEGATION.search(x.lower())) != bool(_NEGATION.search(y.lower()))]
            for x, y in zip(frame.sentence_A, frame.sentence_B, strict=True)
        ]
        return sparse.hstack([abs(a - b), a.multiply(b), cosine, np.array(one_negated)]).tocsr()

    model = LogisticRegression(C=4.0, max_iter=2000).fit(features(train), train.label)
    return model.predict(features(test))


def run_assay(revision: str | None, folder: Path, budget_s: float) -> tuple[np.ndarray, str]:
    path, commit = source(revision, WORK)
    side = folder / f"assay-{commit}"
    env = {**os.environ, "PYTHONPATH": path, "ASSAY_HOME": str(side / "home")}
    assay = [sys.executable, "-m", "assay"]
    fit = ["fit", str(folder / "train.csv"), "--target", "label", "--time", str(budget_s)]
    subprocess.run([*assay, *fit, "--out", str(side / "predictor")], env=env, check=True)
    predicted = side / "predictions.csv"
    predict = ["predict", str(side / "predictor"), str(folder / "test.csv")]
    subprocess.run([*assay, *predict, "--out", str(predicted)], env=env, check=True)
    return pd.read_csv(predicted)["prediction"].astype(str).to_numpy(), commit


def run(data: Path, before: str | None, budget_s: float, out: Path) -> None:
    from sklearn.metrics import accuracy_score, f1_score
    from sklearn.model_selection import train_test_split

    frame = load(data)
    done = {(r["split"], r["side"]) for r in read_rows(out)}
    for split in range(3):
        train, test = train_test_split(
            frame, test_size=0.3, random_state=split, stratify=frame.label
        )
        folder = WORK / f"split{split}"
        folder.mkdir(parents=True, exist_ok=True)
        train.to_csv(folder / "train.csv", index=False)
        test.drop(columns="label").to_csv(folder / "test.csv", index=False)
        sides = [("tfidf-baseline", None), ("assay", None)]
        sides += [("assay-before", before)] if before else []
        for side, revision in sides:
            if (str(split), side) in done:
                continue
            started = time.monotonic()
            if side == "tfidf-baseline":
                predicted, commit = baseline(train, test), ""
            else:
                predicted, commit = run_assay(revision, folder, budget_s)
            truth = test.label.astype(str).to_numpy()
            row = {
                "split": split,
                "side": side,
                "revision": commit,
                "budget_s": budget_s if commit else "",
                "accuracy": round(float(accuracy_score(truth, predicted)), 4),
                "macro_f1": round(float(f1_score(truth, predicted, average="macro")), 4),
                "n_train": len(train),
                "n_test": len(test),
                "seconds": round(time.monotonic() - started, 1),
            }
            append_row(out, FIELDS, row)
            print(row, flush=True)


def report(out: Path) -> str:
    rows = pd.DataFrame(read_rows(out))
    rows[["accuracy", "macro_f1"]] = rows[["accuracy", "macro_f1"]].astype(float)
    n_pairs = int(rows.n_train.astype(int).iloc[0] + rows.n_test.astype(int).iloc[0])
    budget = rows.budget_s[rows.budget_s != ""].astype(float).max()
    lines = [
        f"# Text pairs whose order matters: SICK entailment ({n_pairs:,} pairs), three "
        f"seeded 70/30 splits, {budget:.0f} s",
        "",
        "`benchmarks/textpair_order.py` (see its docstring). Accuracy and macro F1 per split,",
        "then the mean.",
        "",
        "| side | revision | "
        + " | ".join(f"split {s}" for s in sorted(rows.split.unique()))
        + " | mean accuracy | mean macro F1 |",
        "|---|---|" + "---|" * (rows.split.nunique() + 2),
    ]
    for side, group in rows.groupby("side", sort=False):
        cells = [f"{a:.4f} / {f:.4f}" for a, f in zip(group.accuracy, group.macro_f1, strict=True)]
        revision = group.revision.iloc[0]
        lines.append(
            f"| {side} | {revision} | "
            + " | ".join(cells)
            + f" | {group.accuracy.mean():.4f} | {group.macro_f1.mean():.4f} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    datasets = Path(os.environ.get("ASSAY_DATASETS", ROOT.parent / "shared" / "datasets"))
    parser.add_argument("--data", type=Path, default=datasets / "textpair" / "SICK.txt")
    parser.add_argument("--before", help="an earlier revision to fit beside the current one")
    parser.add_argument("--time", type=float, default=300.0, help="each fit's budget, seconds")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    out = args.out or RESULTS / f"textpair_order_{args.time:.0f}s.csv"
    run(args.data, args.before, args.time, out)
    out.with_suffix(".md").write_text(report(out))
    print(report(out))


if __name__ == "__main__":
    main()

"""Images, sound and text pairs at a fixed budget, each beside a hand-made baseline in the
same run.

- sign-language-digits: a seeded, stratified 20% of the pictures is held out; `assay fit`
  gets a folder of the other 80% (one subfolder per digit, links to the files) and no
  option but `--time`; `assay predict` then reads a table of the held-out files' paths.
  Baseline: HOG of the 64x64 grey picture + logistic regression.
- fsdd: each of the five speakers held out in turn; `assay fit` gets a table of the other
  four speakers' file paths with `--target digit --groups speaker`; `assay predict` reads
  a table of the held-out speaker's files. Baseline: mean MFCCs + logistic regression.
- mrpc: its own train (with validation) and test sets; `assay fit` gets the training table
  with `--target label`, `assay predict` the test pairs. Baseline: the frozen MiniLM
  embeddings u, v of the two sentences, [u, v, |u - v|, u * v] + logistic regression.

Both sides see the same rows and the same decoded files; the baselines are timed too. For
assay, the fit's and the prediction's peak memory (the RSS of the whole process tree) and
the prediction speed (inputs per second: files, decoding included, or pairs) are recorded;
F1 (of class 1) beside accuracy for MRPC.

    ASSAY_DATASETS=../shared/datasets .venv/bin/python benchmarks/media.py --time 600
    .venv/bin/python benchmarks/media.py --report

Rows go to benchmarks/results/media.csv as they finish; a killed run resumes where it
stopped (a finished (dataset, split, side) is not run again).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from _rows import append_row, code_version, read_rows  # noqa: E402
from run import run_child  # noqa: E402  (the peers' harness: process-tree RSS sampling)

RESULTS = ROOT / "benchmarks" / "results"
WORK = ROOT / "benchmarks" / ".work" / "media"
FIELDS = [
    "dataset", "split", "side", "budget_s", "accuracy", "f1", "n_train", "n_test", "fit_s",
    "predict_s", "per_s", "fit_peak_mb", "predict_peak_mb", "status", "version",
]  # fmt: skip


def _datasets() -> Path:
    from assay.config import settings

    return settings().datasets


def _done(path: Path) -> set[tuple[str, str, str]]:
    return {(r["dataset"], r["split"], r["side"]) for r in read_rows(path)}


# -- the splits -----------------------------------------------------------------------------
def sign_language_splits(seed: int = 0):
    """One split: (name, train table, test table, target, groups)."""
    from sklearn.model_selection import train_test_split

    from assay.data import read_table

    frame = read_table(_datasets() / "images" / "sign-language-digits")
    train, test = train_test_split(frame, test_size=0.2, random_state=seed, stratify=frame["label"])
    yield f"seed{seed}", train.reset_index(drop=True), test.reset_index(drop=True), "label", None


def fsdd_splits():
    """Five splits, each speaker held out once."""
    files = sorted((_datasets() / "audio" / "fsdd").glob("*.wav"))
    frame = pd.DataFrame(
        {
            "file": [str(p.resolve()) for p in files],
            "digit": [int(p.name.split("_")[0]) for p in files],
            "speaker": [p.name.split("_")[1] for p in files],
        }
    )
    for speaker in sorted(frame["speaker"].unique()):
        train = frame[frame["speaker"] != speaker].reset_index(drop=True)
        test = frame[frame["speaker"] == speaker].reset_index(drop=True)
        yield speaker, train, test, "digit", "speaker"


def mrpc_splits():
    """The dataset's own split: train and validation to fit, test to score."""
    from suites_text import textpair_suite

    *_, (train, test) = next(textpair_suite(["mrpc"]))
    yield "test", train.reset_index(drop=True), test.reset_index(drop=True), "label", None


INPUTS = {"sign-language-digits": ["path"], "fsdd": ["file"], "mrpc": ["sentence1", "sentence2"]}


# -- assay, through its CLI -----------------------------------------------------------------
def _class_folder(train: pd.DataFrame, folder: Path) -> Path:
    """The training pictures as a folder of class subfolders (links to the files)."""
    for path, label in zip(train["path"], train["label"], strict=True):
        target = folder / str(label) / Path(path).name
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists():
            target.symlink_to(path)
    return folder


def run_assay(name, split, train, test, target, groups, budget_s: float) -> dict:
    work = WORK / name / split
    work.mkdir(parents=True, exist_ok=True)
    if name == "sign-language-digits":  # a folder of class subfolders, no option but the budget
        data = str(_class_folder(train, work / "train"))
        options = []
    else:
        data = str(work / "train.csv")
        train.to_csv(data, index=False)
        options = ["--target", target, *(["--groups", groups] if groups else [])]
    predictor = work / "predictor"
    fit = [sys.executable, "-m", "assay", "fit", data, *options, "--time", str(budget_s)]
    started = time.monotonic()
    code, fit_peak, tail = run_child([*fit, "--out", str(predictor)], 3 * budget_s, work)
    fit_s = time.monotonic() - started
    if code != 0:
        return {"status": f"fit failed: {tail}", "fit_s": round(fit_s, 1)}
    test[INPUTS[name]].to_csv(work / "test.csv", index=False)
    out = work / "predictions.csv"
    predict = [sys.executable, "-m", "assay", "predict", str(predictor), str(work / "test.csv")]
    started = time.monotonic()
    code, predict_peak, tail = run_child([*predict, "--out", str(out)], 3 * budget_s, work)
    predict_s = time.monotonic() - started
    if code != 0:
        return {"status": f"predict failed: {tail}", "fit_s": round(fit_s, 1)}
    predicted = pd.read_csv(out)["prediction"].astype(str).to_numpy()
    return {
        **_scores(name, predicted, test[target]),
        "fit_s": round(fit_s, 1),
        "predict_s": round(predict_s, 2),
        "per_s": round(len(test) / predict_s, 1),
        "fit_peak_mb": round(fit_peak),
        "predict_peak_mb": round(predict_peak),
        "status": "ok",
    }


def _scores(name: str, predicted, truth: pd.Series) -> dict:
    """Accuracy, and for MRPC the F1 of class 1, of predictions read as strings."""
    from sklearn.metrics import f1_score

    predicted, truth = np.asarray(predicted).astype(str), truth.astype(str).to_numpy()
    scores = {"accuracy": round(float(np.mean(predicted == truth)), 4)}
    if name == "mrpc":
        scores["f1"] = round(float(f1_score(truth, predicted, pos_label="1")), 4)
    return scores


# -- the hand-made baselines ------------------------------------------------------------------
def _hog(paths) -> np.ndarray:
    from skimage.feature import hog

    from assay._types import FeatureType
    from assay.data._decode import decoded

    rows = []
    for path in paths:
        grey = decoded(path, FeatureType.IMAGE).astype(float) @ [0.299, 0.587, 0.114] / 255
        rows.append(hog(grey, orientations=9, pixels_per_cell=(8, 8), cells_per_block=(2, 2)))
    return np.vstack(rows)


def _mean_mfcc(paths) -> np.ndarray:
    import librosa
    import soundfile

    rows = []
    with warnings.catch_warnings():  # librosa's default window is longer than short clips
        warnings.simplefilter("ignore", UserWarning)
        for path in paths:
            wave, rate = soundfile.read(path, dtype="float32", always_2d=True)
            mfcc = librosa.feature.mfcc(y=wave.mean(axis=1), sr=rate, n_mfcc=20)
            rows.append(mfcc.mean(axis=1))
    return np.vstack(rows)


def _frozen_pair(frame: pd.DataFrame) -> np.ndarray:
    from assay.features._embed import embed_texts

    u, v = (embed_texts(frame[c].tolist()).astype(np.float64) for c in INPUTS["mrpc"])
    return np.hstack([u, v, np.abs(u - v), u * v])


FEATURES = {
    "sign-language-digits": lambda frame: _hog(frame["path"]),
    "fsdd": lambda frame: _mean_mfcc(frame["file"]),
    "mrpc": _frozen_pair,
}


def run_baseline(name, train, test, target) -> dict:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    started = time.monotonic()
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=3000))
    model.fit(FEATURES[name](train), train[target].astype(str))
    fit_s = time.monotonic() - started
    started = time.monotonic()
    predicted = model.predict(FEATURES[name](test))
    predict_s = time.monotonic() - started
    return {
        **_scores(name, predicted, test[target]),
        "fit_s": round(fit_s, 1),
        "predict_s": round(predict_s, 2),
        "per_s": round(len(test) / predict_s, 1),
        "status": "ok",
    }


# -- the run and its report -------------------------------------------------------------------
SUITE = {"sign-language-digits": sign_language_splits, "fsdd": fsdd_splits, "mrpc": mrpc_splits}
BASELINE = {
    "sign-language-digits": "hog+logistic",
    "fsdd": "mean-mfcc+logistic",
    "mrpc": "frozen-minilm+logistic",
}
HOW = {
    "sign-language-digits": "seeded 20% split",
    "fsdd": "each speaker held out",
    "mrpc": "its test set",
}


def run(budget_s: float, names: list[str], out: Path) -> None:
    done, version = _done(out), code_version()
    for name in names:
        for split, train, test, target, groups in SUITE[name]():
            for side in (BASELINE[name], "assay"):
                if (name, split, side) in done:
                    continue
                print(f"{name} {split} {side} ...", flush=True)
                if side == "assay":
                    row = run_assay(name, split, train, test, target, groups, budget_s)
                else:
                    row = run_baseline(name, train, test, target)
                row.update(
                    dataset=name,
                    split=split,
                    side=side,
                    budget_s=budget_s if side == "assay" else "",
                    n_train=len(train),
                    n_test=len(test),
                    version=version,
                )
                append_row(out, FIELDS, row)
                print(f"  {row.get('status')} accuracy {row.get('accuracy')}", flush=True)


def report(out: Path) -> str:
    rows = pd.read_csv(out)
    lines = [
        "| dataset | evaluation | side | accuracy | F1 | fit s | inputs/s predicted "
        "| fit peak MB |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for (name, side), group in rows.groupby(["dataset", "side"], sort=False):
        ok = group[group["status"] == "ok"]
        peaks = ok["fit_peak_mb"].dropna() if "fit_peak_mb" in ok else pd.Series(dtype=float)
        peak = "" if peaks.empty else f"{peaks.max():.0f}"
        f1s = ok["f1"].dropna() if "f1" in ok else pd.Series(dtype=float)
        f1 = "" if f1s.empty else f"{f1s.mean():.4f}"
        lines.append(
            f"| {name} | {HOW.get(name, '')} ({len(ok)} of {len(group)}) | {side} | "
            f"{ok['accuracy'].mean():.4f} | {f1} | {ok['fit_s'].mean():.0f} | "
            f"{ok['per_s'].mean():.0f} | {peak} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--time", type=float, default=600.0, help="assay's budget, seconds")
    parser.add_argument("--datasets", default=",".join(SUITE), help="comma-separated")
    parser.add_argument("--out", type=Path, default=RESULTS / "media.csv")
    parser.add_argument("--report", action="store_true", help="write the markdown table only")
    args = parser.parse_args()
    os.environ.setdefault("ASSAY_HOME", str(WORK / "home"))  # the runs, away from ./assay-runs
    if not args.report:
        run(args.time, [n for n in args.datasets.split(",") if n], args.out)
    table = report(args.out)
    args.out.with_suffix(".md").write_text("# Images and sound (benchmarks/media.py)\n\n" + table)
    print(table)


if __name__ == "__main__":
    main()

"""benchmarks/media.py: the splits keep every speaker out of its own training rows, the
pictures' split holds out 20% of each class, MRPC keeps its own test set, the scores and
the report average each side."""

import sys
from pathlib import Path

import pandas as pd

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCH))

import media  # noqa: E402
from _rows import append_row  # noqa: E402


def test_fsdd_holds_each_speaker_out_once(datasets_dir) -> None:
    splits = list(media.fsdd_splits())
    assert [name for name, *_ in splits] == ["george", "jackson", "lucas", "nicolas", "theo"]
    for speaker, train, test, target, groups in splits:
        assert set(test["speaker"]) == {speaker} and speaker not in set(train["speaker"])
        assert target == "digit" and groups == "speaker"
        assert len(train) + len(test) == 2500


def test_the_pictures_split_holds_out_a_fifth_of_every_class(datasets_dir) -> None:
    (_, train, test, target, groups), *rest = list(media.sign_language_splits(seed=0))
    assert not rest and groups is None and target == "label"
    assert not set(train["path"]) & set(test["path"])
    share = test["label"].value_counts() / (
        train["label"].value_counts() + test["label"].value_counts()
    )
    assert share.between(0.17, 0.23).all()


def test_mrpc_keeps_its_own_test_set_and_is_scored_with_f1(datasets_dir) -> None:
    (split, train, test, target, groups), *rest = list(media.mrpc_splits())
    assert not rest and split == "test" and groups is None and target == "label"
    assert len(test) == 1725 and len(train) == 4076  # MRPC's test; train and validation
    assert set(media.INPUTS["mrpc"]) <= set(test.columns)
    scores = media._scores("mrpc", ["1", "0", "1", "1"], pd.Series([1, 0, 0, 1]))
    assert scores == {"accuracy": 0.75, "f1": 0.8}  # precision 2/3, recall 1


def test_the_report_averages_each_side(tmp_path) -> None:
    out = tmp_path / "media.csv"
    rows = [
        {"dataset": "fsdd", "split": s, "side": side, "accuracy": acc, "fit_s": 10,
         "per_s": 100, "f1": 0.7 if side == "assay" else None,
         "fit_peak_mb": 500 if side == "assay" else None, "status": "ok"}
        for s, side, acc in [("a", "assay", 0.9), ("b", "assay", 0.8), ("a", "base", 0.5)]
    ]  # fmt: skip
    rows.append({"dataset": "fsdd", "split": "c", "side": "assay", "status": "fit failed: x"})
    for row in rows:
        append_row(out, media.FIELDS, row)
    table = media.report(out)
    assay_line = next(line for line in table.splitlines() if "| assay |" in line)
    assert "(2 of 3)" in assay_line and "0.8500" in assay_line and "| 500 |" in assay_line
    assert "| 0.7000 |" in assay_line
    base_line = next(line for line in table.splitlines() if "| base |" in line)
    assert "0.5000" in base_line
    assert len(pd.read_csv(out)) == 4

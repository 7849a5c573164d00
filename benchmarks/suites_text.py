"""Text and text-pair suites: SST-2 and SMS spam (one text column), MRPC (a pair of texts).

Each yields (name, frame, target, task, metric, split): `split` is the dataset's own
(train, test) where it has one (SST-2, MRPC), else None for the harness's seeded 80/20
split (SMS spam). Frames have plain column names so every framework reads them alike."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pandas as pd


def _root() -> Path:
    from assay.config import settings

    return settings().datasets


def _specs(kind: str) -> dict[str, dict]:
    manifest = json.loads((_root() / "manifest.json").read_text())
    return {spec["name"]: spec for spec in manifest[kind]}


def _sst2(path: Path) -> pd.DataFrame:
    rows = [line.rstrip("\n").split(" ", 1) for line in path.open(encoding="utf-8")]
    return pd.DataFrame({"sentence": [t for _, t in rows], "label": [int(y) for y, _ in rows]})


def _mrpc(path: Path) -> pd.DataFrame:
    frame = pd.read_csv(path, sep="\t", quoting=csv.QUOTE_NONE, encoding="utf-8-sig")
    return pd.DataFrame(
        {
            "sentence1": frame["#1 String"].astype(str),
            "sentence2": frame["#2 String"].astype(str),
            "label": frame["Quality"].astype(int),
        }
    )


def text_suite(names: list[str]):
    specs = _specs("text")
    if not names or "sst2" in names:
        paths = specs["sst2"]["paths"]
        train = pd.concat([_sst2(_root() / paths["train"]), _sst2(_root() / paths["dev"])])
        test = _sst2(_root() / paths["test"])
        yield "sst2", None, "label", "binary", "accuracy", (train, test)
    if not names or "sms-spam" in names:
        frame = pd.read_csv(
            _root() / specs["sms-spam"]["path"], sep="\t", quoting=csv.QUOTE_NONE
        ).rename(columns={"Label": "label", "SMS": "message"})
        frame["label"] = (frame["label"] == "spam").astype(int)  # f1 of spam, for every peer
        yield "sms-spam", frame[["message", "label"]], "label", "binary", "f1", None


def textpair_suite(names: list[str]):
    if not names or "mrpc" in names:
        paths = _specs("textpair")["mrpc"]["paths"]
        train = pd.concat([_mrpc(_root() / paths["train"]), _mrpc(_root() / paths["val"])])
        yield "mrpc", None, "label", "binary", "accuracy", (train, _mrpc(_root() / paths["test"]))

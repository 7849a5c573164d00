"""Images and sound through the CLI, as a user meets them: a folder with one subfolder per
class, a table of sound file paths with a speaker column as groups, bad files, and
predictions for files the predictor never saw (a folder, a table, a list)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from assay.testing._toy_media import write_image, write_tone

pytest.importorskip("torch")
pytest.importorskip("soundfile")
pytest.importorskip("librosa")

_LEVELS = {"dark": 0.1, "mid": 0.5, "light": 0.9}


def assay(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [sys.executable, "-m", "assay", *args],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        timeout=300,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"assay {args} exited {proc.returncode}:\n{proc.stderr}")
    return proc


def _photos(root: Path, n_per_class: int, seed: int) -> Path:
    rng = np.random.default_rng(seed)
    for label, level in _LEVELS.items():
        (root / label).mkdir(parents=True)
        for i in range(n_per_class):
            jitter = float(np.clip(level + 0.05 * rng.normal(), 0, 1))
            write_image(
                root / label / f"{label}_{i}.png", jitter, rng, mode="L" if i % 3 else "RGB"
            )
    return root


def test_a_folder_of_class_subfolders_fits_and_predicts_unseen_pictures(tmp_path: Path) -> None:
    photos = _photos(tmp_path / "photos", n_per_class=14, seed=0)
    bad = photos / "mid" / "broken.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 truncated")
    out = tmp_path / "predictor"
    fit = assay("fit", str(photos), "--time", "40", "--out", str(out), "--report")
    assert "1 file(s) of column 'path' could not be read: broken.jpg" in fit.stderr
    assert "goes on without those rows" in fit.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["info"]["validation"].endswith("of shuffled rows")
    written = [line for line in fit.stdout.splitlines() if line.startswith("Report written to")]
    report = Path(written[0].removeprefix("Report written to").strip()).read_text()
    assert "Examples" in report and "Accuracy of each class" in report
    assert "data:image/png;base64," in report or "No pictures were predicted wrong" in report

    unseen = _photos(tmp_path / "new", n_per_class=4, seed=1)
    assay("predict", str(out), str(unseen), "--out", str(tmp_path / "p.csv"))
    predictions = pd.read_csv(tmp_path / "p.csv")
    assert list(predictions.columns[:2]) == ["path", "prediction"]
    truth = [Path(p).parent.name for p in predictions["path"]]
    assert np.mean(predictions["prediction"] == truth) >= 0.8

    from assay import load

    predictor = load(out)
    assert "image_cnn" in _completed_models(predictor)  # the network was searched
    files = sorted(str(p) for p in (unseen / "light").iterdir())
    assert list(predictor.predict(files)) == ["light"] * len(files)
    broken = assay("predict", str(out), str(photos / "mid"), check=False)
    assert broken.returncode == 3 and "broken.jpg" in broken.stderr
    _served_uploads(out, sorted((unseen / "dark").iterdir()), predictor)


def _completed_models(predictor) -> set[str]:
    """The families of the fit's completed trials, from the run in the store."""
    from assay._types import TrialState
    from assay.store import open_store

    trials = open_store().trials(predictor.info["run_id"])
    return {t.model for t in trials if t.state is TrialState.COMPLETE}


def _served_uploads(predictor_dir: Path, files: list[Path], predictor) -> None:
    """`assay serve` predicts uploaded files as the predictor does, and never reads a path
    a request names."""
    pytest.importorskip("fastapi")
    import httpx

    from assay.testing import ServiceProcess

    with ServiceProcess(predictor_dir) as running:
        upload = [("file", (p.name, p.read_bytes(), "image/png")) for p in files]
        answer = httpx.post(f"{running.url}/predict", files=upload, timeout=60)
        assert answer.status_code == 200, answer.text
        assert answer.json()["files"] == [p.name for p in files]
        expected = list(predictor.predict([str(p) for p in files]))
        assert answer.json()["predictions"] == expected
        by_path = httpx.post(f"{running.url}/predict", json=[{"path": str(files[0])}])
        assert by_path.status_code == 415 and "multipart/form-data" in by_path.json()["detail"]
        text = [("file", ("notes.txt", b"not a picture", "text/plain"))]
        wrong = httpx.post(f"{running.url}/predict", files=text)
        assert wrong.status_code == 415 and "notes.txt" in wrong.json()["detail"]


def _recordings(root: Path, speakers: list[str], seed: int) -> pd.DataFrame:
    """Tones whose pitch tells the digit, a little different for each speaker, as a table of
    paths relative to the table's folder."""
    rng = np.random.default_rng(seed)
    (root / "clips").mkdir(parents=True, exist_ok=True)
    rows = []
    for s, speaker in enumerate(speakers):
        for digit in range(3):
            for take in range(5):
                name = f"clips/{digit}_{speaker}_{take}.wav"
                write_tone(root / name, 0.15 + 0.35 * digit + 0.03 * s, rng)
                rows.append({"file": name, "digit": digit, "speaker": speaker})
    return pd.DataFrame(rows)


def test_a_table_of_sound_paths_fits_with_speaker_groups(tmp_path: Path, assay_home) -> None:
    project = tmp_path / "project"
    table = _recordings(project, ["ann", "bob", "cid", "dan"], seed=0)
    table.to_csv(project / "train.csv", index=False)
    out = tmp_path / "predictor"
    fit = assay(
        "fit",
        str(project / "train.csv"),
        "--target",
        "digit",
        "--groups",
        "speaker",
        "--time",
        "60",  # a fresh install's first sound decode spends about 17 s compiling librosa
        "--out",
        str(out),
    )
    from assay import load

    assert "sound_cnn" in _completed_models(load(out))
    manifest = json.loads((out / "manifest.json").read_text())
    assert "grouped by 'speaker' (4 groups)" in manifest["info"]["validation"]
    assert manifest["info"]["deploy"] == "fast"  # grouped media: refitted on every speaker
    shown = [line for line in fit.stdout.splitlines() if line.startswith("validation:")]
    assert shown and "grouped by 'speaker' (4 groups)" in shown[0]
    assert "speaker" not in [c["name"] for c in manifest["schema"]["columns"]]  # not a feature

    # every speaker's recordings in one fold of the run's out-of-fold record
    run_dir = next(p for p in assay_home.iterdir() if (p / "oof").is_dir())
    fold_of = np.load(run_dir / "oof" / "fold_of_row.npy")
    for speaker, rows in table.groupby("speaker").groups.items():
        assert len(set(fold_of[list(rows)])) == 1, speaker

    new = tmp_path / "elsewhere"
    unseen = _recordings(new, ["eve"], seed=1)
    unseen.drop(columns=["digit", "speaker"]).to_csv(new / "new.csv", index=False)
    assay("predict", str(out), str(new / "new.csv"), "--out", str(tmp_path / "p.csv"))
    predictions = pd.read_csv(tmp_path / "p.csv")
    assert len(predictions) == len(unseen)
    assert np.mean(predictions["prediction"].to_numpy() == unseen["digit"].to_numpy()) >= 0.8

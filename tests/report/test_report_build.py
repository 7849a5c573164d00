"""The whole report of a fitted model, as a user makes it (`assay fit --report`, `assay
report MODEL --data HELD_OUT --glm`), drawn by a real headless Chromium: every chart
drawn, no script error, nothing fetched from outside, a screenshot saved."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import chromium_page as browser
import numpy as np
import pandas as pd
import pytest

from assay import AutoML
from assay.report import gather_inputs, write_report


def _frame(n: int, seed: int, task: str) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "dose": rng.normal(size=n),
            "age": rng.integers(20, 80, n).astype(float),
            "site": rng.choice(["north", "south", "east"], n),
            "noise": rng.normal(size=n),
        }
    )
    frame.loc[rng.random(n) < 0.05, "age"] = np.nan
    signal = 2 * frame.dose + 0.03 * (frame.age.fillna(50) - 50) + (frame.site == "north")
    if task == "binary":
        frame["outcome"] = np.where(signal + rng.logistic(size=n) > 0, "sick", "well")
    elif task == "multiclass":
        frame["outcome"] = pd.cut(
            signal + rng.normal(size=n), [-np.inf, -1, 1, np.inf], labels=["low", "mid", "high"]
        ).astype(str)
    else:
        frame["outcome"] = signal + rng.normal(size=n)
    return frame


def _cli(*args, cwd):
    proc = subprocess.run(
        [sys.executable, "-m", "assay", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=os.environ.copy(),
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def _sections(html: str) -> list[str]:
    import re

    return re.findall(r"<h2>([^<]*)</h2>", html)


def _check(path, tmp_path, name):
    page = browser.check_page(path, tmp_path / f"{name}.png")
    assert page.n_plots >= 8 and page.n_drawn == page.n_plots, page
    assert page.page_errors == [] and page.console_errors == [], page
    assert page.outside_requests == [] and page.dialogs == [], page
    shot = (tmp_path / f"{name}.png").read_bytes()
    assert shot.startswith(b"\x89PNG") and len(shot) > 100_000
    return page


@pytest.mark.browser
def test_fit_report_and_held_out_report_render_in_chromium(tmp_path):
    _frame(400, 0, "binary").to_csv(tmp_path / "train.csv", index=False)
    _frame(300, 1, "binary").to_csv(tmp_path / "held_out.csv", index=False)
    out = _cli(
        "fit", "train.csv", "--target", "outcome", "--trials", "3",
        "--models", "lightgbm,linear", "--out", "model", "--report", cwd=tmp_path,
    )  # fmt: skip
    fit_report = next(line for line in out.splitlines() if line.startswith("Report written"))
    fit_path = fit_report.split(" to ", 1)[1].strip()
    html = Path(fit_path).read_text()
    titles = _sections(html)
    for title in ("Overview", "Data", "Leaderboard", "Search", "Ensemble", "Predictions"):
        assert title in titles, titles
    assert "out-of-fold predictions of 400 rows" in html
    assert "inflated" in html  # importance on training rows says so
    _check(fit_path, tmp_path, "fit_report")

    out = _cli(
        "report", "model", "--data", "held_out.csv", "--glm", "--out", "held_out.html",
        cwd=tmp_path,
    )  # fmt: skip
    html = (tmp_path / "held_out.html").read_text()
    titles = _sections(html)
    for title in ("Feature importance", "SHAP", "Partial dependence", "Statistical model"):
        assert title in titles, titles
    assert "On 300 held-out rows." in html and "site[T." in html and "odds_ratio" in html
    assert "corrected t-test" in html  # the leaderboard's significance sentence
    _check(tmp_path / "held_out.html", tmp_path, "held_out_report")


@pytest.mark.browser
@pytest.mark.parametrize("task", ["regression", "multiclass"])
def test_report_of_other_tasks_renders(task, tmp_path):
    train, held_out = _frame(300, 2, task), _frame(200, 3, task)
    automl = AutoML(n_trials=2, models=["lightgbm", "linear"], n_folds=3).fit(
        train, target="outcome"
    )
    inputs = gather_inputs(
        "unused", held_out, glm=task == "regression", predictor=automl.predictor_
    )
    assert inputs.run is not None and inputs.trials  # found through the default store
    path = write_report(tmp_path / "report.html", inputs)
    html = path.read_text()
    if task == "regression":
        assert "Residual" in html and "Statistical model" in _sections(html)
    else:
        assert "Confusion matrix" in html and "ROC" in html
    _check(path, tmp_path, f"{task}_report")

"""`assay stats` as a user runs it: a CSV in, the coefficient and variable tables out,
warnings on stderr, the coefficient table as a CSV, and clear errors with the right codes."""

import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from assay.evaluate import fit_glm

COEFFICIENT_COLUMNS = [
    "term",
    "coef",
    "std_err",
    "statistic",
    "p_value",
    "ci_low",
    "ci_high",
    "odds_ratio",
    "or_ci_low",
    "or_ci_high",
    "p_holm",
    "p_bh",
]


def assay(*args):
    return subprocess.run(
        [sys.executable, "-m", "assay", *args],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        timeout=300,
    )


@pytest.fixture
def trial_csv(tmp_path):
    rng = np.random.default_rng(5)
    n = 240
    frame = pd.DataFrame(
        {
            "dose": rng.gamma(2.0, 2.0, n).round(2),
            "arm": rng.choice(["placebo", "low", "high"], n, p=[0.5, 0.25, 0.25]),
        }
    )
    frame["dose_mg"] = frame["dose"] * 1000  # exactly collinear: must be named on stderr
    eta = -1.5 + 0.3 * frame["dose"] + 0.9 * (frame["arm"] == "high")
    frame["outcome"] = np.where(rng.random(n) < 1 / (1 + np.exp(-eta)), "cured", "not cured")
    path = tmp_path / "trial.csv"
    frame.to_csv(path, index=False)
    return path


def test_stats_prints_tables_warns_and_writes_the_coefficients(trial_csv, tmp_path):
    out = tmp_path / "coefficients.csv"
    proc = assay(
        "stats",
        str(trial_csv),
        "--target",
        "outcome",
        "--positive",
        "cured",
        "--reference",
        "arm=placebo",
        "--out",
        str(out),
    )
    assert proc.returncode == 0, proc.stderr
    assert "logistic regression (logit link) of outcome = 'cured'" in proc.stdout
    for term in ["Intercept", "dose", "arm[T.high]", "arm[T.low]"]:
        assert term in proc.stdout
    assert "Variables (joint Wald chi-square tests)" in proc.stdout
    assert "reference level 'placebo' (as asked" in proc.stdout
    assert "warning:" in proc.stderr and "'dose_mg'" in proc.stderr
    assert "Traceback" not in proc.stderr

    written = pd.read_csv(out)
    assert list(written.columns) == COEFFICIENT_COLUMNS
    assert list(written["term"]) == ["Intercept", "dose", "arm[T.high]", "arm[T.low]"]
    expected = fit_glm(trial_csv, "outcome", positive="cured", reference={"arm": "placebo"})
    np.testing.assert_allclose(written["coef"], expected.coefficients["coef"], rtol=1e-9)
    np.testing.assert_allclose(written["p_holm"][1:], expected.coefficients["p_holm"][1:])


def test_stats_bad_family_is_a_usage_error_naming_the_option(trial_csv):
    proc = assay("stats", str(trial_csv), "--target", "outcome", "--family", "gamma")
    assert proc.returncode == 2
    assert "--family" in proc.stderr and "gamma" in proc.stderr


def test_stats_missing_target_is_bad_input_naming_the_column(trial_csv):
    proc = assay("stats", str(trial_csv), "--target", "cure")
    assert proc.returncode == 3
    assert "assay: error:" in proc.stderr and "'cure'" in proc.stderr
    assert "Traceback" not in proc.stderr

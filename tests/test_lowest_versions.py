"""pyproject.toml's ranges hold: their lower bounds work, and constraints.txt (the exact
versions CI installs) pins every requirement inside its range.

The lowest-versions test builds a fresh virtual environment with exactly the `>=` bound of
every core dependency (binary wheels only; the bounds are read from pyproject.toml, so the
test follows the file), installs this checkout without extras, and does what a first user
does: `assay --help`, a fit that trains every core model family and writes a report, a
prediction, `assay stats` and a small forecast. When it fails, raise the bound that broke
in pyproject.toml (or fix the code, when that is small and safe). It needs the package
registry: without one it skips, except under CI, where it must run and so fails.

Run it alone: .venv/bin/python -m pytest tests/test_lowest_versions.py -v
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version
from sklearn.metrics import roc_auc_score

tomllib = pytest.importorskip("tomllib", reason="reading pyproject.toml needs Python 3.11+")

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = ROOT / "pyproject.toml"
CONSTRAINTS = ROOT / "constraints.txt"
# The model families of the core (no extra needed): the fit must train every one of them.
CORE_FAMILIES = ("lightgbm", "catboost", "xgboost", "extra_trees", "random_forest", "linear", "knn")
N_TRIALS = len(CORE_FAMILIES) + 3  # one portfolio config per family, then Optuna TPE asks
N_ROWS = 569  # builtin:breast_cancer
# Published as source only (pure Python, built in seconds); everything else must be a wheel.
SOURCE_ONLY = ("liac-arff",)
# What pip prints when it cannot reach the registry (as opposed to a version that is
# missing or does not install, which is a wrong bound and fails the test).
NETWORK_ERRORS = (
    "NewConnectionError",
    "Failed to establish a new connection",
    "Temporary failure in name resolution",
    "Name or service not known",
    "Network is unreachable",
    "ConnectTimeoutError",
    "ReadTimeoutError",
    "ProxyError",
)


def _project() -> dict:
    return tomllib.loads(PYPROJECT.read_text())["project"]


def _requirements(texts: list[str]) -> list[Requirement]:
    requirements = [Requirement(text) for text in texts]
    return [r for r in requirements if r.marker is None or r.marker.evaluate()]


def lowest_versions(texts: list[str]) -> list[str]:
    """`name==low` for each requirement, low being its one `>=` bound."""
    pins, unbounded = [], []
    for requirement in _requirements(texts):
        lows = [spec.version for spec in requirement.specifier if spec.operator == ">="]
        if len(lows) != 1:
            unbounded.append(str(requirement))
            continue
        pins.append(f"{requirement.name}=={lows[0]}")
    if unbounded:
        pytest.fail(
            f"pyproject.toml: {unbounded} need exactly one `>=` lower bound, the oldest "
            "version that works (this test installs it)",
            pytrace=False,
        )
    return pins


def constraint_pins() -> dict[str, Version]:
    pins = {}
    for line in CONSTRAINTS.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        requirement = Requirement(line)
        specs = list(requirement.specifier)
        assert len(specs) == 1 and specs[0].operator == "==", (
            f"constraints.txt: {line!r} must be an exact pin NAME==VERSION"
        )
        pins[canonicalize_name(requirement.name)] = Version(specs[0].version)
    return pins


def test_constraints_pin_every_requirement_inside_its_range():
    project = _project()
    texts = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        texts += extra
    pins = constraint_pins()
    problems = []
    for requirement in _requirements(texts):
        name = canonicalize_name(requirement.name)
        if name not in pins:
            problems.append(f"{requirement}: no pin; add {requirement.name}==VERSION")
        elif not requirement.specifier.contains(pins[name], prereleases=True):
            problems.append(f"{requirement}: the pin {pins[name]} is outside the range")
    assert not problems, "constraints.txt against pyproject.toml:\n" + "\n".join(problems)
    # The CPU build of torch on this machine's disk: any other version downloads CUDA.
    assert pins.get("torch") == Version("2.13.0"), "constraints.txt must pin torch==2.13.0"


def _environment(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env |= {
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "PYTHONNOUSERSITE": "1",
        "MPLBACKEND": "Agg",
        "COLUMNS": "200",  # wide enough for every table the commands print
        "ASSAY_HOME": str(tmp_path / "assay-home"),
    }
    return env


def _index_url(env: dict[str, str]) -> str:
    """The index pip installs from: PIP_INDEX_URL, pip's configuration, or pip's default."""
    if env.get("PIP_INDEX_URL"):
        return env["PIP_INDEX_URL"].split()[0]
    configured = subprocess.run(
        [sys.executable, "-m", "pip", "config", "get", "global.index-url"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    if configured.returncode == 0 and configured.stdout.strip():
        return configured.stdout.strip()
    from pip._internal.models.index import PyPI

    return PyPI.simple_url


def _index_reachable(env: dict[str, str]) -> bool:
    try:
        urllib.request.urlopen(_index_url(env).rstrip("/") + "/pip/", timeout=30).close()
    except (OSError, ValueError):
        return False
    return True


def _no_registry(output: str) -> None:
    message = (
        "the package registry is not reachable, so the lowest versions cannot be installed; "
        "run this test where pip can download wheels"
    )
    if os.environ.get("CI"):
        pytest.fail(f"{message}; CI is set, so it must run:\n{output[-3000:]}", pytrace=False)
    pytest.skip(message)


def _run(args: list, env: dict[str, str], what: str, timeout_s: float, logs: bool = False) -> str:
    """The command's output (with its log lines on stderr too when `logs`); a failure names
    the command and shows the end of its output."""
    done = subprocess.run(
        [str(a) for a in args], env=env, capture_output=True, text=True, timeout=timeout_s
    )
    if done.returncode != 0:
        pytest.fail(
            f"{what} failed with the lowest versions pyproject.toml declares (exit "
            f"{done.returncode}); raise the bound of the library that broke:\n"
            f"{(done.stdout + done.stderr)[-6000:]}",
            pytrace=False,
        )
    return done.stdout + (done.stderr if logs else "")


def _portfolio(path: Path) -> Path:
    """The packaged portfolio's first config of each core family, in its order."""
    packaged = json.loads((ROOT / "src/assay/search/portfolios/default.json").read_text())
    first: dict[str, dict] = {}
    for entry in packaged["classification"]:
        if entry["model"] in CORE_FAMILIES:
            first.setdefault(entry["model"], entry)
    assert set(first) == set(CORE_FAMILIES), f"default.json lacks {set(CORE_FAMILIES) - set(first)}"
    entries = list(first.values())
    path.write_text(
        json.dumps({"about": "one per family", "classification": entries, "regression": []})
    )
    return path


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_lowest_declared_versions_install_fit_report_and_predict(tmp_path):
    lows = lowest_versions(_project()["dependencies"])
    env = _environment(tmp_path)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    python, assay = venv / "bin" / "python", venv / "bin" / "assay"

    command = [python, "-m", "pip", "install", "--only-binary=:all:"]
    command += [f"--no-binary={name}" for name in SOURCE_ONLY] + [*lows, "-e", ROOT]
    started = time.monotonic()
    install = subprocess.run(
        [str(a) for a in command], env=env, capture_output=True, text=True, timeout=1200
    )
    output = install.stdout + install.stderr
    if install.returncode != 0:
        if any(marker in output for marker in NETWORK_ERRORS) or not _index_reachable(env):
            _no_registry(output)
        pytest.fail(
            f"the lowest versions pyproject.toml declares do not install together with "
            f"binary wheels on Python {sys.version_info.major}.{sys.version_info.minor} "
            f"({' '.join(lows)}); raise the bound pip names:\n{output[-6000:]}",
            pytrace=False,
        )
    print(f"installed the lowest versions in {time.monotonic() - started:.0f} s: {lows}")

    # the venv holds exactly the lows, and assay from this checkout
    listed = _run([python, "-m", "pip", "list", "--format=json"], env, "pip list", 120)
    installed = {canonicalize_name(p["name"]): p["version"] for p in json.loads(listed)}
    for pin in lows:
        name, version = pin.split("==")
        assert Version(installed[canonicalize_name(name)]) == Version(version), (pin, installed)
    where = _run([python, "-c", "import assay; print(assay.__file__)"], env, "import", 120)
    assert Path(where.strip()).is_relative_to(ROOT / "src"), where

    assert "fit" in _run([assay, "--help"], env, "assay --help", 120)

    run = tmp_path / "run"
    fitted = _run(
        [
            *(assay, "fit", "builtin:breast_cancer", "--target", "target"),
            *("--trials", N_TRIALS, "--folds", 3, "--seed", 0, "--report"),
            *("--portfolio", _portfolio(tmp_path / "portfolio.json"), "--out", run / "predictor"),
        ],
        env,
        "assay fit",
        900,
        logs=True,  # a trial's failure is logged (stderr) and shown when a family is missing
    )
    report = Path(fitted.split("Report written to ", 1)[-1].split()[0])
    assert report.is_file() and report.stat().st_size > 10_000, fitted[-3000:]

    board = json.loads(
        _run([assay, "leaderboard", run / "predictor", "--format", "json"], env, "board", 300)
    )
    scored = {row["model"] for row in board if np.isfinite(float(row["score"]))}
    failures = "\n".join(line for line in fitted.splitlines() if " failed" in line)
    assert scored >= set(CORE_FAMILIES), (
        f"families without a score: {sorted(set(CORE_FAMILIES) - scored)}; a library's "
        f"lowest version failed in their trials, raise its bound:\n{failures}"
    )

    predictions = run / "predictions.csv"
    _run(
        [assay, "predict", run / "predictor", "builtin:breast_cancer", "--out", predictions],
        env,
        "assay predict",
        300,
    )
    frame = pd.read_csv(predictions)
    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer()  # builtin:breast_cancer names the classes
    truth = data.target_names[data.target]
    assert len(frame) == N_ROWS
    probas = [f"proba_{name}" for name in sorted(data.target_names)]
    assert list(frame.columns) == ["prediction", *probas], frame.columns
    assert (frame["prediction"] == truth).mean() > 0.95  # on its own training rows
    assert roc_auc_score(truth == "malignant", frame["proba_malignant"]) > 0.98

    stats = _run(
        [assay, "stats", "builtin:breast_cancer", "--target", "target"], env, "assay stats", 300
    )
    assert "mean radius" in stats, stats

    # forecasting: three daily series with a weekly season, every candidate in the budget
    rng = np.random.default_rng(0)
    days = pd.date_range("2024-01-01", periods=80, freq="D")
    weekly = 10 + 3 * np.sin(np.arange(80) * 2 * np.pi / 7)
    sales = pd.concat(
        pd.DataFrame({"date": days, "store": s, "units": weekly + rng.normal(0, 0.5, 80)})
        for s in "abc"
    )
    sales.to_csv(tmp_path / "sales.csv", index=False)
    forecast = tmp_path / "forecast.csv"
    shown = _run(
        [
            *(assay, "forecast", tmp_path / "sales.csv", "--time", "date", "--target", "units"),
            *("--id", "store", "--horizon", 7, "--time-limit", 120, "--out", forecast),
        ],
        env,
        "assay forecast",
        300,
    )
    assert len(pd.read_csv(forecast)) == 3 * 7
    lines = {line.split()[1]: line for line in shown.splitlines() if line.startswith("│")}
    for model in ("lgbm_recursive", "theta", "damped"):
        assert " ok " in lines.get(model, ""), f"{model} did not run:\n{shown}"

"""The command line as scripts and shells use it: --version, shell completion, options
with fixed choices listed in --help and checked, the environment variables named in
--help, and `assay leaderboard` / `assay runs` as JSON or CSV."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys

import pandas as pd
import pytest

import assay


def _assay(*args, check=True, env=None):
    proc = subprocess.run(
        [sys.executable, "-m", "assay", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200", **(env or {})},  # help on one line per option
        timeout=300,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"assay {args} exited {proc.returncode}:\n{proc.stderr}")
    return proc


def test_version_and_shell_completion():
    assert _assay("--version").stdout.strip() == f"assay {assay.__version__}"
    # Typer's switch for tests: the shell is the option's value, not detected from the
    # processes above this one (a test run started outside a shell has none to find)
    no_detection = {"_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1"}
    script = _assay("--show-completion", "bash", env=no_detection).stdout
    assert "complete" in script and "assay" in script


@pytest.mark.parametrize(
    ("command", "shown"),
    [
        (["--help"], ["ASSAY_HOME", "ASSAY_STORE", "--version"]),
        (["ask", "--help"], ["ASSAY_LLM_BASE_URL", "ASSAY_LLM_API_KEY", "ASSAY_LLM_MODEL"]),
        (["export", "--help"], ["mlflow|onnx"]),
        (["research", "init", "--help"], ["binary|multiclass|regression"]),
        (["fit", "--help"], ["bagged|fast", "auto|off"]),
        (["runs", "--help"], ["table (for reading), json", "csv"]),
    ],
)
def test_help_lists_choices_and_environment(command, shown):
    text = " ".join(_assay(*command).stdout.split())  # rich wraps the help
    for word in shown:
        assert word in text, f"{word!r} not in `assay {' '.join(command)}`"


def test_a_choice_not_offered_is_refused_by_name(tmp_path):
    done = _assay("export", str(tmp_path), "--format", "pmml", "--out", "x", check=False)
    assert done.returncode == 2 and "--format" in done.stderr and "pmml" in done.stderr
    done = _assay("runs", "--format", "xml", check=False)
    assert done.returncode == 2 and "--format" in done.stderr and "xml" in done.stderr


def test_leaderboard_and_runs_as_json_and_csv(tmp_path, assay_home):
    out = tmp_path / "predictor"
    args = ("--trials", "2", "--models", "linear,knn", "--folds", "3")
    _assay("fit", "builtin:iris", "--target", "target", *args, "--out", str(out))
    table = _assay("leaderboard", str(out)).stdout
    records = json.loads(_assay("leaderboard", str(out), "--format", "json").stdout)
    frame = pd.read_csv(io.StringIO(_assay("leaderboard", str(out), "--format", "csv").stdout))
    assert [r["model"] for r in records] == frame["model"].tolist()
    assert "ensemble" in frame["model"].tolist() and "ensemble" in table
    expected = assay.load(out).leaderboard()
    assert frame.columns.tolist() == expected.columns.tolist()
    assert len(records) == len(expected)
    runs = json.loads(_assay("runs", "--format", "json").stdout)
    (run,) = runs
    assert run["state"] == "finished" and run["run"] == assay.load(out).info["run_id"]
    listed = pd.read_csv(io.StringIO(_assay("runs", "--format", "CSV").stdout))
    assert listed["run"].tolist() == [run["run"]]


def test_no_runs_as_json_is_an_empty_list(assay_home):
    assert json.loads(_assay("runs", "--format", "json").stdout) == []
    assert "No runs yet" in _assay("runs").stdout

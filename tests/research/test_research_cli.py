"""`assay research` as a user runs it (the random-label canary lives in
tests/reliability/test_leakage_canaries.py)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from research_helpers import (
    FAST_PIPELINE,
    ScriptedProposer,
    commit_pipeline,
    with_config,
)

from assay.research import (
    Change,
    ResearchLoop,
    init_research,
    research_status,
)


def assay(*args: str, check: bool = True, env: dict | None = None) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [sys.executable, "-m", "assay", *args],
        capture_output=True,
        text=True,
        env=env or os.environ.copy(),
        timeout=600,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"assay {args} exited {proc.returncode}:\n{proc.stderr[-3000:]}")
    return proc


def test_init_and_status_print_the_ledger_best_noise_and_holdout(tmp_path, toy_csv):
    ws = tmp_path / "ws"
    out = assay(
        "research", "init", str(toy_csv), "--target", "y", "--dir", str(ws), "--budget-per-exp", "5"
    )
    assert "validation" in out.stdout and f"assay research run {ws}" in out.stdout
    empty = assay("research", "status", str(ws))
    assert "No experiments yet" in empty.stdout

    commit_pipeline(ws, FAST_PIPELINE)
    good = with_config(FAST_PIPELINE, columns=["a", "b"])
    proposer = ScriptedProposer([Change(good, "use a and b"), Change(FAST_PIPELINE, "back")])
    ResearchLoop(ws, proposer, max_exp=2, n_noise_seeds=2).run()

    shown = assay("research", "status", str(ws), "--holdout").stdout
    for word in ("baseline", "keep", "use a and b", "noise floor"):
        assert word in shown, shown
    state = research_status(ws)
    rows = {line.split()[1]: line for line in shown.splitlines() if line.startswith("holdout ")}
    assert set(rows) == {"baseline", "best"}
    for label, record in (("baseline", state.baseline), ("best", state.best)):
        assert f"validation {record.score:.4f}" in rows[label]
    chart = Path(re.search(r"progress chart: (\S+)", shown).group(1))
    assert chart.is_file() and chart.read_bytes()[:4] == b"\x89PNG"
    cached = (state.harness.folder / "holdout.json").read_text()
    again = assay("research", "status", str(ws), "--holdout").stdout
    assert (state.harness.folder / "holdout.json").read_text() == cached  # not re-run
    assert [r for r in again.splitlines() if r.startswith("holdout ")] == list(rows.values())


def test_run_with_the_llm_proposer_and_no_llm_configured_says_what_to_set(tmp_path, toy_csv):
    ws = tmp_path / "ws"
    init_research(str(toy_csv), "y", ws)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSAY_LLM_")}
    proc = assay("research", "run", str(ws), "--proposer", "llm", check=False, env=env)
    assert proc.returncode == 3
    assert "ASSAY_LLM_BASE_URL" in proc.stderr and "Traceback" not in proc.stderr
    missing = assay("research", "status", str(tmp_path), check=False)
    assert missing.returncode == 3 and "not a research workspace" in missing.stderr

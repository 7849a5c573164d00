"""Whole conversations with the agent, the model played by a scripted OpenAI-compatible
server over real HTTP on 127.0.0.1; the tools, the sandbox and the AutoML run for real."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from assay.agent import Session
from assay.errors import LLMError
from assay.llm import OpenAIBackend
from assay.testing import ScriptedOpenAIServer


@pytest.fixture
def churn_csv(tmp_path):
    rng = np.random.default_rng(0)
    n = 300
    frame = pd.DataFrame(
        {
            "tenure": rng.integers(1, 72, n),
            "monthly": rng.normal(70, 20, n).round(2),
            "contract": rng.choice(["month", "year", "two-year"], n),
        }
    )
    risk = -0.05 * frame.tenure + 0.03 * (frame.monthly - 70) + (frame.contract == "month")
    frame["Churn"] = np.where(risk + rng.logistic(size=n) > 0, "yes", "no")
    path = tmp_path / "customers.csv"
    frame.to_csv(path, index=False)
    return path


def _backend(server, **kw):
    return OpenAIBackend(server.base_url, "scripted-model", timeout_s=30, max_retries=0, **kw)


def _calls(session) -> list[str]:
    return [e["name"] for e in session.log.events() if e["kind"] == "tool_call"]


def _tool_messages(request: dict) -> list[str]:
    return [m["content"] for m in request["messages"] if m["role"] == "tool"]


def test_request_to_explore_fit_explain_and_report(churn_csv, tmp_path):
    def call(name, **arguments):
        return {"name": name, "arguments": arguments}

    script = [
        {"tool_calls": [call("describe_data", path=str(churn_csv))]},
        {"tool_calls": [call("set_target", target="Churn", metric="f1")]},
        {"tool_calls": [call("fit", n_trials=2, models=["lightgbm", "linear"])]},
        {"tool_calls": [call("explain", top=5), call("report")]},
        "Done: tenure and the contract drive churn; the report is in the session folder.",
    ]
    with ScriptedOpenAIServer(script) as server:
        session = Session(llm=_backend(server), home=tmp_path / "sessions")
        reply = session.ask(
            f"predict churn in {churn_csv}, optimise F1, ten minutes, and tell me what drives it"
        )
        requests = server.requests
    assert reply.text.startswith("Done: tenure")
    assert _calls(session) == ["describe_data", "set_target", "fit", "explain", "report"]
    assert len(requests) == 5
    tool_names = {t["function"]["name"] for t in requests[0]["tools"]}
    assert {"describe_data", "fit", "explain", "report", "run_code"} <= tool_names
    assert "predict churn" in requests[0]["messages"][-1]["content"]
    # each step's result went back to the model before the next step
    assert (
        "300 rows" in _tool_messages(requests[1])[-1] and "Churn" in _tool_messages(requests[1])[-1]
    )
    assert "metric f1" in _tool_messages(requests[2])[-1]
    assert "held-out rows" in _tool_messages(requests[3])[-1]
    explained, reported = _tool_messages(requests[4])[-2:]
    assert "Permutation importance" in explained and "tenure" in explained
    assert reported.startswith("Report written to")
    assert session.state.metric == "f1" and session.state.target == "Churn"
    html = [a for a in reply.artifacts if a.endswith(".html")]
    assert html and "plotly" in Path(html[0]).read_text()


def test_coding_step_fails_then_is_repaired_from_the_traceback(churn_csv, tmp_path):
    head = "```python\nimport pandas as pd\ndf = pd.read_csv('inputs/data.csv')\n"
    tail = "df.to_csv('outputs/data.csv', index=False)\n"
    broken = head + "df['tenure_years'] = df['tenure'] / twelve\n" + tail + "```"
    fixed = head + "df['tenure_years'] = df['tenure'] / 12\n" + tail
    fixed += "print('added tenure_years')\n```"
    script = [
        {"tool_calls": [{"name": "run_code", "arguments": {"task": "add tenure in years"}}]},
        broken,
        fixed,
        "I added tenure_years.",
    ]
    with ScriptedOpenAIServer(script) as server:
        session = Session(str(churn_csv), llm=_backend(server), home=tmp_path / "sessions")
        reply = session.ask("add a column with the tenure in years")
        requests = server.requests
    assert reply.text == "I added tenure_years."
    repair = requests[2]["messages"][-1]["content"]
    assert "NameError" in repair and "twelve" in repair
    assert "tenure_years" in session.state.columns
    result = _tool_messages(requests[3])[-1]
    assert "2 attempts" in result and "added tenure_years" in result


def test_malformed_model_output_gets_a_clear_message_and_a_retry(churn_csv, tmp_path):
    script = [
        {"tool_calls": [{"name": "set_target", "arguments": '{"target": "Churn", '}]},
        {"tool_calls": [{"name": "train_everything", "arguments": {}}]},
        {"tool_calls": [{"name": "set_target", "arguments": {"target": "churned"}}]},
        {"tool_calls": [{"name": "set_target", "arguments": {"target": "Churn", "metrc": "f1"}}]},
        {"tool_calls": [{"name": "set_target", "arguments": {"target": "Churn"}}]},
        "The target is Churn.",
    ]
    with ScriptedOpenAIServer(script) as server:
        session = Session(str(churn_csv), llm=_backend(server), home=tmp_path / "sessions")
        reply = session.ask("churn is the target")
        requests = server.requests
    answers = [_tool_messages(r)[-1] for r in requests[1:]]
    assert "not valid JSON" in answers[0]
    assert "Unknown tool 'train_everything'" in answers[1] and "set_target" in answers[1]
    assert "Column 'churned' does not exist" in answers[2] and "Churn" in answers[2]
    assert "unknown: metrc" in answers[3]
    assert "target 'Churn'" in answers[4]
    assert reply.text == "The target is Churn." and session.state.target == "Churn"


def test_an_endpoint_that_is_down_gives_a_clear_error(tmp_path):
    url = ScriptedOpenAIServer.url_down()
    backend = OpenAIBackend(url, "m", timeout_s=1, max_retries=1)
    session = Session(llm=backend, home=tmp_path / "sessions")
    with pytest.raises(LLMError) as error:
        session.ask("predict y in data.csv")
    assert url.split("/v1")[0] in str(error.value)
    assert session.log.events()[-1]["kind"] == "error"


def test_a_slow_endpoint_gives_a_timeout_error(tmp_path):
    with ScriptedOpenAIServer([{"sleep": 5}, {"sleep": 5}]) as server:
        backend = OpenAIBackend(server.base_url, "m", timeout_s=1, max_retries=0)
        session = Session(llm=backend, home=tmp_path / "sessions")
        with pytest.raises(LLMError, match=r"(?i)time"):
            session.ask("predict y")


def _cli(*args, env):
    return subprocess.run(
        [sys.executable, "-m", "assay", *args],
        capture_output=True, text=True, env=env, timeout=600,
    )  # fmt: skip


def test_ask_from_the_command_line_with_a_local_server(churn_csv, tmp_path):
    script = [
        {"tool_calls": [{"name": "set_target", "arguments": {"target": "Churn"}}]},
        {"tool_calls": [{"name": "fit", "arguments": {"n_trials": 2, "models": ["linear"]}}]},
        "Fitted a linear model for Churn.",
    ]
    with ScriptedOpenAIServer(script) as server:
        env = dict(os.environ, ASSAY_LLM_BASE_URL=server.base_url, ASSAY_LLM_MODEL="local")
        proc = _cli("ask", "predict Churn", "--data", str(churn_csv), env=env)
    assert proc.returncode == 0, proc.stderr
    assert "Fitted a linear model for Churn." in proc.stdout
    assert "Files:" in proc.stdout and "Session log:" in proc.stdout
    from assay.store import open_store

    [run] = [r for r in open_store().runs() if r.task == "agent"]
    calls = open_store().llm_calls(run.run_id)
    assert run.state.value == "finished" and len(calls) == 3
    assert all(c.model == "local" and c.prompt_tokens > 0 for c in calls)
    down = dict(os.environ, ASSAY_LLM_BASE_URL=ScriptedOpenAIServer.url_down(), ASSAY_LLM_MODEL="m")
    failed = _cli("ask", "predict Churn", "--data", str(churn_csv), env=down)
    assert failed.returncode == 3 and "127.0.0.1" in failed.stderr
    assert "Traceback" not in failed.stderr


def test_offline_ask_runs_the_standard_plan(churn_csv):
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSAY_LLM")}
    proc = _cli(
        "ask", f"predict Churn in {churn_csv} within 10 seconds using only linear, and explain it",
        "--offline", env=env,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    for text in ("Understood", "fit(", "Permutation importance", "Session log:"):
        assert text in proc.stdout, proc.stdout


def test_chat_keeps_the_conversation_going(churn_csv):
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSAY_LLM")}
    proc = subprocess.run(
        [sys.executable, "-m", "assay", "chat", str(churn_csv), "--offline"],
        input="predict Churn in 5 seconds using only linear\nnow show the leaderboard\nexit\n",
        capture_output=True, text=True, env=env, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("you> ") == 3
    assert "Fitted in" in proc.stdout and "> leaderboard()" in proc.stdout
    assert proc.stdout.index("Fitted in") < proc.stdout.index("> leaderboard()")
    assert "Session log:" in proc.stdout

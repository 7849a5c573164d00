"""The discovery loop end to end on a tiny suite: lines in the run folder and the store,
resume after an interruption, the LLM generator through the loop (its code validated and
evaluated in the sandbox), the registry and the MLP using a discovered activation."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import psutil
import pytest

from assay.discover import DiscoveryLoop, GrammarGenerator, LLMGenerator, discover
from assay.discover._loop import LINES
from assay.discover._suite import load_suite
from assay.errors import ArtifactError, ConfigError
from assay.llm import OpenAIBackend
from assay.store import open_store
from assay.testing import ScriptedOpenAIServer

TINY = {"seeds": (0,), "batch_size": 6, "top_k": 2, "n_workers": 1}


@pytest.fixture(scope="module")
def wine():
    return load_suite(("wine",))


def _jsonl(loop) -> list[dict]:
    return [json.loads(x) for x in (loop.folder / LINES).read_text().splitlines()]


def test_a_grammar_run_records_every_hypothesis_and_resumes_where_it_stopped(wine):
    first = DiscoveryLoop("activation", GrammarGenerator("activation"), suite=wine, **TINY)
    first.run(budget_s=2)
    lines = _jsonl(first)
    statuses = {x["status"] for x in lines}
    assert "evaluated" in statuses and statuses <= {
        "evaluated",
        "invalid",
        "duplicate",
        "skipped",
        "failed",
    }
    assert [x["seq"] for x in lines] == list(range(1, len(lines) + 1))
    evaluated = [x for x in lines if x["status"] == "evaluated"]
    assert all(len(x["evaluation"]["scores"]) == 1 for x in evaluated)  # 1 dataset x 1 seed
    assert all(
        set(x["evaluation"]["win_rates"]) == {"relu", "gelu", "silu", "tanh"} for x in evaluated
    )
    # the store mirrors the run folder line by line
    stored = open_store().hypotheses(first.run_id)
    assert [(r.seq, r.hypothesis_id, r.status) for r in stored] == [
        (x["seq"], x["hypothesis"]["id"], x["status"]) for x in lines
    ]

    # a kill cut the last line in half: resume drops it, then continues after it
    with open(first.folder / LINES, "a") as handle:
        handle.write('{"seq": 999, "round"')
    resumed = DiscoveryLoop("activation", GrammarGenerator("activation", random_state=1),
                            run_id=first.run_id, store=False)  # fmt: skip
    assert len(resumed.lines) == len(lines)
    assert (
        resumed.evaluator.baseline_scores()
        == json.loads((first.folder / "state.json").read_text())["baseline_scores"]
    )
    resumed.run(budget_s=1)
    ids = [x.hypothesis.id for x in resumed.lines]
    assert len(resumed.lines) > len(lines) and len(ids) == len(set(ids))  # nothing twice
    assert [x.seq for x in resumed.lines] == list(range(1, len(resumed.lines) + 1))
    with pytest.raises(ConfigError, match="discovers activation"):
        DiscoveryLoop("regularizer", GrammarGenerator("regularizer"), run_id=first.run_id)
    with pytest.raises(ConfigError, match="no discovery run"):
        DiscoveryLoop("activation", GrammarGenerator("activation"), run_id="nosuchrun")


def test_kill_9_in_the_middle_loses_no_finished_line(tmp_path, assay_home):
    env = dict(os.environ, ASSAY_HOME=str(assay_home))
    cmd = [sys.executable, "-m", "assay", "discover", "activation", "--budget", "600",
           "--datasets", "wine", "--batch", "6", "--top-k", "2", "--workers", "1"]  # fmt: skip
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    runs = assay_home / "discover"
    deadline = time.monotonic() + 120
    lines_path = None
    while time.monotonic() < deadline:
        found = list(runs.glob(f"*/{LINES}")) if runs.exists() else []
        if found and len(found[0].read_text().splitlines()) >= 8:
            lines_path = found[0]
            break
        time.sleep(0.2)
    workers = psutil.Process(proc.pid).children(recursive=True)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert lines_path is not None, proc.stderr.read().decode()[-2000:]
    _, alive = psutil.wait_procs(workers, timeout=20)
    assert not alive, f"worker processes outlived the killed loop: {alive}"
    before = [x for x in lines_path.read_text().splitlines() if x.endswith("}")]
    run_id = lines_path.parent.name
    loop = DiscoveryLoop("activation", GrammarGenerator("activation"), run_id=run_id)
    assert [x.to_dict()["hypothesis"]["id"] for x in loop.lines[: len(before)]] == [
        json.loads(x)["hypothesis"]["id"] for x in before
    ]
    loop.run(budget_s=1)
    stored = open_store().hypotheses(run_id)
    assert [r.seq for r in stored] == [x.seq for x in loop.lines]  # store and folder agree


MISH = """DESCRIPTION: Mish, a smooth self-gated activation
```python
def activation(x):
    return x * torch.tanh(torch.nn.functional.softplus(x))
```"""
IMPORTS_OS = """DESCRIPTION: read the environment
```python
import os

def activation(x):
    return x * float(len(os.environ))
```"""
NAN = """DESCRIPTION: a log activation
```python
def activation(x):
    return torch.log(x)
```"""


def test_the_llm_generator_through_the_loop_evaluates_valid_code_in_the_sandbox(wine):
    with ScriptedOpenAIServer([MISH, IMPORTS_OS, NAN]) as server:
        backend = OpenAIBackend(server.base_url, "local", timeout_s=30, max_retries=0)
        loop = DiscoveryLoop(
            "activation", LLMGenerator(backend, "activation"), suite=wine,
            **{**TINY, "batch_size": 3},
        )  # fmt: skip
        loop.run(budget_s=0.1)  # one round
    by_status = {x.status: x for x in loop.lines}
    assert set(by_status) == {"evaluated", "invalid"}
    mish = by_status["evaluated"]
    assert mish.hypothesis.origin == "llm" and "Mish" in mish.hypothesis.description
    assert np.isfinite(mish.evaluation.scores).all()
    assert (loop.folder / "sandbox").is_dir()  # validated and evaluated there
    reasons = sorted(x.reason for x in loop.lines if x.status == "invalid")
    assert any("import" in r and "os" in r for r in reasons), reasons
    assert any("non-finite" in r for r in reasons), reasons


def test_discover_registers_confirmed_winners_usable_by_the_mlp(wine, assay_home):
    from assay.discover import list_components, load_component
    from assay.features import Encoding
    from assay.models import MODELS
    from assay.testing import toy_frame

    result = discover("activation", 3, suite=wine, n_register=50, n_confirm=50, store=False, **TINY)
    assert result.leaderboard and result.swish is not None
    for line in result.leaderboard[:50]:  # the rule: above one half on both sets of seeds
        registered = line.hypothesis.id in result.registered
        fresh = result.confirmed[line.hypothesis.id].win_rates["relu"]
        assert registered == (line.evaluation.win_rates["relu"] > 0.5 and fresh > 0.5)
    # a component in the registry drives the MLP, and the fitted model keeps its code
    winner = result.leaderboard[0].hypothesis
    from assay.discover import save_component

    save_component(winner, {"reward": result.leaderboard[0].reward})
    assert load_component(f"discovered:{winner.id}").code == winner.code
    assert any(e["id"] == winner.id for e in list_components("activation"))
    frames, y = toy_frame("binary", 200)
    X = frames[Encoding.NATIVE]
    model = MODELS["mlp"](task="binary", activation=f"discovered:{winner.id}", n_estimators=3)
    model.fit(X, y)
    assert model.activation_code_ == winner.code
    folder = assay_home / "model"
    folder.mkdir()
    model.save(folder)
    (assay_home / "components" / f"{winner.id}.json").unlink()  # the artifact needs no registry
    with pytest.raises(ArtifactError, match=r"embeds the Python source.*--trust"):
        MODELS["mlp"].load(folder)  # the code it carries runs only when trusted
    loaded = MODELS["mlp"].load(folder, trust=True)
    np.testing.assert_allclose(loaded.predict_proba(X), model.predict_proba(X), rtol=1e-6)
    with pytest.raises(ConfigError, match="assay discover"):
        MODELS["mlp"](task="binary", activation="discovered:0000deadbeef").fit(X, y)


def test_grammar_hypotheses_are_evaluated_on_a_dask_cluster(wine):
    pytest.importorskip("distributed", reason="the dask extra is not installed")
    loop = DiscoveryLoop("activation", GrammarGenerator("activation"), suite=wine, **TINY)
    loop.run(budget_s=1, cluster="local:1")
    evaluated = [x for x in loop.lines if x.status == "evaluated"]
    assert evaluated and all(np.isfinite(x.reward) for x in evaluated)
    # the same hypothesis scores the same here and on the worker
    here = loop.score(evaluated[0].hypothesis, loop.evaluator.seeds)
    assert here == evaluated[0].evaluation.scores


def test_evaluations_in_threads_of_one_process_score_as_they_do_alone(wine):
    """A Dask worker runs several evaluations at once in threads: each draws from its own
    random generator (weights and dropout masks), so another thread seeding torch's global
    one changes no score."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    import torch

    from assay.discover._evaluate import score_hypothesis

    hypotheses = GrammarGenerator("regularizer").generate(3, [])  # regularizers use dropout
    alone = [score_hypothesis(h, wine, (0,)) for h in hypotheses]
    stop = threading.Event()

    def reseed():
        while not stop.is_set():
            torch.manual_seed(12345)
            torch.rand(64)

    with ThreadPoolExecutor(4) as pool:
        noise = pool.submit(reseed)
        together = list(pool.map(lambda h: score_hypothesis(h, wine, (0,)), hypotheses))
        stop.set()
        noise.result()
    assert together == alone

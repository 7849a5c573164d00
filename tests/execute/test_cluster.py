"""Trials on a real Dask LocalCluster (127.0.0.1): the same trials as in this process, a
killed worker survived, a killed driver resumed; and the executor's input checks."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import numpy as np
import psutil
import pytest
from sklearn.datasets import load_breast_cancer

from assay import AutoML
from assay.errors import ConfigError
from assay.execute._executors import DaskExecutor, WorkerLost, executor_from
from assay.store import RunState, TrialState, open_store
from assay.testing._faults import exit_process, slow_identity

pytest.importorskip("distributed", reason="the dask extra is not installed")
MODELS = ["lightgbm", "linear", "random_forest"]


@pytest.fixture(scope="module")
def frame():
    return load_breast_cancer(as_frame=True).frame


def _configs(automl):
    board = automl.leaderboard()
    rows = board[board["model"] != "ensemble"]
    return list(zip(rows["model"], rows["config"], strict=True)), rows["score"].to_numpy()


def test_local_2_runs_the_same_trials_as_this_process(frame):
    options = dict(n_trials=5, models=MODELS, stack="off", store=False, random_state=3)
    here = AutoML(**options).fit(frame, target="target")
    there = AutoML(**options, cluster="local:2").fit(frame, target="target")
    configs_here, scores_here = _configs(here)
    configs_there, scores_there = _configs(there)
    assert configs_there == configs_here
    np.testing.assert_allclose(scores_there, scores_here, rtol=1e-3)


def _worker_processes() -> list[psutil.Process]:
    """The LocalCluster's worker processes: spawned children of this process (the nannies
    live in this process)."""
    found = []
    for child in psutil.Process().children(recursive=True):
        try:
            if "spawn_main" in " ".join(child.cmdline()):
                found.append(child)
        except psutil.Error:
            continue
    return found


def test_a_killed_worker_is_replaced_and_its_trial_run_again(frame):
    killed = []

    def kill_one_worker(progress) -> None:
        if not killed and getattr(progress, "last", None) is not None:
            workers = _worker_processes()
            if workers:
                workers[0].send_signal(signal.SIGKILL)
                killed.append(workers[0].pid)

    automl = AutoML(n_trials=6, models=MODELS, stack="off", store=False, cluster="local:2")
    automl.fit(frame, target="target", callback=kill_one_worker)
    assert killed, "no worker process was found to kill"
    board = automl.leaderboard()
    assert (board["model"] != "ensemble").sum() == 6  # every trial finished, none lost


def test_a_task_whose_worker_dies_twice_is_reported_as_lost():
    with DaskExecutor("local:1") as executor:
        assert executor.n_workers == 1 and executor.threads_per_task() >= 1
        shared = executor.share({"a": 1})
        assert executor.submit(slow_identity, shared, 0.0).result(timeout=60) == {"a": 1}
        future = executor.submit(exit_process)
        with pytest.raises(WorkerLost, match="died"):
            future.result(timeout=120)
        # the replaced worker takes new tasks
        assert executor.submit(slow_identity, 7, 0.0).result(timeout=60) == 7


@pytest.mark.parametrize(
    ("address", "message"),
    [("local:zero", "local:N"), ("http://example.org", "tcp://HOST:8786")],
)
def test_bad_cluster_addresses_are_refused_with_the_fix(address, message):
    with pytest.raises(ConfigError, match=message):
        executor_from(address)


def test_an_unreachable_scheduler_names_the_address_and_what_to_start():
    with pytest.raises(ConfigError, match="dask scheduler"):
        DaskExecutor("tcp://127.0.0.1:9", connect_timeout_s=2)


def test_a_killed_fit_resumes_from_its_finished_trials(tmp_path, assay_home, frame):
    data = tmp_path / "bc.csv"
    frame.to_csv(data, index=False)
    env = dict(os.environ, ASSAY_HOME=str(assay_home))
    cmd = [sys.executable, "-m", "assay", "fit", str(data), "--target", "target",
           "--trials", "7", "--models", ",".join(MODELS), "--stack", "off"]  # fmt: skip
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 300
    store = open_store()
    run_id, before = None, []
    while time.monotonic() < deadline and proc.poll() is None:
        runs = store.runs()
        if runs:
            run_id = runs[0].run_id
            before = store.trials(run_id)
            if len(before) >= 3:
                break
        time.sleep(0.2)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert run_id is not None and len(before) >= 3, proc.stderr.read().decode()[-2000:]
    before = store.trials(run_id)  # what was recorded when it died

    resumed = subprocess.run(
        [sys.executable, "-m", "assay", "fit", "--resume", run_id[:8]],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    run = store.get_run(run_id)
    after = store.trials(run_id)
    assert run.state is RunState.FINISHED and run.artifact_dir
    assert [(t.trial_no, t.model, t.config, t.score) for t in after[: len(before)]] == [
        (t.trial_no, t.model, t.config, t.score) for t in before
    ]  # nothing finished was redone or lost
    assert [t.trial_no for t in after] == list(range(len(after)))
    ran = [t for t in after if t.state is not TrialState.SKIPPED]
    assert len(ran) == 7 and len({(t.model, str(t.config)) for t in ran}) == 7
    predicted = subprocess.run(
        [sys.executable, "-m", "assay", "predict", run.artifact_dir, str(data), "--out",
         str(tmp_path / "p.csv")], env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert predicted.returncode == 0, predicted.stderr[-2000:]
    again = subprocess.run(
        [sys.executable, "-m", "assay", "fit", "--resume", run_id], env=env,
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert again.returncode == 3 and "already finished" in again.stderr

"""Trials on a real Dask LocalCluster (127.0.0.1): the same trials as in this process, a
killed worker survived, a killed driver resumed; and the executor's input checks."""

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
from sklearn.datasets import load_breast_cancer

from assay import AutoML
from assay.errors import ConfigError, WorkerLost
from assay.execute._executors import DaskExecutor, executor_from
from assay.search import save_portfolio
from assay.store import RunState, TrialState, open_store
from assay.testing._faults import exit_process, slow_identity

pytest.importorskip("distributed", reason="the dask extra is not installed")
MODELS = ["lightgbm", "linear", "random_forest"]


@pytest.fixture(scope="module")
def frame():
    return load_breast_cancer(as_frame=True).frame


@pytest.fixture(scope="module")
def cluster():
    """One LocalCluster of two workers for the module's fits (as --cluster local:2 starts),
    reached by its tcp://127.0.0.1 address like a remote scheduler."""
    before = dict(os.environ)
    with DaskExecutor("local:2") as executor:
        assert dict(os.environ) == before  # the nannies' settings do not leak into this process
        yield executor.client.scheduler.address


def _configs(board):
    """The trials' (model, config) in one order (near ties may swap leaderboard rows) and
    their scores in that order."""
    rows = board[board["model"] != "ensemble"]
    configs = [json.dumps(c, sort_keys=True) for c in rows["config"]]
    trials = sorted(zip(rows["model"], configs, rows["score"], strict=True))
    return [t[:2] for t in trials], np.array([t[2] for t in trials])


def _fit_on_cluster(data, address, home, *extra, models=MODELS) -> subprocess.Popen:
    """`assay fit --cluster ADDRESS` in its own process, as a user runs it (the driver's
    process is left as the command leaves it, not shared with the other tests)."""
    cmd = [sys.executable, "-m", "assay", "fit", str(data), "--target", "target", "--models",
           ",".join(models), "--stack", "off", "--cluster", address, *extra]  # fmt: skip
    env = dict(os.environ, ASSAY_HOME=str(home))
    return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


# Quick configs, so that the comparison costs seconds: the booster (whose threads differ:
# one per worker there, every core here) and a forest, besides linear and kNN.
QUICK = [
    ("lightgbm", {"learning_rate": 0.3, "num_leaves": 15}),
    ("linear", {"C": 1.0}),
    ("random_forest", {"n_estimators": 40, "max_features": "sqrt"}),
    ("knn", {"n_neighbors": 7}),
    ("lightgbm", {"learning_rate": 0.3, "num_leaves": 7, "feature_fraction": 0.7}),
]


@pytest.mark.slow  # a second process that reaches the cluster
def test_two_workers_run_the_same_trials_as_this_process(frame, cluster, tmp_path):
    from assay import Predictor

    models = sorted({model for model, _ in QUICK})
    portfolio = save_portfolio(tmp_path / "quick.json", {"classification": QUICK}, about="quick")
    here = AutoML(n_trials=len(QUICK), models=models, stack="off", store=False, random_state=3,
                  portfolio=str(portfolio))  # fmt: skip
    here.fit(frame, target="target")
    data = tmp_path / "bc.csv"
    frame.to_csv(data, index=False)
    assert cluster.startswith("tcp://127.0.0.1:")
    proc = _fit_on_cluster(data, cluster, tmp_path / "home", "--trials", str(len(QUICK)),
                           "--seed", "3", "--portfolio", str(portfolio), "--out",
                           str(tmp_path / "predictor"), models=models)  # fmt: skip
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err.decode()[-3000:]
    configs_here, scores_here = _configs(here.leaderboard())
    configs_there, scores_there = _configs(Predictor.load(tmp_path / "predictor").leaderboard())
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


def test_a_killed_worker_is_replaced_and_its_trial_run_again(frame, cluster, tmp_path):
    data = tmp_path / "bc.csv"
    frame.to_csv(data, index=False)
    home = tmp_path / "home"
    proc = _fit_on_cluster(data, cluster, home, "--trials", "4")
    deadline = time.monotonic() + 300
    killed = None
    while killed is None and time.monotonic() < deadline and proc.poll() is None:
        workers = _worker_processes()
        busy = [w for w in workers if w.cpu_percent(0.1) > 20]  # running a trial
        if busy:
            busy[0].send_signal(signal.SIGKILL)
            killed = busy[0].pid
        time.sleep(0.1)
    _, err = proc.communicate(timeout=600)
    assert killed is not None, "no busy worker process was found to kill"
    assert proc.returncode == 0, err.decode()[-3000:]
    store = open_store(f"sqlite:///{home / 'assay.db'}")
    trials = store.trials(store.runs()[0].run_id)
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 4  # the lost one ran again


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


# three quick configs, then two boosters whose low learning rates take seconds: the kill
# after the third trial lands in the middle of the fit (boosters rather than big forests,
# whose saving and loading cost the resume and the predict more than their fitting)
QUICK_THEN_SLOWER = [
    *QUICK[:3],
    ("lightgbm", {"learning_rate": 0.02, "num_leaves": 31}),
    ("lightgbm", {"learning_rate": 0.03, "num_leaves": 15, "feature_fraction": 0.5}),
]


@pytest.mark.slow  # one kill; tests/reliability/test_faults.py kills ten times
def test_a_killed_fit_resumes_from_its_finished_trials(tmp_path, assay_home, frame):
    data = tmp_path / "bc.csv"
    frame.to_csv(data, index=False)
    portfolio = save_portfolio(tmp_path / "p.json", {"classification": QUICK_THEN_SLOWER}, "t")
    env = dict(os.environ, ASSAY_HOME=str(assay_home))
    cmd = [sys.executable, "-m", "assay", "fit", str(data), "--target", "target",
           "--trials", "5", "--models", ",".join(MODELS), "--stack", "off",
           "--portfolio", str(portfolio)]  # fmt: skip
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
    assert len(ran) == 5 and len({(t.model, str(t.config)) for t in ran}) == 5
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

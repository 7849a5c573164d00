"""Hostile programs, each contained with the outcome it should get. The programs are real
and run for real: no part of the sandbox is replaced."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest

from assay.execute import InvalidOutput, Limits, OutcomeStatus, Sandbox
from assay.execute._watch import UID_COUNT, UID_FIRST

ROOT = os.geteuid() == 0
FAST = Limits(time_s=3, memory_mb=1024, max_processes=32, disk_mb=64, grace_s=1)


@pytest.fixture
def sandbox(tmp_path):
    return Sandbox(tmp_path / "runs", FAST)


def run_py(sandbox, code: str, *args, inputs=None, hidden=(), evaluate=None):
    ws = sandbox.workspace(files={"main.py": code}, inputs=inputs, hidden=hidden)
    return sandbox.run_python("main.py", ws, list(args), evaluate=evaluate), ws


def sandbox_processes() -> list[psutil.Process]:
    """Processes left by sandboxed runs: any process of a sandbox uid."""
    left = []
    for proc in psutil.process_iter(["uids", "status"]):
        uids = proc.info["uids"]
        mine = uids and UID_FIRST <= uids.real < UID_FIRST + UID_COUNT
        if mine and proc.info["status"] != psutil.STATUS_ZOMBIE:
            left.append(proc)
    return left


def test_infinite_loop_times_out(sandbox):
    outcome, _ = run_py(sandbox, "while True:\n    pass\n")
    assert outcome.status is OutcomeStatus.TIMEOUT
    assert "the wall-clock limit of 3s" in outcome.reason  # what stopped it


@pytest.mark.skipif(not ROOT, reason="process limits bind only a uid of its own (root)")
def test_fork_bomb_is_capped_and_cleaned_up(sandbox):
    code = (
        "import os, time\n"
        "while True:\n"
        "    try:\n"
        "        os.fork()\n"
        "    except OSError:\n"
        "        time.sleep(0.01)\n"
    )
    seen = []

    def count():
        end = time.monotonic() + 3
        while time.monotonic() < end:
            seen.append(len(sandbox_processes()))
            time.sleep(0.1)

    watcher = threading.Thread(target=count)
    watcher.start()
    outcome, _ = run_py(sandbox, code)
    watcher.join()
    assert outcome.status is OutcomeStatus.TIMEOUT
    assert 1 < max(seen) <= FAST.max_processes  # it forked, but never past the limit
    assert sandbox_processes() == []
    assert "the wall-clock limit of 3s" in outcome.reason


def test_huge_allocation_is_out_of_memory(sandbox):
    outcome, _ = run_py(sandbox, "block = bytearray(20 * 2**30)\nprint('allocated')\n")
    assert outcome.status is OutcomeStatus.OOM
    assert "allocated" not in outcome.stdout


def test_memory_grown_page_by_page_is_stopped(tmp_path):
    sandbox = Sandbox(tmp_path / "runs", Limits(time_s=30, memory_mb=400, grace_s=1))
    code = "blocks = []\nwhile True:\n    blocks.append(bytearray(20 * 2**20))\n"
    outcome, _ = run_py(sandbox, code)
    assert outcome.status is OutcomeStatus.OOM, outcome.reason  # not TIMEOUT: 30 s not reached
    assert outcome.peak_memory_mb < 400 + 1024 + 100


GRANDCHILD = """
import os, signal, subprocess, sys, time
child = subprocess.Popen(
    [sys.executable, "-c",
     "import signal, time\\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\\ntime.sleep(3600)"],
    start_new_session=True,
)
open("outputs/grandchild.pid", "w").write(str(child.pid))
if sys.argv[1] == "stay":
    while True:
        time.sleep(0.1)
"""


@pytest.mark.parametrize("parent", ["stay", "leave"])
def test_a_detached_grandchild_that_ignores_sigterm_is_killed(sandbox, parent):
    outcome, ws = run_py(sandbox, GRANDCHILD, parent)
    expected = OutcomeStatus.TIMEOUT if parent == "stay" else OutcomeStatus.OK
    assert outcome.status is expected, outcome.stderr
    pid = int((ws.outputs / "grandchild.pid").read_text())
    time.sleep(0.2)
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


@pytest.fixture
def listener():
    """An open port on 127.0.0.1 that counts the connections it accepts."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.2)
    accepted = []
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            try:
                conn, _ = server.accept()
                accepted.append(conn)
            except OSError:
                continue

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1], accepted
    stop.set()
    thread.join()
    server.close()


CONNECT = """
import socket, sys
try:
    socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=2)
    print("CONNECTED")
except OSError as exc:
    print("refused:", exc)
"""


def test_no_connection_to_an_open_local_port(sandbox, listener):
    port, accepted = listener
    outcome, _ = run_py(sandbox, CONNECT, str(port))
    assert "CONNECTED" not in outcome.stdout and "refused" in outcome.stdout
    # without Python's audit hook: only the network namespace stands in the way
    ws = sandbox.workspace()
    shell = sandbox.run(
        ["bash", "-c", f"echo hi > /dev/tcp/127.0.0.1/{port} && echo CONNECTED"], ws
    )
    assert "CONNECTED" not in shell.stdout
    if outcome.isolation.get("network") == "namespace":
        assert shell.status is OutcomeStatus.ERROR
    time.sleep(0.3)
    assert accepted == []


def test_the_audit_hook_alone_refuses_connections(tmp_path, listener):
    port, accepted = listener
    from assay.execute import _boot

    policy = tmp_path / "policy.json"
    policy.write_text(json.dumps({"writable": [str(tmp_path)], "hidden": []}))
    script = tmp_path / "connect.py"
    script.write_text(CONNECT)
    proc = subprocess.run(
        [sys.executable, _boot.__file__, str(policy), str(script), str(port)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert "assay sandbox: network access" in proc.stdout
    time.sleep(0.3)
    assert accepted == []


def test_writes_outside_the_working_copy_do_not_land(sandbox, tmp_path):
    outside = tmp_path / "escaped.txt"
    scratch = Path("/tmp") / f"assay-escape-{os.getpid()}"
    code = (
        "import sys\n"
        "for path in sys.argv[1:]:\n"
        "    try:\n"
        "        open(path, 'w').write('x')\n"
        "        print('wrote', path)\n"
        "    except OSError as exc:\n"
        "        print('refused', path, exc)\n"
    )
    outcome, ws = run_py(
        sandbox, code, str(outside), str(scratch), str(ws_private := "../private/x")
    )
    assert outcome.status is OutcomeStatus.OK
    assert outcome.stdout.count("refused") == 3
    # and a program with no audit hook (a shell) cannot either
    ws2 = sandbox.workspace()
    script = f"echo x > {outside}; echo x > {scratch}; echo x > ../private/y; echo x > outputs/ok"
    sandbox.run(["bash", "-c", script], ws2)
    assert (ws2.outputs / "ok").exists()
    assert not outside.exists() and not (ws.private / "x").exists()
    assert not (ws2.private / "y").exists()
    if ROOT:  # the shell's /tmp was a private one, gone with it
        assert not scratch.exists()
    assert ws_private


def test_hidden_labels_cannot_be_read_by_path(sandbox, tmp_path):
    labels = tmp_path / "hidden" / "labels.csv"
    labels.parent.mkdir()
    labels.write_text("id,label\n1,SECRET-LABEL-42\n")
    code = (
        "import sys\n"
        "try:\n"
        "    print(open(sys.argv[1]).read())\n"
        "except OSError as exc:\n"
        "    print('refused', exc)\n"
    )
    outcome, _ = run_py(sandbox, code, str(labels), hidden=[labels.parent])
    assert "SECRET-LABEL-42" not in outcome.stdout and "refused" in outcome.stdout
    ws = sandbox.workspace(hidden=[labels.parent])
    shell = sandbox.run(["bash", "-c", f"cat {labels}; cat ../private/*"], ws)
    assert "SECRET-LABEL-42" not in shell.stdout


def _accuracy(labels: dict[str, str]):
    """A trusted evaluator: reads the predictions file, never the program's output."""

    def evaluate(outputs: Path) -> dict:
        path = outputs / "predictions.csv"
        if not path.is_file() or path.is_symlink():
            raise InvalidOutput("no predictions.csv in outputs/")
        rows = dict(line.split(",") for line in path.read_text().split())
        if set(rows) != set(labels):
            raise InvalidOutput(f"predictions for {len(rows)} ids, expected {len(labels)}")
        return {"accuracy": sum(rows[k] == v for k, v in labels.items()) / len(labels)}

    return evaluate


def test_a_printed_metric_is_ignored(sandbox):
    labels = {"1": "a", "2": "b", "3": "a", "4": "b"}
    code = (
        "print('accuracy: 1.0')\nprint('{\"accuracy\": 1.0}')\n"
        "open('outputs/predictions.csv', 'w').write('1,b\\n2,a\\n3,b\\n4,b\\n')\n"
    )
    outcome, _ = run_py(sandbox, code, evaluate=_accuracy(labels))
    assert outcome.status is OutcomeStatus.OK
    assert outcome.metrics == {"accuracy": 0.25}
    silent, _ = run_py(sandbox, "print('accuracy: 1.0')\n", evaluate=_accuracy(labels))
    assert silent.status is OutcomeStatus.INVALID_OUTPUT and silent.metrics == {}
    assert "no predictions" in silent.reason


def test_rewriting_its_own_limits_does_not_buy_time(sandbox):
    code = (
        "import json, os, resource, signal, sys\n"
        "for attempt in (\n"
        "    lambda: resource.setrlimit(resource.RLIMIT_CPU, (10**6, 10**6)),\n"
        "    lambda: open('../private/spec.json', 'w').write('{}'),\n"
        "    lambda: os.kill(os.getppid(), signal.SIGSTOP),\n"
        "    lambda: os.kill(1, signal.SIGSTOP),\n"
        "):\n"
        "    try:\n"
        "        attempt()\n"
        "        print('managed')\n"
        "    except Exception as exc:\n"
        "        print('refused', type(exc).__name__)\n"
        "while True:\n"
        "    pass\n"
    )
    outcome, ws = run_py(sandbox, code)
    assert outcome.status is OutcomeStatus.TIMEOUT
    assert "the wall-clock limit of 3s" in outcome.reason
    assert "managed" not in outcome.stdout and outcome.stdout.count("refused") == 4
    assert '"argv"' in (ws.private / "spec.json").read_text()


def test_filling_the_disk_is_stopped(sandbox):
    code = (
        "i = 0\nwhile True:\n    open(f'outputs/fill{i}', 'wb').write(b'x' * 2**23)\n    i += 1\n"
    )
    outcome, ws = run_py(sandbox, code)
    assert outcome.status is OutcomeStatus.KILLED and "working copy" in outcome.reason
    used = sum(p.stat().st_size for p in ws.outputs.iterdir()) / 2**20
    assert used < FAST.disk_mb + 200  # stopped soon after the limit, not at a full disk


def test_one_huge_file_hits_the_file_size_limit(tmp_path):
    sandbox = Sandbox(tmp_path / "runs", Limits(time_s=10, max_file_mb=8, disk_mb=1000))
    code = "open('outputs/big', 'wb').write(b'x' * 2**25)\n"
    outcome, ws = run_py(sandbox, code)
    assert outcome.status in (OutcomeStatus.ERROR, OutcomeStatus.KILLED)
    assert (ws.outputs / "big").stat().st_size <= 8 * 2**20


def test_a_gigabyte_on_stdout_is_drained_and_capped(tmp_path):
    sandbox = Sandbox(tmp_path / "runs", Limits(time_s=60, output_kb=64))
    code = (
        "import sys\n"
        "chunk = b'y' * 2**20\n"
        "for _ in range(1024):\n"
        "    sys.stdout.buffer.write(chunk)\n"
        "sys.stdout.flush()\n"
        "print('THE END')\n"
    )
    outcome, _ = run_py(sandbox, code)
    assert outcome.status is OutcomeStatus.OK
    assert outcome.stdout_bytes == 2**30 + len("THE END\n")
    assert len(outcome.stdout) < 64 * 1024 + 200 and outcome.stdout.rstrip().endswith("THE END")
    assert "bytes not kept" in outcome.stdout


def test_secrets_are_not_in_the_environment(sandbox, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-for-the-sandbox")
    monkeypatch.setenv("ASSAY_LLM_API_KEY", "sk-also-not")
    monkeypatch.setenv("GITHUB_TOKEN", "ghp-nope")
    code = "import os\nprint(sorted(os.environ))\nprint(os.environ.get('OPENAI_API_KEY'))\n"
    outcome, _ = run_py(sandbox, code)
    assert outcome.status is OutcomeStatus.OK
    for secret in ("sk-test-not-for-the-sandbox", "sk-also-not", "ghp-nope", "API_KEY", "TOKEN"):
        assert secret not in outcome.stdout
    shell = sandbox.run(["bash", "-c", "env; cat /proc/1/environ"], sandbox.workspace())
    assert "sk-test-not-for-the-sandbox" not in shell.stdout
    passed = Sandbox(sandbox.root, FAST, env={"OPENAI_API_KEY": "sk-on-purpose"})
    outcome, _ = run_py(passed, code)
    assert "sk-on-purpose" in outcome.stdout


def test_outcome_is_recorded_with_the_run(sandbox):
    from assay.execute import Outcome

    outcome, ws = run_py(sandbox, "print('hello')\n")
    saved = Outcome.load(ws.private / "outcome.json")
    assert saved == outcome and saved.status is OutcomeStatus.OK
    assert saved.isolation["network"] in ("namespace", "none")
    if ROOT:
        assert saved.isolation["network"] == "namespace" and saved.isolation["mounts"] == "private"
        assert saved.isolation["uid"] >= UID_FIRST and saved.isolation["missing"] == []


def test_without_a_uid_of_its_own_the_walls_that_remain_hold(tmp_path, listener):
    """The non-root path (no uid, no private mounts): time, descendants, network, secrets."""
    port, accepted = listener
    sandbox = Sandbox(tmp_path / "runs", FAST, own_uid=False)
    outcome, ws = run_py(sandbox, GRANDCHILD, "stay")
    assert outcome.status is OutcomeStatus.TIMEOUT
    pid = int((ws.outputs / "grandchild.pid").read_text())
    time.sleep(0.2)
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    outcome, _ = run_py(sandbox, CONNECT, str(port))
    assert "CONNECTED" not in outcome.stdout
    assert "own uid" in " ".join(outcome.isolation["missing"])
    time.sleep(0.3)
    assert accepted == []

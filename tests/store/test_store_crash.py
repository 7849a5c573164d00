"""What survives a killed process (on both backends), and what happens when the SQLite file
is unusable."""

from __future__ import annotations

import os
import random
import select
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import assay
from assay.errors import StoreError
from assay.store import RunState, open_store

CHILD = """
import sys, time
from assay.store import TrialRecord, TrialState, open_store

store = open_store(sys.argv[1])
run = store.start_run(task="binary", target="y", settings={"seed": 0})
for i in range(3):
    store.record_trial(TrialRecord(run.run_id, i, "dummy", {"i": i}, TrialState.COMPLETE, 0.5))
print("ready", run.run_id, flush=True)
time.sleep(120)
"""


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")
def test_killed_run_keeps_its_trials_and_is_marked_interrupted(store_url: str) -> None:
    url = store_url
    src = str(Path(assay.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, url],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        ready, _, _ = select.select([child.stdout], [], [], 60)
        line = child.stdout.readline() if ready else ""
        assert line.startswith("ready"), f"child did not get ready: {child.stderr.read()!r}"
        run_id = line.split()[1]
        with open_store(url) as live:  # opening must not mark a live run as interrupted
            assert live.get_run(run_id).state is RunState.RUNNING
        child.send_signal(signal.SIGKILL)
        assert child.wait(timeout=30) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        child.stdout.close()
        child.stderr.close()

    with open_store(url) as reopened:
        run = reopened.get_run(run_id)
        assert run.state is RunState.INTERRUPTED
        assert run.finished_at is not None and str(child.pid) in run.error
        assert [t.trial_no for t in reopened.trials(run_id)] == [0, 1, 2]
        assert run.n_trials == 3 and run.settings == {"seed": 0}
        assert reopened.mark_stale_runs() == []  # already marked when the store was opened


def test_corrupt_file_raises_store_error_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "assay.db"
    path.write_bytes(random.Random(0).randbytes(16_384))
    with pytest.raises(StoreError, match="not an assay store") as info:
        open_store(f"sqlite:///{path}")
    assert str(path) in str(info.value)


def test_store_that_cannot_be_created_raises_store_error(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    path = blocker / "sub" / "assay.db"
    with pytest.raises(StoreError, match="ASSAY_HOME") as info:
        open_store(f"sqlite:///{path}")
    assert str(blocker / "sub") in str(info.value)


def test_malformed_url_raises_store_error() -> None:
    with pytest.raises(StoreError, match="not a database URL"):
        open_store("definitely not a url")

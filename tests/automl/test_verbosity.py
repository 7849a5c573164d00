"""What a fit shows, by `verbosity`: 0 nothing at all, 1 warnings (and a live progress line
where a terminal shows it), 2 each trial; an application's own logging setup is used, not
doubled. Each fit runs in its own process, so stderr and logging are a user's."""

from __future__ import annotations

import os
import pty
import subprocess
import sys

import pytest

from assay import AutoML
from assay.errors import ConfigError

SCRIPT = """
import logging, sys
from assay import AutoML
from assay.data import read_table
if sys.argv[2] == "app-logging":
    logging.basicConfig(stream=sys.stdout, level=logging.WARNING, format="APP %(message)s")
frame = read_table("builtin:iris")
frame.loc[:4, "target"] = None  # five rows without a target: a warning
AutoML(n_trials=2, models=["linear"], store=False, verbosity=int(sys.argv[1])).fit(frame, "target")
print("fitted")
"""


def _fit(verbosity: int, logging_setup: str = "none", stderr=subprocess.PIPE):
    return subprocess.run(
        [sys.executable, "-c", SCRIPT, str(verbosity), logging_setup],
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
        timeout=300,
        check=True,
    )


def test_verbosity_zero_prints_nothing_one_warns_two_logs_each_trial():
    silent = _fit(0)
    assert silent.stdout.strip() == "fitted" and silent.stderr == ""
    warned = _fit(1)
    assert "Dropped 5 rows" in warned.stderr and "trial 0" not in warned.stderr
    detailed = _fit(2)
    assert "Dropped 5 rows" in detailed.stderr and "trial 0 linear" in detailed.stderr


def test_an_applications_own_logging_gets_the_warnings_once():
    done = _fit(1, "app-logging")
    assert "APP Dropped 5 rows" in done.stdout
    assert "Dropped 5 rows" not in done.stderr  # no second handler of assay's own
    assert "Dropped" not in _fit(0, "app-logging").stdout  # 0 silences assay even then


def test_a_terminal_shows_a_live_progress_line():
    controller, terminal = pty.openpty()
    try:
        _fit(1, stderr=terminal)
        os.close(terminal)
        shown = b""
        while True:
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # the terminal side is closed: all read
                break
            if not chunk:
                break
            shown += chunk
    finally:
        os.close(controller)
    text = shown.decode(errors="replace")
    assert "fitting" in text and "trials 2 done" in text


def test_verbosity_outside_zero_to_three_is_refused():
    with pytest.raises(ConfigError, match="verbosity"):
        AutoML(verbosity=5).fit("builtin:iris", "target")

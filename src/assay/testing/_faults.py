"""Tasks that misbehave on purpose, importable by any worker process: for tests of what
assay does when a worker dies or a task runs long."""

from __future__ import annotations

import os
import time


def slow_identity(value, seconds: float):
    """`value`, after `seconds`: long enough to kill the worker running it."""
    time.sleep(seconds)
    return value


def exit_process(code: int = 1):
    """End the process running this task at once, as a crash or the OOM killer would."""
    os._exit(code)

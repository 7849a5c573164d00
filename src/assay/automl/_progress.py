"""What a fit shows while it runs, by `verbosity` (as AutoGluon's and FLAML's): 0 nothing at
all, 1 a live progress line (trials done, best score, time left) and warnings, 2 each trial
too (INFO logs), 3 debugging detail (DEBUG logs).

The progress line is drawn with rich in a terminal and in Jupyter with ipywidgets; in
Jupyter without ipywidgets it is one plain-text output updated in place (IPython's display
handles); it is left out where nothing would show it (a log file, a batch job's redirected
stderr). The library logs through `logging` under the
`assay` logger; during a fit its level follows the verbosity unless the application set
that logger's level itself, and where the application configured
no logging handler at all, one that writes to stderr is added for the fit. At verbosity 0
the `assay` logger is silenced for the fit, whatever handlers exist, and restored after."""

from __future__ import annotations

import contextlib
import logging
import math
from collections.abc import Callable, Iterator
from typing import Any

VERBOSITY_LEVELS = {0: logging.CRITICAL + 1, 1: logging.WARNING, 2: logging.INFO, 3: logging.DEBUG}


def _score(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.4f}" if isinstance(value, float) else str(value)


class ProgressDisplay:
    """A live progress line; the object is the fit's callback. `console`: a rich Console
    (default: stderr)."""

    def __init__(self, limit_s: float, n_trials: int | None, console: Any = None):
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        self.limit_s, self.n_trials = limit_s, n_trials
        self.timed = limit_s != float("inf")
        self.console = console or Console(stderr=True, highlight=False)
        columns = [
            TextColumn("{task.description}"),
            BarColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.fields[status]}"),
        ]
        self.bar = Progress(*columns, console=self.console, transient=False)

    @property
    def visible(self) -> bool:
        """Whether the console would show a live line: a terminal, or Jupyter with
        ipywidgets installed (rich draws the line in a widget there; without one it only
        warns 'install "ipywidgets" for Jupyter support' and shows nothing)."""
        if self.console.is_jupyter:
            import importlib.util

            return importlib.util.find_spec("ipywidgets") is not None
        return bool(self.console.is_terminal)

    def __enter__(self) -> ProgressDisplay:
        self.bar.__enter__()
        total = self.limit_s if self.timed else self.n_trials
        self.job = self.bar.add_task("fitting", total=total, status="starting")
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            done = self.limit_s if self.timed else self.n_trials
            self.bar.update(self.job, completed=done, status="done")
        self.bar.__exit__(exc_type, exc, tb)

    def __call__(self, progress: Any) -> None:
        status = _status(progress, self.timed)
        if not hasattr(progress, "last"):  # derived features: rows so far
            self.bar.update(self.job, status=status)
            return
        last = progress.last
        done = self.limit_s - progress.time_left_s if self.timed else last.trial_no + 1
        self.bar.update(self.job, completed=done, status=status)


class NotebookLine:
    """The progress line in Jupyter without ipywidgets: one plain-text output that each
    trial updates in place (an IPython display handle); the object is the fit's callback."""

    def __init__(self, limit_s: float):
        self.timed = limit_s != float("inf")
        self.text = "fitting: starting"

    def __enter__(self) -> NotebookLine:
        from IPython.display import Pretty, display

        self.handle = display(Pretty(self.text), display_id=True)
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self._show(f"{self.text} | {'done' if exc_type is None else 'stopped'}")

    def __call__(self, progress: Any) -> None:
        self.text = _status(progress, self.timed)
        self._show(self.text)

    def _show(self, text: str) -> None:
        from IPython.display import Pretty

        if self.handle is not None:
            self.handle.update(Pretty(text))


def _status(progress: Any, timed: bool) -> str:
    """One line for a Progress (a trial ended) or a FeatureProgress (rows of a derived
    feature computed)."""
    if not hasattr(progress, "last"):
        return f"{progress.what}: {progress.n_done}/{progress.n_total} rows"
    last = progress.last
    left = f"{progress.time_left_s:.0f}s left | " if timed else ""
    return (
        f"trials {progress.n_done} done, {progress.n_failed} failed | best "
        f"{_score(progress.best_score)} ({progress.best_model}) | "
        f"{left}last {last.candidate.model}: {last.state.value}"
    )


@contextlib.contextmanager
def logs_at(verbosity: int) -> Iterator[None]:
    """The `assay` logger at the verbosity's level for the block (see the module
    docstring), then as it was."""
    logger = logging.getLogger("assay")
    before_level, before_handlers = logger.level, list(logger.handlers)
    if verbosity == 0 or before_level == logging.NOTSET:  # a level the application set stays
        logger.setLevel(VERBOSITY_LEVELS[verbosity])
    configured = logging.getLogger().handlers or any(
        not getattr(h, "_assay", False) for h in logger.handlers
    )
    if verbosity >= 1 and not configured and not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        handler._assay = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
    try:
        yield
    finally:
        logger.setLevel(before_level)
        logger.handlers[:] = before_handlers


@contextlib.contextmanager
def fit_output(
    verbosity: int, callback: Callable | None, limit_s: float, n_trials: int | None
) -> Iterator[Callable | None]:
    """The callback a fit calls: the caller's, or at verbosity 1 or more (and where a live
    line would show) a ProgressDisplay; with the logs at the verbosity's level."""
    with logs_at(verbosity):
        if callback is not None or verbosity < 1:
            yield callback
            return
        display = ProgressDisplay(limit_s, n_trials)
        if display.console.is_jupyter and not display.visible:  # no ipywidgets
            with NotebookLine(limit_s) as line:
                yield line
            return
        if not display.visible:
            yield None
            return
        with display:
            yield display

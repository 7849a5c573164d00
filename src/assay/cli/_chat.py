"""`assay ask` (one request, one answer) and `assay chat` (a conversation)."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import typer

from assay.cli._render import stderr, stdout, styled


def _session(data: str | None, offline: bool, status):
    from assay.agent import Session

    session = Session(data, llm=None if offline else "auto", progress=status.update)
    mode = "offline planner (no LLM configured)" if session.llm is None else "LLM agent"
    stderr.print(styled(f"assay agent: {mode}; session log {session.log.path}", "dim"))
    return session


def _show(reply) -> None:
    if reply.steps and not reply.offline:  # the offline answer already lists its steps
        stdout.print(reply.transcript(), markup=False, highlight=False)
        stdout.print()
    stdout.print(reply.text, markup=False, highlight=False)
    if reply.artifacts:
        stdout.print("Files: " + ", ".join(reply.artifacts), markup=False)


def ask(
    request: str = typer.Argument(..., help='What to do, e.g. "predict churn in data.csv".'),
    data: str | None = typer.Option(None, "--data", "-d", help="Data file to start with."),
    offline: bool = typer.Option(False, "--offline", help="Use the rule-based planner only."),
) -> None:
    """Do one request in plain language and print the answer and where the files are."""
    with stderr.status("starting") as status:
        session = _session(data, offline, status)
        try:
            reply = session.ask(request)
        finally:
            session.close()
    _show(reply)
    stdout.print(f"Session log: {session.log.path}", markup=False)


def chat(
    data: str | None = typer.Argument(None, help="Data file to start with."),
    offline: bool = typer.Option(False, "--offline", help="Use the rule-based planner only."),
) -> None:
    """A conversation: type requests, read answers; 'exit' or Ctrl-D ends it."""
    from assay.config import settings

    readline: ModuleType | None
    try:
        import readline
    except ImportError:  # pragma: no cover - not on every platform
        readline = None
    history = Path(settings().home) / "chat_history"
    if readline is not None and history.exists():
        readline.read_history_file(history)
    with stderr.status("starting") as status:
        session = _session(data, offline, status)
    try:
        while True:
            try:
                text = input("you> ").strip()
            except EOFError:
                break
            if text.lower() in ("exit", "quit", ":q"):
                break
            if text:
                with stderr.status("thinking") as status:
                    session.toolbox.progress = status.update
                    reply = session.ask(text)
                _show(reply)
    finally:
        if readline is not None:
            history.parent.mkdir(parents=True, exist_ok=True)
            readline.write_history_file(history)
        session.close()
        stdout.print(f"Session log: {session.log.path}", markup=False)

"""The `assay` command. Thin: parse arguments, call the API, render. Exit codes: 0 success,
2 wrong usage, 3 bad input, 4 budget or resource limit, 1 anything unexpected."""

from __future__ import annotations

import sys
import traceback

import click
import typer

ENVIRONMENT = (
    "Environment: ASSAY_HOME (runs, caches and the default store; default ./assay-runs), "
    "ASSAY_STORE (the store's URL: sqlite:///... or postgresql://...), ASSAY_DATASETS "
    "(benchmark data; default ../shared/datasets)."
)
LLM_ENVIRONMENT = (
    "Environment: ASSAY_LLM_BASE_URL, ASSAY_LLM_MODEL and ASSAY_LLM_API_KEY (any "
    "OpenAI-compatible endpoint), ASSAY_LLM_PROVIDER (openai or anthropic), ASSAY_LLM_CACHE "
    "(a folder, or off); or the same keys in ASSAY_HOME/llm.json. With neither a base URL "
    "nor a model, the built-in planner answers."
)

app = typer.Typer(
    name="assay",
    help="AutoML that builds strong models on its own. Start with: assay fit DATA --target COL",
    epilog=ENVIRONMENT,
    no_args_is_help=True,
    add_completion=True,  # --install-completion / --show-completion for bash, zsh, fish
    pretty_exceptions_enable=False,
)
_state = {"debug": False, "verbose": False}


def _print_version(value: bool) -> None:
    if value:
        from assay import __version__

        print(f"assay {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks for every error."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log progress details."),
    version: bool = typer.Option(
        False,
        "--version",
        callback=_print_version,
        is_eager=True,
        help="Print assay's version and exit.",
    ),
) -> None:
    _state["debug"], _state["verbose"] = debug, verbose
    if verbose:
        from assay.log import set_verbosity

        set_verbosity("INFO")


def _register() -> None:
    from assay.cli import (
        _chat,
        _discover,
        _explain,
        _fit,
        _forecast,
        _predict,
        _report,
        _research,
        _runs,
        _serve,
        _stats,
    )

    app.command("fit")(_fit.fit)
    app.command("forecast")(_forecast.forecast)
    app.command("predict")(_predict.predict)
    app.command("leaderboard")(_runs.leaderboard)
    app.command("stats")(_stats.stats)
    app.command("explain")(_explain.explain)
    app.command("compare")(_explain.compare)
    app.command("report")(_report.report)
    app.command("serve")(_serve.serve)
    app.command("export")(_serve.export)
    app.command("ask", epilog=LLM_ENVIRONMENT)(_chat.ask)
    app.command("chat", epilog=LLM_ENVIRONMENT)(_chat.chat)
    app.add_typer(_research.app, name="research")
    app.add_typer(_discover.app, name="discover")
    app.add_typer(_runs.app, name="runs")


_register()


def main(argv: list[str] | None = None) -> None:
    from assay.errors import AssayError

    try:
        app(args=argv, prog_name="assay")  # usage errors exit 2 inside
    except click.UsageError as exc:  # raised by a command's own checks of its arguments
        exc.show()
        sys.exit(2)
    except AssayError as exc:
        if _state["debug"]:
            traceback.print_exc()
        print(f"assay: error: {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)
    except Exception:
        traceback.print_exc()
        print(
            "assay: unexpected error (a bug in assay). Please report it with the traceback "
            "above and the command you ran.",
            file=sys.stderr,
        )
        sys.exit(1)

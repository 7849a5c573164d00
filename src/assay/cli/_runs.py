"""`assay runs` and `assay leaderboard`: what the store and a predictor know; `assay runs
prune` removes old runs."""

from __future__ import annotations

import datetime as dt

import typer

from assay.cli._predict import trust_option
from assay.cli._render import (
    OUTPUT_FORMATS,
    format_option,
    print_frame,
    print_leaderboard,
    stdout,
    table,
)


def _output(value: str) -> str:
    if value.lower() not in OUTPUT_FORMATS:
        raise typer.BadParameter(
            f"{value!r}: give one of {', '.join(OUTPUT_FORMATS)}.", param_hint="'--format'"
        )
    return value.lower()


def leaderboard(
    model: str = typer.Argument(..., help="Predictor folder or run id."),
    trust: bool = trust_option(),
    output: str = format_option(),
) -> None:
    """Show the leaderboard saved with a predictor."""
    from assay.cli._predict import load_model_arg

    output = _output(output)
    predictor = load_model_arg(model, trust)
    print_leaderboard(predictor, f"Leaderboard ({predictor.metric}, out-of-fold)", output)


app = typer.Typer(
    help="List recent runs in the store (ASSAY_STORE or ASSAY_HOME/assay.db); "
    "`assay runs prune` removes old ones."
)


@app.callback(invoke_without_command=True)
def runs(
    ctx: typer.Context,
    limit: int = typer.Option(20, "--limit", help="How many recent runs to show."),
    output: str = format_option(),
) -> None:
    """List recent runs in the store (ASSAY_STORE or ASSAY_HOME/assay.db)."""
    if ctx.invoked_subcommand is not None:
        return
    import pandas as pd

    from assay.store import open_store

    output = _output(output)
    store = open_store()
    rows = [
        {
            # a table shows the first 8 characters of a run id; scripts get all of it
            "run": r.run_id[:8] if output == "table" else r.run_id,
            "started": _when(r.created_at),
            "state": r.state.value,
            "task": r.task or "-",
            "metric": r.metric or "-",
            "best": r.best_score,
            "trials": len(store.trials(r.run_id)),
            "source": r.source or "-",
        }
        for r in store.runs(limit=limit)
    ]
    if not rows and output == "table":
        stdout.print("No runs yet. Start one with: assay fit DATA --target COLUMN")
        return
    columns = ["run", "started", "state", "task", "metric", "best", "trials", "source"]
    print_frame(pd.DataFrame(rows, columns=columns), output, title="Runs")


@app.command("prune")
def prune(
    keep: int | None = typer.Option(
        None, "--keep", help="Keep this many of the newest runs; prune the older ones."
    ),
    older_than: float | None = typer.Option(
        None, "--older-than", help="Prune runs last active more than this many days ago."
    ),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Only list the runs that would be pruned."
    ),
) -> None:
    """Remove old runs: their folders under ASSAY_HOME and their rows in the store.

    With both --keep and --older-than, a run goes only when both say so. Running runs are
    never pruned; predictors saved elsewhere with `assay fit --out` are left alone."""
    import math

    if keep is None and older_than is None:
        import click

        raise click.UsageError(
            "say which runs to prune: --keep N (the newest runs to keep) and/or --older-than DAYS."
        )
    if keep is not None and keep < 0:
        raise typer.BadParameter(
            f"{keep} runs: give 0 or more (the newest runs to keep).", param_hint="'--keep'"
        )
    if older_than is not None and not (0 <= older_than < math.inf):
        raise typer.BadParameter(
            f"{older_than} days: give a number of days, 0 or more.", param_hint="'--older-than'"
        )
    import pandas as pd

    from assay.automl._run import prune_runs
    from assay.store import open_store

    pruned = prune_runs(open_store(), keep=keep, older_than_days=older_than, dry_run=dry_run)
    if not pruned:
        stdout.print("No run to prune.")
        return
    rows = [
        {
            "run": p.run.run_id[:8],
            "started": _when(p.run.created_at),
            "state": p.run.state.value,
            "MB": p.size_bytes / 2**20,
        }
        for p in pruned
    ]
    title = "Would prune" if dry_run else "Pruned"
    stdout.print(table(pd.DataFrame(rows), title=title))
    total_mb = sum(p.size_bytes for p in pruned) / 2**20
    verb = "would free" if dry_run else "freed"
    stdout.print(f"{title} {len(pruned)} run(s); {verb} {total_mb:.1f} MB of run folders.")


def _when(timestamp: float) -> str:
    return dt.datetime.fromtimestamp(timestamp).strftime("%Y-%m-%d %H:%M:%S")

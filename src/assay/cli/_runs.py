"""`assay runs` and `assay leaderboard`: what the store and a predictor know."""

from __future__ import annotations

import datetime as dt

import typer

from assay.cli._predict import trust_option
from assay.cli._render import print_leaderboard, stdout, table


def leaderboard(
    model: str = typer.Argument(..., help="Predictor folder or run id."),
    trust: bool = trust_option(),
) -> None:
    """Show the leaderboard saved with a predictor."""
    from assay.cli._predict import load_model_arg

    predictor = load_model_arg(model, trust)
    print_leaderboard(predictor, f"Leaderboard ({predictor.metric}, out-of-fold)")


def runs(limit: int = typer.Option(20, "--limit", help="How many recent runs to show.")) -> None:
    """List recent runs in the store (ASSAY_STORE or ASSAY_HOME/assay.db)."""
    import pandas as pd

    from assay.store import open_store

    store = open_store()
    rows = [
        {
            "run": r.run_id[:8],
            "started": dt.datetime.fromtimestamp(r.created_at).strftime("%Y-%m-%d %H:%M:%S"),
            "state": r.state.value,
            "task": r.task or "-",
            "metric": r.metric or "-",
            "best": r.best_score,
            "trials": len(store.trials(r.run_id)),
            "source": r.source or "-",
        }
        for r in store.runs(limit=limit)
    ]
    if not rows:
        stdout.print("No runs yet. Start one with: assay fit DATA --target COLUMN")
        return
    stdout.print(table(pd.DataFrame(rows), title="Runs"))

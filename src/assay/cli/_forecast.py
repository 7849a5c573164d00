"""`assay forecast`: backtest, ensemble and forecast many series; optionally score a test file."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from assay.cli._render import fmt, stderr, stdout, table


def forecast(
    data: str = typer.Argument(..., help="Long CSV/TSV/Parquet (a row per series and time)."),
    horizon: int = typer.Option(..., "--horizon", "-H", help="Steps to forecast."),
    time: str | None = typer.Option(None, "--time", help="Time column (long data)."),
    target: str | None = typer.Option(None, "--target", "-t", help="Column to forecast."),
    id: str | None = typer.Option(None, "--id", help="Series id column (several series)."),
    season: int | None = typer.Option(
        None, "--season", help="Season length (default from the time frequency: hourly 24...)."
    ),
    time_limit_s: float | None = typer.Option(
        None, "--time-limit", help="Time budget in seconds for the whole fit."
    ),
    models: str | None = typer.Option(None, "--models", help="Comma-separated model names."),
    wide: bool = typer.Option(
        False, "--wide", help="DATA is in the M4 layout: id, then values V2.. (no --time)."
    ),
    test: Path | None = typer.Option(
        None, "--test", help="Next values to score against (same layout as DATA)."
    ),
    levels: str | None = typer.Option(
        None,
        "--levels",
        help="Prediction interval levels in percent, such as 80,95: adds columns lo_80, "
        "hi_80, lo_95, hi_95 (from the backtest errors) and, with --test, their coverage "
        "and MSIS.",
    ),
    out: Path | None = typer.Option(None, "--out", "-o", help="CSV to write (default stdout)."),
    seed: int = typer.Option(0, "--seed", help="Random seed."),
) -> None:
    """Forecast HORIZON steps of every series in DATA with the ensemble that backtests best."""
    from assay.errors import ConfigError
    from assay.forecast import Forecaster, SeriesSet, check_levels, read_long, read_wide

    chosen = None if levels is None else check_levels(levels, "--levels")  # before the fit

    def read(path: str | Path) -> SeriesSet:
        if wide:
            return read_wide(path)
        if time is None or target is None:
            raise ConfigError("Long data needs --time and --target (or pass --wide for M4 files).")
        return read_long(path, time, target, id)

    series = read(data)
    forecaster = Forecaster(
        horizon,
        season=season,
        time_limit_s=time_limit_s,
        models=[m.strip() for m in models.split(",")] if models else None,
        random_state=seed,
    )
    with stderr.status(f"Backtesting {len(series.ids)} series..."):
        forecaster.fit(series)
    frame = forecaster.predict(levels=chosen)
    show = stdout if out is not None else stderr  # keep stdout for the CSV when piping
    board = forecaster.leaderboard_.copy()
    show.print(table(board, title="Backtest (rolling origins; owa relative to naive2)"))
    ensemble = ", ".join(f"{name} {weight:.2f}" for name, weight in forecaster.weights_.items())
    show.print(f"ensemble: {ensemble} | season {forecaster.season_} | fit {forecaster.fit_s_:.1f}s")
    if test is not None:
        actual = read(test)
        scores = forecaster.score(actual, where=f"'{test}'")
        show.print(
            f"test: smape {fmt(scores.smape, 3)} | mase {fmt(scores.mase, 3)} | "
            f"owa {fmt(scores.owa, 3)}"
        )
        for level in chosen or []:
            band = forecaster.score_intervals(actual, level, where=f"'{test}'")
            show.print(
                f"test {level:g}% intervals: coverage {fmt(band.coverage, 3)} | "
                f"msis {fmt(band.msis, 3)}"
            )
    if out is None:
        frame.to_csv(sys.stdout, index=False)
    else:
        frame.to_csv(out, index=False)
        stdout.print(f"{len(frame)} forecasts written to {out}")

"""`assay fit`: train under a time budget with a live progress display, then save."""

from __future__ import annotations

from pathlib import Path

import typer

from assay.cli._render import fmt, print_leaderboard, stderr, stdout, use_store


def fit(
    data: str | None = typer.Argument(
        None, help="CSV/TSV/Parquet/ARFF file, or builtin:NAME (not needed with --resume)."
    ),
    target: str | None = typer.Option(None, "--target", "-t", help="Column to predict."),
    time_s: float | None = typer.Option(
        None,
        "--time",
        help="Time budget in seconds for the whole fit (default 60, none with --trials).",
    ),
    metric: str | None = typer.Option(
        None, "--metric", help="auc, logloss, accuracy, f1, balanced_accuracy, rmse, mae or r2."
    ),
    task: str | None = typer.Option(None, "--task", help="binary, multiclass or regression."),
    out: Path | None = typer.Option(None, "--out", "-o", help="Folder for the predictor."),
    folds: int | None = typer.Option(None, "--folds", help="Number of bagging folds."),
    models: str | None = typer.Option(None, "--models", help="Comma-separated model names."),
    seed: int = typer.Option(0, "--seed", help="Random seed."),
    trials: int | None = typer.Option(
        None, "--trials", help="Stop after this many trials (reproducible for a seed)."
    ),
    deploy: str = typer.Option(
        "bagged", "--deploy", help="bagged (a model per fold) or fast (refit once on all rows)."
    ),
    memory_mb: float | None = typer.Option(
        None, "--memory", help="Memory limit in MB for the models kept (default 70% free)."
    ),
    portfolio: str = typer.Option(
        "default", "--portfolio", help="Packaged portfolio name or a portfolio JSON file."
    ),
    stack: str = typer.Option(
        "auto", "--stack", help="auto (one stacking layer if a held-out check says so) or off."
    ),
    pair: tuple[str, str] | None = typer.Option(
        None, "--pair", help="Two text columns to compare as a pair, e.g. --pair q1 q2."
    ),
    embed: str = typer.Option(
        "auto",
        "--embed",
        help="Sentence embeddings of text columns: auto (when assay[text] is installed), on, off.",
    ),
    report: bool = typer.Option(
        False, "--report", help="Write an HTML report at the end (report.html in the run folder)."
    ),
    resume: str | None = typer.Option(
        None, "--resume", help="Continue a killed fit (its run id) from its finished trials."
    ),
    cluster: str | None = typer.Option(
        None, "--cluster", help="Run trials on Dask: local:N workers here, or tcp://HOST:8786."
    ),
    store: str | None = typer.Option(
        None, "--store", help="Store URL (sqlite:///..., postgresql://...); default ASSAY_STORE."
    ),
) -> None:
    """Fit models on DATA to predict TARGET; print the leaderboard and save the predictor."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from assay.automl import AutoML, FeatureProgress
    from assay.config import settings
    from assay.errors import ConfigError

    embed_modes = {"auto": None, "on": True, "off": False}
    if embed not in embed_modes:
        raise ConfigError(f"--embed {embed!r}: choose auto, on or off.")
    use_store(store)
    if resume is None and (data is None or target is None):
        import click

        raise click.UsageError(
            "give DATA and --target COLUMN, or --resume RUN_ID to continue a fit."
        )

    automl = AutoML(
        task=task,
        metric=metric,
        time_limit_s=time_s,
        random_state=seed,
        n_folds=folds,
        models=[m.strip() for m in models.split(",")] if models else None,
        n_trials=trials,
        deploy=deploy,
        memory_limit_mb=memory_mb,
        portfolio=portfolio,
        stack=stack,
        embed=embed_modes[embed],
        cluster=cluster,
    )
    columns = [
        TextColumn("{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[status]}"),
    ]
    limit_s = float("inf") if resume else automl.effective_time_limit_s()
    timed = limit_s != float("inf")
    with Progress(*columns, console=stderr, transient=False) as bar:
        job = bar.add_task("fitting", total=limit_s if timed else trials, status="starting")

        def show(progress) -> None:
            if isinstance(progress, FeatureProgress):
                status = f"{progress.what}: {progress.n_done}/{progress.n_total} texts"
                bar.update(job, status=status)
                return
            last = progress.last
            left = f"{progress.time_left_s:.0f}s left | " if timed else ""
            status = (
                f"trials {progress.n_done} done, {progress.n_failed} failed | best "
                f"{fmt(progress.best_score)} ({progress.best_model}) | "
                f"{left}last {last.candidate.model}: {last.state.value}"
            )
            done = limit_s - progress.time_left_s if timed else last.trial_no + 1
            bar.update(job, completed=done, status=status)

        if resume is not None:
            automl = AutoML.resume(resume, data, cluster=cluster, callback=show)
        else:
            automl.fit(data, target=target, text_pairs=[pair] if pair else None, callback=show)
        bar.update(job, completed=limit_s if timed else trials, status="done")
    predictor = automl.predictor_
    saved = _save(automl, out or settings().home / (automl.run_id_ or "last") / "predictor")
    if automl.run_id_:
        from assay.store import open_store

        open_store().update_run(automl.run_id_, artifact_dir=str(saved))
    print_leaderboard(predictor, f"Leaderboard ({predictor.metric}, out-of-fold)")
    stdout.print(
        f"task {predictor.task.value} | ensemble {predictor.metric} "
        f"{fmt(predictor.info['ensemble_score'])} | fit {automl.fit_time_s_:.1f}s"
        + (f" of {limit_s:g}s" if timed else f" ({predictor.info['n_trials']} trials)")
        + (" | deployed: one refitted model per member" if deploy == "fast" else "")
        + f" | run {automl.run_id_ or '-'}"
    )
    decision = predictor.info["stack"]
    scores = (
        f" ({fmt(decision['holdout_level1'])} without, {fmt(decision['holdout_level2'])} "
        f"with level 2, on {decision['holdout_rows']} held-out rows)"
        if decision["holdout_level1"] is not None
        else ""
    )
    used = "used" if decision["used"] else "not used"
    stdout.print(f"stacking {used}: {decision['reason']}{scores}")
    for warning in predictor.info.get("warnings", []):
        stderr.print(f"[yellow]warning:[/] {warning}")
    stdout.print(f"Predictor saved to {saved}")
    stdout.print(f"Predict with: assay predict {saved} DATA --out predictions.csv")
    if report:
        from assay.cli._report import write
        from assay.report import gather_inputs

        inputs = gather_inputs(saved, predictor=predictor)
        stdout.print(f"Report written to {write(inputs, None, saved.parent / 'report.html')}")


def _save(automl, out: Path) -> Path:
    """Save the predictor. On a full disk: a DiskFullError naming the folder, and the run
    marked failed, so `--resume` assembles the predictor again from the trials' checkpoints."""
    import contextlib

    from assay.automl._diskfull import disk_full
    from assay.errors import AssayError, DiskFullError
    from assay.store import RunState, open_store

    try:
        return automl.predictor_.save(out)
    except Exception as exc:
        run = automl.run_id_
        again = (
            f"then `assay fit --resume {run} --out {out}` builds it from the run's finished trials"
            if run
            else "then fit again"
        )
        kept = (
            " (the predictor already there is unchanged)"
            if (out / "manifest.json").is_file()
            else ""
        )
        todo = f"The predictor was not saved to {out}{kept}: free space or pick another --out; "
        todo += f"{again}."
        if isinstance(exc, DiskFullError):  # it already says where and that nothing changed
            todo = f"Free space or pick another --out; {again}."
        full = disk_full(exc, out.parent, todo)
        if full is None:
            raise
        if run:  # the store may be on the full disk too: resume works either way
            with contextlib.suppress(AssayError):
                open_store().finish_run(run, RunState.FAILED, error=f"predictor not saved: {exc}")
        raise full from exc

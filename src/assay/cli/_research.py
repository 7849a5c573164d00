"""`assay research init | run | status`: autoresearch on any table, with a hidden holdout."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import typer

from assay.cli._render import fmt, stderr, stdout, use_store

app = typer.Typer(
    help="Autoresearch: a loop that edits pipeline.py, keeps only what beats the noise.",
    no_args_is_help=True,
)


@app.command("init")
def init(
    data: str = typer.Argument(..., help="CSV/TSV/Parquet/ARFF file, or builtin:NAME."),
    target: str = typer.Option(..., "--target", "-t", help="Column to predict."),
    ws: Path = typer.Option(..., "--dir", help="New folder for the workspace (a git repo)."),
    metric: str | None = typer.Option(None, "--metric", help="Default: the task's metric."),
    task: Literal["binary", "multiclass", "regression"] | None = typer.Option(
        None, "--task", help="Default: inferred from the target."
    ),
    budget: float = typer.Option(60.0, "--budget-per-exp", help="Training seconds per run."),
    holdout: float = typer.Option(0.2, "--holdout", help="Share of rows hidden from all runs."),
    valid: float = typer.Option(0.2, "--valid", help="Share of rows runs are scored on."),
    seed: int = typer.Option(0, "--seed", help="Seed of the split and of every run."),
    from_model: Path | None = typer.Option(
        None, "--from", help="Start CONFIG from a predictor folder (assay fit --out)."
    ),
) -> None:
    """Split DATA into a hidden harness and create the workspace WS."""
    from assay.research import init_research

    harness = init_research(
        data,
        target,
        ws,
        metric=metric,
        task=task,
        budget_per_exp_s=budget,
        holdout=holdout,
        valid=valid,
        seed=seed,
        from_model=from_model,
    )
    n = harness.spec["n_rows"]
    stdout.print(f"Workspace {harness.workspace} (git branch research)")
    stdout.print(
        f"task {harness.task.value} | metric {harness.metric.name} | rows: {n['train']} train, "
        f"{n['valid']} validation, {n['holdout']} holdout (hidden)"
    )
    stdout.print(f"Harness {harness.folder} (root only; never edit it)")
    stdout.print(f"Edit {harness.workspace / 'program.md'} to steer the research, then:")
    stdout.print(f"  assay research run {harness.workspace} --proposer search")


@app.command("run")
def run(
    ws: Path = typer.Argument(..., help="The workspace made by `assay research init`."),
    proposer: str = typer.Option("search", "--proposer", help="search (no LLM) or llm."),
    budget: float | None = typer.Option(
        None, "--budget-per-exp", help="Training seconds per run (default: the init value)."
    ),
    max_exp: int = typer.Option(100, "--max-exp", help="Experiments to run this time."),
    time_limit: float | None = typer.Option(
        None,
        "--time",
        help="Seconds for this run, discovery included: no experiment starts after them "
        "(running ones finish).",
    ),
    parallel: int = typer.Option(
        1,
        "--parallel",
        help="Experiments running at once (with --proposer search, one proposer each, "
        "focused on features, models, ensembling, tuning, validation in turn).",
    ),
    noise_seeds: int = typer.Option(3, "--noise-seeds", help="Seeds of the baseline runs."),
    max_fixes: int = typer.Option(2, "--max-fixes", help="Fix attempts after a crash."),
    min_se: float | None = typer.Option(
        None,
        "--min-se",
        help="Also require a kept gain to exceed this many bootstrap standard errors of the "
        "gain on the validation rows (default 2, raised with the number of changes tried against "
        "the same best; 0: the noise floor over seeds alone decides).",
    ),
    discover: float | None = typer.Option(
        None,
        "--discover",
        help="Seconds of feature discovery on the training rows before the first proposal, "
        "once per workspace (default: twice --budget-per-exp; 0: none).",
    ),
    seed: int = typer.Option(0, "--seed", help="Random state of the search proposer."),
    holdout: bool = typer.Option(
        True, "--holdout/--no-holdout", help="Score baseline and best on the holdout at the end."
    ),
    cluster: str | None = typer.Option(
        None, "--cluster", help="Run experiments on Dask: local:N here, or tcp://HOST:8786."
    ),
    store: str | None = typer.Option(None, "--store", help="Store URL (default ASSAY_STORE)."),
) -> None:
    """Run experiments in WS until --max-exp, --time or the proposer runs out of ideas."""
    use_store(store)
    from assay.research import Harness, ResearchLoop

    harness = Harness.for_workspace(ws)
    loop = ResearchLoop(
        ws,
        _proposer(proposer, seed, harness, parallel),
        budget_per_exp_s=budget,
        max_exp=max_exp,
        max_fixes=max_fixes,
        n_noise_seeds=noise_seeds,
        parallel=parallel,
        **({} if min_se is None else {"min_se": min_se}),
        discover_s=discover,
        time_limit_s=time_limit,
        cluster=cluster,
        on_record=_show_record,
    )
    summary = loop.run()
    stdout.print(
        f"{summary.n_experiments} experiment(s), {summary.n_kept} kept | best "
        f"{harness.metric.name} {fmt(summary.best_score)} (baseline "
        f"{fmt(summary.baseline_score)}, noise floor {fmt(summary.noise_floor, 5)}) | "
        f"best commit {summary.best_commit[:10]} | stopped: {summary.stopped_because}"
    )
    if summary.interrupted:
        stdout.print(f"Interrupted. Resume with: assay research run {ws}")
    _report(ws, with_holdout=holdout and not summary.interrupted)


@app.command("status")
def status(
    ws: Path = typer.Argument(..., help="The research workspace."),
    holdout: bool = typer.Option(
        False, "--holdout", help="Also score the baseline and the best on the hidden holdout."
    ),
) -> None:
    """Show the ledger, the best so far and the noise floor."""
    import pandas as pd

    from assay.cli._render import table
    from assay.research._report import research_status

    state = research_status(ws)
    if not state.records:
        stdout.print(f"No experiments yet. Start with: assay research run {ws}")
        return
    rows = [
        {
            "exp": r.exp_no,
            "commit": (r.commit or "-")[:8],
            "status": str(getattr(r.status, "value", r.status)),
            "score": r.score,
            "source": r.source,
            "wall_s": r.wall_s,
            "description": r.description,
        }
        for r in state.records
    ]
    stdout.print(table(pd.DataFrame(rows), title=f"Experiments ({state.harness.metric.name})"))
    _report(ws, with_holdout=holdout)


@app.command("hint")
def hint(
    ws: Path = typer.Argument(..., help="The research workspace."),
    text: str = typer.Argument(..., help='e.g. "try ratios of income and debt", "stop stacking".'),
) -> None:
    """Steer a run: the hint goes into program.md's Hints section, which the next proposal
    reads (a running loop included). Prints what the search proposer understood of it."""
    from assay.research import Harness
    from assay.research._hints import add_hint, hints_of, understand

    harness = Harness.for_workspace(ws)
    if not text.strip():
        from assay.errors import ConfigError

        raise ConfigError("the hint is empty: say what to try or to stop, in words")
    add_hint(ws, text)
    program = (ws / "program.md").read_text()
    guidance = understand(hints_of(program), harness.feature_columns())
    for line in guidance.lines():
        stdout.print(line)


@app.command("export")
def export(
    ws: Path = typer.Argument(..., help="The research workspace."),
    out: Path = typer.Option(..., "--out", "-o", help="Folder for the predictor."),
    which: str = typer.Option(
        "auto",
        "--experiment",
        help="auto (the ensemble of experiments unless the best experiment beats it on "
        "validation by more than two bootstrap errors), best, ensemble, or an experiment "
        "number.",
    ),
) -> None:
    """Save research's answer (or the best experiment, the ensemble of experiments, or one
    experiment) as a predictor for `assay predict`, `serve`, `report` and `explain`, trained
    on the training and validation rows, with its score on the hidden holdout."""
    from assay.errors import ConfigError
    from assay.research._export import export_research

    if which not in ("auto", "best", "ensemble") and not which.isdigit():
        raise ConfigError(f"--experiment {which!r}: give auto, best, ensemble or a number")
    stderr.print("training on the training and validation rows, scoring on the holdout ...")
    done = export_research(ws, out, which if not which.isdigit() else int(which))
    if done.why:
        stderr.print(f"chose the {done.why}")
    parts = ", ".join(f"{m.name} x{m.weight:.2f}" for m in done.members)
    stdout.print(
        f"Saved {done.path} (experiments {parts}) | validation {fmt(done.valid_score)} | "
        f"holdout {fmt(done.holdout_score)}"
    )
    stdout.print(f"Predict with: assay predict {done.path} DATA")


def _report(ws: Path, *, with_holdout: bool) -> None:
    from assay.research._report import holdout_scores, plot_progress, research_status

    state = research_status(ws)
    if state.best is None:
        return
    stdout.print(
        f"best: experiment {state.best.exp_no} ({state.best.description}) "
        f"{state.harness.metric.name} {fmt(state.best.score)} | baseline "
        f"{fmt(state.baseline and state.baseline.score)} | noise floor "
        f"{fmt(state.noise_floor, 5)}"
    )
    if with_holdout:
        stderr.print("scoring the baseline and the best on the hidden holdout ...")
        rows = holdout_scores(state, ws)
        for row in rows:
            stdout.print(
                f"holdout {row.label:<8} experiment {row.exp_no:>3}: validation "
                f"{fmt(row.valid_score)}  holdout {fmt(row.holdout_score)}"
            )
        by = {row.label: row for row in rows}
        if "best" in by:
            loss = state.harness.metric.loss
            base, best = by["baseline"], by["best"]
            valid_gain = loss(base.valid_score) - loss(best.valid_score)
            holdout_gain = loss(base.holdout_score) - loss(best.holdout_score)
            if holdout_gain < 0.5 * valid_gain:
                stdout.print(
                    f"note: the holdout does not confirm the validation gain ({valid_gain:+.4g} "
                    f"on validation, {holdout_gain:+.4g} on the holdout): part of it is likely "
                    "noise or a fit to the validation rows"
                )
    stdout.print(f"progress chart: {plot_progress(state)}")


def _show_record(record) -> None:
    status = str(getattr(record.status, "value", record.status))
    line = f"exp {record.exp_no:>3} {status:<9} {fmt(record.score)}  {record.description}"
    stderr.print(line)


def _proposer(name: str, seed: int, harness, parallel: int = 1):
    from assay.errors import ConfigError

    if name == "search":  # with --parallel N: N proposers, each with a focus of its own
        from assay.research._proposers import search_team

        return search_team(parallel, seed, task=harness.task)
    if name == "llm":
        from assay.llm import llm_from_env
        from assay.research._llm_proposer import LLMProposer

        llm = llm_from_env()
        if llm is None:
            raise ConfigError(
                "--proposer llm needs an LLM: set ASSAY_LLM_BASE_URL and ASSAY_LLM_MODEL "
                "(and ASSAY_LLM_API_KEY if the server wants one), or use --proposer search"
            )
        return LLMProposer(llm)
    raise ConfigError(f"--proposer {name!r}: choose search or llm")

"""`assay discover activation | preprocessing | regularizer | list`: generate, validate,
rank and evaluate new model components; winners go to the registry."""

from __future__ import annotations

import re
from typing import Any

import typer

from assay.cli._render import fmt, stderr, stdout, use_store
from assay.errors import ConfigError

app = typer.Typer(
    help="Discover new model components (activations, preprocessing, regularizers).",
    no_args_is_help=True,
)
_UNITS = {"s": 1, "m": 60, "h": 3600}


def parse_budget(text: str) -> float:
    """'90', '90s', '30m' or '1h' as seconds."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smh]?)\s*", text)
    if match is None:
        raise ConfigError(f"--budget {text!r}: give seconds or a duration such as 90s, 30m, 1h.")
    return float(match.group(1)) * _UNITS[match.group(2) or "s"]


def _run(kind: str, budget: str, generator: str, resume: str | None, batch: int, top_k: int,
         workers: int, seed: int, datasets: str | None, cluster: str | None,
         store: str | None) -> None:  # fmt: skip
    from assay.discover import discover
    from assay.discover._suite import load_suite

    use_store(store)
    options: dict[str, Any] = {"batch_size": batch, "top_k": top_k, "n_workers": workers}
    if datasets and not resume:
        options["suite"] = load_suite(tuple(d.strip() for d in datasets.split(",") if d.strip()))

    def show(line) -> None:
        reward = "" if line.evaluation is None else f" reward {fmt(line.reward, 3)}"
        reason = f" ({line.reason})" if line.reason else ""
        stderr.print(
            f"[{line.seq:4d}] {line.status:9s} {line.hypothesis.description[:60]}{reward}{reason}"
        )

    result = discover(
        kind,
        parse_budget(budget),
        generator=generator,
        run_id=resume,
        random_state=seed,
        cluster=cluster,
        on_line=show,
        **options,
    )
    _print_result(result)


def _print_result(result) -> None:
    primary = result.primary
    counts = ", ".join(f"{n} {status}" for status, n in sorted(result.counts.items()))
    stdout.print(f"Run {result.run_id} ({result.kind.value}): {counts}")
    n_pairs = len(result.leaderboard[0].evaluation.scores) if result.leaderboard else 0
    stdout.print(
        f"Leaderboard (win rates over {n_pairs} dataset x seed pairs; p: one-sided sign test "
        f"vs {primary}):"
    )
    for rank, line in enumerate(result.leaderboard[:10], start=1):
        ev = line.evaluation
        rates = " ".join(f"{name} {fmt(rate, 2)}" for name, rate in ev.win_rates.items())
        stdout.print(
            f"{rank:2d}. {line.hypothesis.id} [{line.hypothesis.origin}] reward "
            f"{fmt(line.reward, 3)} | {rates} | p {fmt(ev.p_values.get(primary), 3)}"
        )
        fresh = result.confirmed.get(line.hypothesis.id)
        if fresh is not None:
            rates = " ".join(f"{name} {fmt(rate, 2)}" for name, rate in fresh.win_rates.items())
            stdout.print(f"      on fresh seeds: {rates} | p {fmt(fresh.p_values.get(primary), 3)}")
        for code_line in line.hypothesis.code.strip().splitlines():
            stdout.print(f"      {code_line}")
    c = result.correlations
    stdout.print(
        f"Reward model, held out ({c.get('n', 0)} evaluated): Kendall tau "
        f"{fmt(c.get('kendall_tau'), 3)}, Spearman {fmt(c.get('spearman'), 3)}, Pearson "
        f"{fmt(c.get('pearson'), 3)}"
    )
    stdout.print(
        f"Reward collapse (mean pairwise similarity of the top-k): {fmt(result.collapse_top_k, 3)}"
    )
    if result.swish:
        stdout.print(
            f"Best vs Swish on [-5, 5]: RMS gap {fmt(result.swish['rms'], 3)}, correlation "
            f"{fmt(result.swish['correlation'], 3)}"
        )
    if result.registered:
        refs = ", ".join(f"discovered:{i}" for i in result.registered)
        example = f'activation="discovered:{result.registered[0]}"'
        stdout.print(
            f"Registered: {refs} (use in assay's MLP as {example}, after `import assay.discover`)"
        )
    stdout.print(f"Resume with: assay discover {result.kind.value} --resume {result.run_id}")


def _command(kind: str):
    def command(
        budget: str = typer.Option("30m", "--budget", help="Time to spend: 90s, 30m, 1h."),
        generator: str = typer.Option("grammar", "--generator", help="grammar (no LLM) or llm."),
        resume: str | None = typer.Option(None, "--resume", help="Run id to continue."),
        batch: int = typer.Option(16, "--batch", help="Hypotheses generated per round."),
        top_k: int = typer.Option(4, "--top-k", help="Of each batch, how many to evaluate."),
        workers: int = typer.Option(2, "--workers", help="Evaluations at once."),
        seed: int = typer.Option(0, "--seed", help="Random state of the generator."),
        datasets: str | None = typer.Option(
            None, "--datasets", help="Comma-separated suite (default: sklearn's + manifest's)."
        ),
        cluster: str | None = typer.Option(
            None, "--cluster", help="Evaluate on Dask: local:N here, or tcp://HOST:8786."
        ),
        store: str | None = typer.Option(None, "--store", help="Store URL (default ASSAY_STORE)."),
    ) -> None:
        _run(kind, budget, generator, resume, batch, top_k, workers, seed, datasets, cluster,
             store)  # fmt: skip

    command.__doc__ = f"Discover {kind} components within --budget."
    return command


for _kind in ("activation", "preprocessing", "regularizer"):
    app.command(_kind)(_command(_kind))


@app.command("list")
def list_registered(
    kind: str | None = typer.Option(None, "--kind", help="activation, preprocessing, ..."),
) -> None:
    """The registry of discovered components, best first."""
    from assay.discover._registry import list_components, registry_dir

    entries = list_components(kind)
    if not entries:
        stdout.print(f"No discovered components in {registry_dir()} yet.")
    for entry in entries:
        rates = " ".join(f"{k} {fmt(v, 2)}" for k, v in (entry.get("win_rates") or {}).items())
        reward = fmt(entry.get("reward"), 3)
        stdout.print(f"discovered:{entry['id']} ({entry['kind']}) reward {reward} | {rates}")
        stdout.print(f"    {entry['description']}")

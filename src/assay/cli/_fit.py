"""`assay fit`: train under a time budget with a live progress display, then save."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any, Literal, Optional

import typer

from assay._fit_settings import FitSettings
from assay.automl._progress import ProgressDisplay
from assay.cli._render import fmt, print_leaderboard, stderr, stdout, styled, use_store


def fit(
    data: str | None = typer.Argument(
        None,
        help="CSV/TSV/Parquet/ARFF file, builtin:NAME, or a folder of images or sound with one "
        "subfolder per class (not needed with --resume).",
    ),
    target: str | None = typer.Option(
        None, "--target", "-t", help="Column to predict (default for a folder: its subfolders)."
    ),
    out: Path | None = typer.Option(None, "--out", "-o", help="Folder for the predictor."),
    pair: tuple[str, str] | None = typer.Option(
        None, "--pair", help="Two text columns to compare as a pair, e.g. --pair q1 q2."
    ),
    groups: str | None = typer.Option(
        None,
        "--groups",
        help="A column whose rows stay in one fold (a person, a speaker, a customer); "
        "it is not a feature.",
    ),
    weight: str | None = typer.Option(
        None,
        "--weight",
        help="A column of row weights (numbers >= 0): how much each row counts in training, "
        "the metric and the ensemble; it is not a feature.",
    ),
    image: list[str] | None = typer.Option(
        None, "--image", help="A column of image file paths, where it is not detected."
    ),
    audio: list[str] | None = typer.Option(
        None, "--audio", help="A column of sound file paths, where it is not detected."
    ),
    report: bool = typer.Option(
        False, "--report", help="Write an HTML report at the end (report.html in the run folder)."
    ),
    resume: str | None = typer.Option(
        None,
        "--resume",
        help="Continue a killed fit (its run id) from its finished trials; --time, --jobs, "
        "--memory and --cluster may change, the other options are the run's own.",
    ),
    store: str | None = typer.Option(
        None, "--store", help="Store URL (sqlite:///..., postgresql://...); default ASSAY_STORE."
    ),
    **options: Any,
) -> None:
    """Fit models on DATA to predict TARGET; print the leaderboard and save the predictor."""
    from assay.automl import AutoML

    use_store(store)
    if resume is None and (data is None or (target is None and not _is_media_folder(data))):
        import click

        raise click.UsageError(
            "give DATA and --target COLUMN (or a folder of images or sound with one subfolder "
            "per class), or --resume RUN_ID to continue a fit."
        )
    media = {**dict.fromkeys(image or [], "image"), **dict.fromkeys(audio or [], "audio")}
    given = _settings_given(options)
    if _verbose():
        given["verbosity"] = 2  # each trial logged, as --verbose says
    automl = AutoML(**given)
    timed = resume is None and automl.effective_time_limit_s() != float("inf")
    limit_s = automl.effective_time_limit_s() if timed else float("inf")
    with ProgressDisplay(limit_s, automl.n_trials, console=stderr) as show:
        if resume is not None:
            automl = AutoML.resume(resume, data, callback=show, **given)
        else:
            automl.fit(
                data,
                target=target,
                text_pairs=[pair] if pair else None,
                feature_types=media or None,
                groups=groups,
                sample_weight=weight,
                callback=show,
            )
    _summary(automl, out, automl.effective_time_limit_s(), report)


def _verbose() -> bool:
    from assay.cli import _state

    return bool(_state["verbose"])


def _is_media_folder(data: str) -> bool:
    from assay.data._media import is_media_folder

    return is_media_folder(Path(data).expanduser())


def _settings_given(options: dict[str, Any]) -> dict[str, Any]:
    """The fit options given on the command line, as AutoML's keyword arguments."""
    given = {}
    for name, option in FitSettings.options().items():
        value = options.get(name)
        if option.flag is not None and value is not None:
            given[name] = option.from_cli(value) if option.from_cli else value
    return given


def _signature() -> inspect.Signature:
    """fit's own parameters, then one command-line option per FitSettings field that has
    a flag (typer reads the signature)."""
    own = [p for p in inspect.signature(fit).parameters.values() if p.kind is not p.VAR_KEYWORD]
    generated = []
    for name, option in FitSettings.options().items():
        if option.flag is None:
            continue
        kind = Literal[option.choices] if option.choices else option.cli_type  # type: ignore[valid-type]
        generated.append(
            inspect.Parameter(
                name,
                inspect.Parameter.KEYWORD_ONLY,
                default=typer.Option(None, _declared(option.flag, kind), help=option.help),
                annotation=Optional[kind],  # noqa: UP045 (a runtime type for typer)
            )
        )
    return inspect.Signature([*own, *generated])


def _declared(flag: str, kind: Any) -> str:
    """A yes/no option is a pair of flags (--mlflow / --no-mlflow), not --mlflow true."""
    return f"{flag}/--no-{flag[2:]}" if kind is bool else flag


fit.__signature__ = _signature()  # type: ignore[attr-defined]


def _summary(automl, out: Path | None, limit_s: float, report: bool) -> None:
    """Save where asked, then print the leaderboard, the scores and how to predict."""
    from assay.config import settings

    predictor = automl.predictor_
    recorded = automl.artifact_dir_  # the run folder's copy, saved by the fit
    if recorded is None:
        saved = _save(automl, out or settings().home / (automl.run_id_ or "last") / "predictor")
    elif out is not None:
        saved = _share(automl, Path(recorded), out)
    else:
        saved = recorded
    print_leaderboard(predictor, f"Leaderboard ({predictor.metric}, out-of-fold)")
    timed = limit_s != float("inf")
    stdout.print(
        f"task {predictor.task.value} | ensemble {predictor.metric} "
        f"{fmt(predictor.info['ensemble_score'])} | fit {automl.fit_time_s_:.1f}s"
        + (f" of {limit_s:g}s" if timed else f" ({predictor.info['n_trials']} trials)")
        + (
            f" | deployed fast: {predictor.info['n_refit']} members refitted on all rows"
            if predictor.info.get("deploy") == "fast"
            else ""
        )
        + f" | run {automl.run_id_ or '-'}"
    )
    if predictor.info.get("validation"):
        stdout.print(f"validation: {predictor.info['validation']}")
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
        stderr.print(styled("warning:", "yellow", f" {warning}"))
    stdout.print(f"Predictor saved to {saved}")
    stdout.print(f"Predict with: assay predict {saved} DATA --out predictions.csv")
    if report:
        from assay.cli._report import write
        from assay.report import gather_inputs

        inputs = gather_inputs(saved, predictor=predictor)
        stdout.print(f"Report written to {write(inputs, None, saved.parent / 'report.html')}")


def _share(automl, recorded: Path, out: Path) -> Path:
    """--out for a recorded run: the run's predictor at `out` too, as hard links to the same
    files (one copy on disk, and both folders load), recorded as where the run's predictor
    is. On a full disk (a copy across file systems) the run's own copy stays the predictor."""
    from assay.automl._diskfull import disk_full
    from assay.automl._run import link_predictor

    try:
        saved = link_predictor(recorded, out)
    except Exception as exc:
        from assay.automl._manifest import MANIFEST

        kept = " (the predictor already there is unchanged)" if (out / MANIFEST).is_file() else ""
        todo = (
            f"The predictor was not saved to {out}{kept}: free space or pick another --out. "
            f"The run's predictor is in {recorded} (`assay predict {automl.run_id_} ...` uses "
            f"it); copy it to {out} once there is room."
        )
        full = disk_full(exc, out.parent, todo)
        if full is None:
            raise
        raise full from exc
    automl._book.saved_elsewhere(saved)  # as AutoML.save records it
    automl.artifact_dir_ = saved
    return saved


def _save(automl, out: Path) -> Path:
    """Save the predictor of a fit that recorded no run. On a full disk: a DiskFullError
    naming the folder."""
    from assay.automl._diskfull import disk_full
    from assay.errors import DiskFullError

    try:
        return automl.save(out)
    except Exception as exc:
        kept = (
            " (the predictor already there is unchanged)"
            if (out / "manifest.json").is_file()
            else ""
        )
        todo = f"The predictor was not saved to {out}{kept}: free space or pick another --out, "
        todo += "then fit again."
        if isinstance(exc, DiskFullError):  # it already says where and that nothing changed
            todo = "Free space or pick another --out, then fit again."
        full = disk_full(exc, out.parent, todo)
        if full is None:
            raise
        raise full from exc

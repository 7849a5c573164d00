"""`assay predict`: apply a saved predictor to a data file."""

from __future__ import annotations

import sys
from pathlib import Path

import typer


def resolve_model(model: str) -> Path:
    """A predictor folder, or a run id (or prefix) whose predictor the store knows."""
    path = Path(model)
    if path.exists():
        return path
    from assay.errors import ArtifactError
    from assay.store import open_store

    run = open_store().get_run(model)
    if not run.artifact_dir:
        raise ArtifactError(f"Run {run.run_id} has no saved predictor (state {run.state.value}).")
    return Path(run.artifact_dir)


TRUST_HELP = (
    "Also load what could run code (pickles, foreign skops types, full torch unpickling, "
    "embedded discovered activations). Only for a predictor from a source you trust."
)


def trust_option():
    return typer.Option(False, "--trust", help=TRUST_HELP)


def load_model_arg(model: str, trust: bool = False):
    """The predictor MODEL names. A version mismatch is shown once, as the log's warning
    (the duplicate Python warning is silenced here)."""
    import warnings

    import assay
    from assay.errors import VersionMismatchWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", VersionMismatchWarning)
        return assay.load(resolve_model(model), trust=trust)


def predict(
    model: str = typer.Argument(..., help="Predictor folder (from assay fit --out) or run id."),
    data: str = typer.Argument(..., help="Data file with the same feature columns."),
    out: Path | None = typer.Option(None, "--out", "-o", help="CSV to write (default stdout)."),
    trust: bool = trust_option(),
) -> None:
    """Predict DATA with MODEL: id columns, `prediction`, then `proba_<class>` columns."""
    predictor = load_model_arg(model, trust)
    frame = predictor.predictions_frame(data)
    if out is None:
        frame.to_csv(sys.stdout, index=False)
    else:
        frame.to_csv(out, index=False)
        from assay.cli._render import stderr

        stderr.print(f"{len(frame)} predictions written to {out}")

"""`assay report`: one self-contained HTML file a person reads."""

from __future__ import annotations

from pathlib import Path

import typer

from assay.cli._predict import trust_option
from assay.cli._render import stderr, stdout


def default_report_path(inputs, fallback: Path) -> Path:
    """The run's folder when there is one, so the report sits beside its trials."""
    return inputs.run_dir / "report.html" if inputs.run_dir is not None else fallback


def write(inputs, out: Path | None, fallback: Path) -> Path:
    from assay.report import write_report

    path = out or default_report_path(inputs, fallback)
    with stderr.status("writing the report (importance, SHAP, partial dependence)"):
        return write_report(path, inputs)


def report(
    model: str = typer.Argument(..., help="Predictor folder (from assay fit --out) or run id."),
    data: str | None = typer.Option(
        None, "--data", help="Held-out rows with the target: curves and importance on them."
    ),
    glm: bool = typer.Option(False, "--glm", help="Add a GLM table (as assay stats)."),
    out: Path | None = typer.Option(
        None, "--out", "-o", help="HTML file to write (default: report.html in the run folder)."
    ),
    trust: bool = trust_option(),
) -> None:
    """Write an HTML report of MODEL: data, leaderboard with significance, search, ensemble,
    ROC/PR or residuals, confusion matrix, importance, SHAP, partial dependence."""
    from assay.report import gather_inputs

    inputs = gather_inputs(model, data, glm=glm, trust=trust)
    path = write(inputs, out, Path("report.html"))
    stdout.print(f"Report written to {path}")

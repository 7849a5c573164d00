"""`assay serve` (a prediction service) and `assay export` (MLflow, ONNX)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import typer

from assay.cli._predict import resolve_model, trust_option


def serve(
    model: str = typer.Argument(..., help="Predictor folder (from assay fit --out) or run id."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8000, "--port", help="Port to listen on."),
    workers: int = typer.Option(1, "--workers", min=1, help="Worker processes (uvicorn)."),
    log_level: str = typer.Option("info", "--log-level", help="uvicorn's log level."),
    trust: bool = trust_option(),
) -> None:
    """Serve MODEL over HTTP: POST /predict; GET /schema, /health, /metrics (Prometheus),
    /stats, /docs."""
    try:
        import fastapi  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as exc:
        from assay.errors import ConfigError

        raise ConfigError(
            "assay serve needs the `serve` extra: pip install 'assay[serve]'."
        ) from exc
    from assay.serve import run_service

    run_service(resolve_model(model), host=host, port=port, n_workers=workers, trust=trust,
                log_level=log_level)  # fmt: skip


def export(
    model: str = typer.Argument(..., help="Predictor folder (from assay fit --out) or run id."),
    fmt: Literal["mlflow", "onnx"] = typer.Option(
        ..., "--format", "-f", help="mlflow (a pyfunc model) or onnx."
    ),
    out: Path = typer.Option(..., "--out", "-o", help="Folder (mlflow) or .onnx file to write."),
    check: Path | None = typer.Option(
        None,
        "--check",
        help="Data file to check the export on (default: rows drawn from "
        "what the predictor learned).",
    ),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace OUT if it exists."),
    trust: bool = trust_option(),
) -> None:
    """Export MODEL for other serving tools; the export must predict what assay predicts."""
    from assay.cli._render import stderr
    from assay.serve._export import export_predictor

    rows = None
    if check is not None:
        from assay.data import read_table

        rows = read_table(check)
    done = export_predictor(resolve_model(model), out, fmt, check_rows=rows, trust=trust,
                            overwrite=overwrite)  # fmt: skip
    stderr.print(
        f"{done.format} model written to {done.path}; checked on {done.n_rows_checked} rows: "
        f"largest difference from assay's predictions {done.max_abs_diff:.2g}"
    )

"""A fit logged to MLflow (extra `mlflow`), as FLAML logs its own: when an MLflow run is
active in the process, or with `mlflow=True` (which starts a run when none is active and
ends it after), the fit's settings go in as params, its scores and times as metrics, the
leaderboard as `leaderboard.csv`, and the predictor as an MLflow pyfunc model named `model`
(the predictor's files inside it, assay as its requirement), which
`mlflow.pyfunc.load_model("runs:/<run id>/model")` loads. `mlflow=False` never logs.

With `mlflow=None` (the default) MLflow is not even imported: an active run means the
application imported it already."""

from __future__ import annotations

import json
import math
import sys
import tempfile
from pathlib import Path
from typing import Any, cast

from assay.errors import ConfigError

MODEL_NAME = "model"


def wants_mlflow(option: bool | None) -> bool:
    """Whether this fit logs to MLflow."""
    if option is None:
        mlflow = sys.modules.get("mlflow")
        return mlflow is not None and mlflow.active_run() is not None
    if option:
        try:
            import mlflow
        except ImportError as exc:
            raise ConfigError(
                "mlflow=True (--mlflow) needs the `mlflow` extra: pip install 'assay[mlflow]'."
            ) from exc
    return bool(option)


def _param(value: Any) -> str:
    """A setting as an MLflow param (strings of at most 6,000 characters)."""
    if value is None or isinstance(value, str | int | float | bool):
        return str(value)
    return json.dumps(value, default=str)[:6000]


def log_fit(automl: Any, settings: dict[str, Any]) -> str:
    """Log the fitted `automl` (with its `settings`) to the active MLflow run, or to a new
    one; returns the MLflow run id."""
    import mlflow

    from assay.automl._pyfunc import AssayPyfunc, assay_version

    predictor = automl.predictor_
    started_here = mlflow.active_run() is None
    name = f"assay {automl.run_id_ or ''}".strip()
    run = mlflow.start_run(run_name=name) if started_here else cast(Any, mlflow.active_run())
    try:
        params = {f"assay.{name}": _param(value) for name, value in settings.items()}
        params.update({"assay.task": predictor.task.value, "assay.target": predictor.target})
        params["assay.run_id"] = str(automl.run_id_)
        mlflow.log_params(params)
        metrics = {
            f"ensemble_{predictor.metric}": predictor.info.get("ensemble_score"),
            "fit_time_s": automl.fit_time_s_,
            "n_trials": predictor.info.get("n_trials"),
        }
        board = predictor.leaderboard()
        mlflow.log_metrics(
            {k: float(v) for k, v in metrics.items() if v is not None and math.isfinite(v)}
        )
        mlflow.log_text(board.to_csv(index=False), "leaderboard.csv")
        with tempfile.TemporaryDirectory(prefix="assay-mlflow-") as folder:
            saved = predictor.save(Path(folder) / "predictor")
            mlflow.pyfunc.log_model(
                name=MODEL_NAME,
                python_model=AssayPyfunc(),
                artifacts={"predictor": str(saved)},
                pip_requirements=[f"assay=={assay_version()}"],
            )
        return str(run.info.run_id)
    finally:
        if started_here:
            mlflow.end_run()

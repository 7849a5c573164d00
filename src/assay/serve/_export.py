"""Exports of a saved predictor to formats other serving tools read: an MLflow pyfunc model
(the predictor inside, assay declared as its requirement) and a single ONNX graph
(assay.serve._onnx).
Each export is checked before it is kept: it must predict what assay predicts on rows drawn
from what the predictor learned (or on rows the user gives)."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from assay._types import FeatureType
from assay.automl import Predictor
from assay.errors import ConfigError, ExportError

FORMATS = ("mlflow", "onnx")


@dataclass(frozen=True)
class Exported:
    format: str
    path: Path
    n_rows_checked: int
    max_abs_diff: float


def probe_rows(predictor: Predictor, n_rows: int = 200, random_state: int = 0) -> pd.DataFrame:
    """Rows like the training rows, from what the encoders learned: numbers around each
    column's mean (a tenth missing), known categories plus an unseen one and missing ones,
    dates around the training dates, a few words of text."""
    rng = np.random.default_rng(random_state)
    stats: dict[str, tuple[float, float]] = {}
    categories: dict[str, list] = {}
    for member in predictor.members:
        for encoder in member.encoders[:1]:
            numeric = encoder.numeric_
            for name, mean, std in zip(numeric["names"], numeric["means"], numeric["stds"],
                                       strict=True):  # fmt: skip
                stats.setdefault(name, (mean, std))
            for name, spec in encoder.state_.items():
                if spec["kind"] == "cat":
                    categories.setdefault(name, spec["categories"])
    columns: dict[str, object] = {}
    for name in predictor.schema.features:
        ftype, dtype = predictor.schema[name].type, predictor.schema[name].dtype.lower()
        numeric_dtype = dtype.startswith(("int", "uint", "float"))
        if ftype is FeatureType.CATEGORICAL:
            known = categories.get(name, ["a"])
            if numeric_dtype:  # categories learned from numbers: send numbers, as users do
                pool = [*pd.to_numeric(pd.Series(known), errors="coerce"), -999.0, np.nan]
                columns[name] = rng.choice(np.array(pool, dtype=float), n_rows)
            else:
                pool = [*known, "__unseen__", None]
                columns[name] = pd.Series(rng.choice(np.array(pool, dtype=object), n_rows))
        elif ftype is FeatureType.DATETIME:
            mean, std = stats.get(f"{name}__days", (19000.0, 365.0))
            days = rng.normal(mean, max(std, 1.0), n_rows)
            stamps = pd.Timestamp("1970-01-01") + pd.to_timedelta(days, unit="D")
            columns[name] = stamps.astype(str)
        elif ftype is FeatureType.TEXT:
            words = np.array(["good", "bad", "price", "service", "fast", "slow", "the", "a"])
            columns[name] = [
                " ".join(rng.choice(words, rng.integers(1, 12))) for _ in range(n_rows)
            ]
        elif ftype is FeatureType.BOOLEAN and dtype.startswith("bool"):
            columns[name] = rng.choice(np.array([True, False]), n_rows)
        elif ftype is FeatureType.BOOLEAN:
            columns[name] = rng.choice(np.array([0.0, 1.0, np.nan]), n_rows)
        else:
            mean, std = stats.get(name, (0.0, 1.0))
            values = rng.normal(mean, std, n_rows)
            values[rng.random(n_rows) < 0.1] = np.nan
            columns[name] = values
    return pd.DataFrame(columns)


def export_predictor(
    model_path: str | Path,
    out: str | Path,
    fmt: str,
    *,
    check_rows: pd.DataFrame | None = None,
    trust: bool = False,
    overwrite: bool = False,
) -> Exported:
    """Write the predictor at `model_path` to `out` in `fmt`, checked for agreement."""
    import assay

    if fmt not in FORMATS:
        raise ConfigError(f"--format {fmt!r}: choose one of {', '.join(FORMATS)}.")
    out = Path(out).expanduser()
    if out.exists() and not overwrite:
        raise ExportError(f"{out} exists: choose another --out, or pass --overwrite.")
    predictor = assay.load(model_path, trust=trust)
    rows = probe_rows(predictor) if check_rows is None else check_rows
    if fmt == "onnx":
        from assay.serve._onnx import export_onnx

        report = export_onnx(predictor, out, check_rows=rows)
        return Exported(fmt, Path(report.path), report.n_rows_checked, report.max_abs_diff)
    return _export_mlflow(Path(model_path), predictor, out, rows, trust=trust)


def _export_mlflow(
    model_path: Path, predictor: Predictor, out: Path, rows: pd.DataFrame, *, trust: bool
) -> Exported:
    try:
        import mlflow.pyfunc
        from mlflow.models import infer_signature
    except ImportError as exc:
        raise ConfigError(
            "--format mlflow needs the `mlflow` extra: pip install 'assay[mlflow]'."
        ) from exc
    from assay.automl._pyfunc import AssayPyfunc, assay_version

    expected = predictor.predictions_frame(rows)
    staging = Path(tempfile.mkdtemp(prefix=".assay-export-", dir=out.parent))
    try:
        target = staging / "model"
        mlflow.pyfunc.save_model(
            path=str(target),
            python_model=AssayPyfunc(),
            artifacts={"predictor": str(Path(model_path).resolve())},
            # No copy of assay's code (code_paths): loading the model would put it first on
            # sys.path, so later imports, and processes started after, got that old copy.
            pip_requirements=[f"assay=={assay_version()}"],
            signature=infer_signature(rows, expected),
            input_example=rows.head(3),
            model_config={"trust": trust},
        )
        loaded = mlflow.pyfunc.load_model(str(target)).predict(rows)
        diff = _max_abs_diff(expected, loaded)
        if diff > 1e-9:
            raise ExportError(
                f"The MLflow model predicts differently from assay (max difference {diff:.3g}); "
                "nothing was written. Report this with the predictor."
            )
        if out.exists():
            shutil.rmtree(out)
        target.rename(out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return Exported("mlflow", out, len(rows), diff)


def _max_abs_diff(expected: pd.DataFrame, got: pd.DataFrame) -> float:
    if list(got.columns) != list(expected.columns) or len(got) != len(expected):
        return float("inf")
    worst = 0.0
    for name in expected.columns:
        a, b = expected[name], got[name]
        if pd.api.types.is_float_dtype(a):
            worst = max(worst, float(np.nanmax(np.abs(a.to_numpy() - b.to_numpy()), initial=0)))
        elif not (a.astype(str).to_numpy() == b.astype(str).to_numpy()).all():
            return float("inf")
    return worst

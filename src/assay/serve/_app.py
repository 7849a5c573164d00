"""The prediction service: a FastAPI app around one loaded Predictor.

`POST /predict` takes JSON records or a CSV body and predicts the whole batch in one call;
a predictor of an image or sound column takes the files as multipart/form-data uploads
(one row per file);
`GET /schema`, `/health`, `/metrics` (Prometheus) and `/stats` (JSON) describe the model
and the service. Requests are
checked against the schema first (assay.serve._records): a refusal is a 4xx whose `detail`
names the column, never a 500. Predictions run one batch at a time per process (the models
use every core for a batch), in a worker thread so /health answers while a batch runs."""

import math
import os
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from assay.automl import Predictor
from assay.errors import AssayError, RequestError
from assay.log import get_logger
from assay.serve._metrics import MULTIPROCESS_ENV, PrometheusMetrics, ServiceMetrics
from assay.serve._records import (
    Rows,
    media_columns,
    record_schema,
    rows_from_csv,
    rows_from_files,
    rows_from_json,
)

logger = get_logger(__name__)
MAX_BODY_BYTES = 256 * 1024 * 1024
_ERROR = {"description": "Refused; `detail` says why and names the column",
          "content": {"application/json": {"schema": {
              "type": "object", "properties": {"detail": {"type": "string"}},
              "required": ["detail"]}}}}  # fmt: skip


def create_app(predictor: Predictor, *, model_path: str | Path | None = None):
    """The service for `predictor` (model_path is only reported by /health)."""
    from fastapi import FastAPI, Query, Request
    from fastapi.concurrency import run_in_threadpool
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse, PlainTextResponse

    metrics, prometheus = ServiceMetrics(), PrometheusMetrics()
    lock = threading.Lock()
    schema = predictor.schema
    classes = None if predictor.classes is None else [_plain(c) for c in predictor.classes]
    app = FastAPI(
        title="assay prediction service",
        version=_version(),
        description=f"Predicts '{predictor.target}' ({predictor.task.value}) with an assay "
        "predictor. GET /schema lists the columns each record needs.",
    )

    @app.exception_handler(RequestValidationError)
    async def _one_line(request: Request, exc: RequestValidationError):
        """FastAPI's own checks (query parameters) answered like ours: one `detail` line
        naming the parameter."""
        parts = []
        for error in exc.errors():
            where = " ".join(str(p) for p in error.get("loc", ()))
            parts.append(f"{where}: {error.get('msg', 'invalid')} (got {error.get('input')!r})")
        return JSONResponse({"detail": "; ".join(parts)}, status_code=422)

    @app.middleware("http")
    async def _measure(request: Request, call_next):
        started = time.perf_counter()
        response = await call_next(request)
        route = request.scope.get("route")
        path = getattr(route, "path", "unmatched")
        took_s = time.perf_counter() - started
        metrics.observe(path, response.status_code, took_s)
        prometheus.observe(path, response.status_code, took_s)
        return response

    def predict_rows(rows: Rows, proba: bool) -> dict[str, Any]:
        with lock:
            if predictor.task.is_classification:
                table = predictor.predict_proba(rows.frame).to_numpy(dtype=float)
                labels = predictor.classes_[np.argmax(table, axis=1)] if len(table) else []
            else:
                table, labels = None, predictor.predict(rows.frame)
        metrics.add_rows(len(rows.frame))
        prometheus.add_rows(len(rows.frame))
        answer: dict[str, Any] = {
            "n_rows": len(rows.frame),
            "predictions": [_plain(v) for v in labels],
            "ignored_columns": rows.ignored,
        }
        if proba and table is not None:
            answer["classes"] = classes
            answer["probabilities"] = [[_plain(p) for p in row] for row in table]
        return answer

    async def predict_uploads(request: Request, proba: bool) -> dict[str, Any]:
        """One row per uploaded file, saved to a folder removed after the prediction (a
        file's name is never used as a path: only its extension is kept)."""
        import tempfile

        form = await request.form()
        uploads = [v for _, v in form.multi_items() if not isinstance(v, str)]
        fields = {k: v for k, v in form.multi_items() if isinstance(v, str)}
        names = [str(u.filename or "") for u in uploads]
        with tempfile.TemporaryDirectory(prefix="assay-upload-") as folder:
            paths = []
            for i, (upload, name) in enumerate(zip(uploads, names, strict=True)):
                path = Path(folder) / f"{i}{Path(name).suffix.lower()}"
                path.write_bytes(await upload.read())
                paths.append(str(path))
            rows = rows_from_files(paths, names, fields, schema)
            answer = await run_in_threadpool(predict_rows, rows, proba)
        return {"files": names, **answer}

    body_doc = {
        "required": True,
        "content": {
            "application/json": {"schema": {"type": "array", "items": record_schema(schema)}},
            "text/csv": {"schema": {"type": "string"}},
        },
    }
    if media_columns(schema):  # files come as uploads, one row per file
        files = {"type": "array", "items": {"type": "string", "format": "binary"}}
        upload = {"type": "object", "properties": {"file": files}}
        body_doc["content"] = {"multipart/form-data": {"schema": upload}}

    @app.post(
        "/predict",
        summary="Predict a batch of rows",
        openapi_extra={"requestBody": body_doc},
        responses={400: _ERROR, 413: _ERROR, 415: _ERROR, 422: _ERROR},
        response_model=dict[str, Any],  # the answer; errors come back as JSONResponse
    )
    async def predict(
        request: Request,
        proba: bool = Query(False, description="Also return class probabilities."),
    ) -> dict[str, Any] | JSONResponse:
        """JSON records (a list, or {"records": [...]}), CSV with a header line, or files
        uploaded as multipart/form-data (image and sound predictors). Columns
        the model does not use are ignored and listed in `ignored_columns`."""
        try:
            kind = request.headers.get("content-type", "application/json").split(";")[0]
            kind = kind.strip().lower()
            if kind not in ("application/json", "text/csv", "multipart/form-data"):
                raise RequestError(415, f"Content-Type {kind!r} is not taken: send "
                                        "application/json or text/csv (files of images or "
                                        "sound: multipart/form-data).")  # fmt: skip
            if int(request.headers.get("content-length") or 0) > MAX_BODY_BYTES:
                raise RequestError(413, f"The body is over {MAX_BODY_BYTES >> 20} MB; split "
                                        "the batch.")  # fmt: skip
            if kind == "multipart/form-data":
                return await predict_uploads(request, proba)
            body = await request.body()
            reader = rows_from_csv if kind == "text/csv" else rows_from_json
            rows = reader(body, schema)
            return await run_in_threadpool(predict_rows, rows, proba)
        except RequestError as exc:
            return JSONResponse({"detail": exc.message}, status_code=exc.status)
        except AssayError as exc:  # the predictor's own checks of the rows
            return JSONResponse({"detail": str(exc)}, status_code=422)

    @app.get("/schema", summary="The columns each record needs")
    def get_schema() -> dict[str, Any]:
        return {
            "task": predictor.task.value,
            "target": predictor.target,
            "classes": classes,
            "features": [
                {"name": name, "type": schema[name].type.value, "dtype": schema[name].dtype}
                for name in schema.features
            ],
            "not_used": schema.dropped,
            "record": record_schema(schema),
        }

    @app.get("/health", summary="Liveness, and which model is loaded")
    def health() -> dict[str, Any]:
        return {
            "status": "ok",
            "model": None if model_path is None else str(model_path),
            "task": predictor.task.value,
            "members": [m.model for m in predictor.members if m.weight > 0],
            "pid": os.getpid(),
        }

    @app.get(
        "/metrics",
        summary="Prometheus metrics: requests, latency histogram, rows (all workers)",
        response_class=PlainTextResponse,
    )
    def get_metrics() -> PlainTextResponse:
        body, content_type = prometheus.exposition()
        return PlainTextResponse(body, media_type=content_type)

    @app.get("/stats", summary="This worker's requests by route and status, latency percentiles")
    def get_stats() -> dict[str, Any]:
        return metrics.snapshot()

    return app


def _plain(value: Any) -> Any:
    """A JSON-safe scalar: numpy types unwrapped, non-finite floats as null."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _version() -> str:
    from assay._version import __version__

    return __version__


MODEL_ENV, TRUST_ENV = "ASSAY_SERVE_MODEL", "ASSAY_SERVE_TRUST"


def app_from_env():
    """The app uvicorn builds in each worker process (`--workers N` imports it by name)."""
    import assay

    path = os.environ[MODEL_ENV]
    return create_app(assay.load(path, trust=os.environ.get(TRUST_ENV) == "1"), model_path=path)


def _shared_metrics_folder() -> None:
    """An empty folder for the workers' Prometheus values (set in the environment the
    workers inherit), removed when the service ends."""
    import atexit
    import shutil
    import tempfile

    folder = tempfile.mkdtemp(prefix="assay-metrics-")
    os.environ[MULTIPROCESS_ENV] = folder
    atexit.register(shutil.rmtree, folder, ignore_errors=True)


def run_service(
    model_path: str | Path,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    n_workers: int = 1,
    trust: bool = False,
    log_level: str = "info",
) -> None:
    """Serve until interrupted. The predictor is loaded here first, so a bad path or an
    untrusted artifact fails before the port opens."""
    import uvicorn

    import assay

    path = str(Path(model_path).expanduser().resolve())
    predictor = assay.load(path, trust=trust)
    if n_workers > 1:
        os.environ[MODEL_ENV], os.environ[TRUST_ENV] = path, "1" if trust else "0"
        _shared_metrics_folder()
        target: Any = f"{__name__}:app_from_env"
        uvicorn.run(target, factory=True, host=host, port=port, workers=n_workers,
                    log_level=log_level)  # fmt: skip
    else:
        app = create_app(predictor, model_path=path)
        uvicorn.run(app, host=host, port=port, log_level=log_level)

"""Deployment: a prediction service (FastAPI on uvicorn, extra `serve`) and exports of a
predictor to the formats serving tools read (MLflow pyfunc, ONNX)."""

from assay.serve._app import create_app, run_service

__all__ = ["create_app", "run_service"]

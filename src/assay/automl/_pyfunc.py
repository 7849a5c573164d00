"""The MLflow pyfunc wrapper of a predictor (an export, or a fit logged to MLflow). MLflow
imports it from the installed assay, which the model declares as its requirement
(`assay==<version>`): no copy of assay's code travels with the model, since MLflow would put
it ahead of the installed package on sys.path and every later import of assay, and every
process started after, would get it."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlflow.pyfunc import PythonModel
else:
    try:
        from mlflow.pyfunc import PythonModel
    except ImportError:  # only MLflow (an export, a logged fit, a load) uses this module
        PythonModel = object


class AssayPyfunc(PythonModel):
    """predict(frame) -> the predictions-file layout: id columns, `prediction`, then one
    `proba_<class>` column per class."""

    def load_context(self, context) -> None:
        from assay.automl._predictor import Predictor

        trust = bool((context.model_config or {}).get("trust", False))
        self.predictor = Predictor.load(context.artifacts["predictor"], trust=trust)

    def predict(self, context, model_input, params=None):
        return self.predictor.predictions_frame(model_input)


def assay_version() -> str:
    """The installed assay's version, which a pyfunc model requires."""
    import importlib.metadata

    try:
        return importlib.metadata.version("assay")
    except importlib.metadata.PackageNotFoundError:  # run from a source tree, not installed
        from assay._version import __version__

        return __version__

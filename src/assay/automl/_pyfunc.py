"""The MLflow pyfunc wrapper of an exported predictor. MLflow imports it from the installed
assay, which the model declares as its requirement (`assay==<version>`): no copy of assay's
code travels with the model, since MLflow would put it ahead of the installed package on
sys.path and every later import of assay, and every process started after, would get it."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlflow.pyfunc import PythonModel
else:
    try:
        from mlflow.pyfunc import PythonModel
    except ImportError:  # only an export (which needs mlflow) or an MLflow load use this module
        PythonModel = object


class AssayPyfunc(PythonModel):
    """predict(frame) -> the predictions-file layout: id columns, `prediction`, then one
    `proba_<class>` column per class."""

    def load_context(self, context) -> None:
        import assay

        trust = bool((context.model_config or {}).get("trust", False))
        self.predictor = assay.load(context.artifacts["predictor"], trust=trust)

    def predict(self, context, model_input, params=None):
        return self.predictor.predictions_frame(model_input)

"""The MLflow pyfunc wrapper of an exported predictor. MLflow imports it from the code
copied beside the model, so an exported model loads where assay's dependencies are
installed, with or without assay itself."""

from __future__ import annotations

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

"""Where MLflow models exported before the pyfunc wrapper moved to `assay.automl._pyfunc`
find it: their pickled reference names this module."""

from assay.automl._pyfunc import AssayPyfunc

__all__ = ["AssayPyfunc"]

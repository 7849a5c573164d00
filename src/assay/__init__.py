"""assay: AutoML that builds strong models on its own, then keeps researching.

Heavy modules load on first use, so `import assay` and `assay --help` stay fast."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["AutoClassifier", "AutoML", "AutoRegressor", "Predictor", "load"]

if TYPE_CHECKING:
    from assay.automl import AutoClassifier, AutoML, AutoRegressor, Predictor


def load(path) -> Predictor:
    """Load a saved predictor, verifying every file's SHA-256 first."""
    from assay.automl import Predictor

    return Predictor.load(path)


def __getattr__(name: str) -> Any:
    if name in {"AutoClassifier", "AutoML", "AutoRegressor", "Predictor"}:
        import assay.automl

        return getattr(assay.automl, name)
    raise AttributeError(f"module 'assay' has no attribute {name!r}")

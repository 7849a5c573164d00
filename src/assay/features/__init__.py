"""Feature preprocessing, fitted inside cross-validation folds."""

from assay.features._encoder import TabularEncoder

__all__ = ["TabularEncoder"]

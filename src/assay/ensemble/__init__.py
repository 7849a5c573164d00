"""Ensembles built on out-of-fold predictions."""

from assay.ensemble._caruana import CaruanaEnsemble

__all__ = ["CaruanaEnsemble"]

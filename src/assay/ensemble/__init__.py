"""Ensembles built on out-of-fold predictions, and their calibration."""

from assay.ensemble._caruana import CaruanaEnsemble
from assay.ensemble._temperature import fit_temperature, temperature_for, tempered

__all__ = ["CaruanaEnsemble", "fit_temperature", "temperature_for", "tempered"]

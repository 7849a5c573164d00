"""Temperature scaling of an ensemble's class probabilities (Guo et al., 2017), for log loss.

One number T, fitted on the ensemble's out-of-fold predictions, divides the logs of the
probabilities before they are normalised again: T above 1 softens them, below 1 sharpens
them. It never changes which class is most probable (so accuracy stays as it was), nor,
for two classes, the order of the rows by their probability (so binary AUC stays too). A
weighted mean of members is less sure than they are where they agree (the mean of 0.999
and 0.95 is 0.975), which log loss punishes on the easy rows; the members' own early
stopping can leave them too sure or not sure enough. AutoGluon calibrates the same way
when the metric is log loss.
"""

from __future__ import annotations

import numpy as np

from assay.evaluate._metrics import clipped_proba

BOUNDS = (0.25, 10.0)  # the temperatures searched
MIN_GAIN = 1e-4  # relative gain in out-of-fold log loss below which T stays 1
# The fitted log T is pulled toward 0 (T = 1) as if PRIOR_ERRORS more wrong rows had said
# T = 1: by errors / (errors + PRIOR_ERRORS), "errors" counting the rows whose most probable
# class is not their label. With no wrong row, log loss falls without end as T falls
# (analcatdata_authorship's ensemble was right on every out-of-fold row: T went to its
# bound and the test log loss rose tenfold, 0.014 -> 0.144, on the few test rows it then
# got wrong with certainty); with a handful, the fitted T is a guess.
PRIOR_ERRORS = 5


def tempered(proba: np.ndarray, temperature: float) -> np.ndarray:
    """Rows of class probabilities with their logs divided by `temperature`, renormalised."""
    if temperature == 1.0:
        return proba
    logs = np.log(clipped_proba(np.asarray(proba, dtype=np.float64))) / temperature
    logs -= logs.max(axis=1, keepdims=True)
    scaled = np.exp(logs)
    return scaled / scaled.sum(axis=1, keepdims=True)


def temperature_for(
    metric_name: str, proba: np.ndarray, y: np.ndarray, w: np.ndarray | None = None
) -> float:
    """The temperature an ensemble scored by `metric_name` is calibrated with: fitted on
    its out-of-fold `proba` for log loss, 1 for every other metric."""
    return fit_temperature(proba, y, w) if metric_name == "logloss" else 1.0


def fit_temperature(proba: np.ndarray, y: np.ndarray, w: np.ndarray | None = None) -> float:
    """The temperature in BOUNDS that minimises the (row-weighted) log loss of `proba`
    against the labels `y` (0..K-1), pulled toward 1 when few rows are wrong
    (PRIOR_ERRORS); 1.0 when it gains less than MIN_GAIN of the loss, when no row is wrong,
    or when the loss still falls at the lower bound."""
    from scipy.optimize import minimize_scalar

    from assay.evaluate._metrics import row_log_losses

    proba, y = np.asarray(proba, dtype=np.float64), np.asarray(y)
    if len(y) == 0 or proba.ndim != 2 or proba.shape[1] < 2:
        return 1.0
    n_errors = int((proba.argmax(axis=1) != y).sum())
    if n_errors == 0:
        return 1.0

    def loss(log_t: float) -> float:
        return float(
            np.average(row_log_losses(y, tempered(proba, float(np.exp(log_t)))), weights=w)
        )

    found = minimize_scalar(
        loss, bounds=tuple(np.log(BOUNDS)), method="bounded", options={"xatol": 1e-3}
    )
    before = loss(0.0)
    if not np.isfinite(found.fun) or before - found.fun <= MIN_GAIN * before:
        return 1.0
    if abs(found.x - np.log(BOUNDS[0])) < 0.01:  # still falling at the bound: no estimate
        return 1.0
    return float(np.exp(found.x * n_errors / (n_errors + PRIOR_ERRORS)))

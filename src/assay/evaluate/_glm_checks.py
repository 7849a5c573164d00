"""Checks that decide whether a GLM's p-values mean anything: exact and near collinearity,
(quasi-)perfect separation and too few events per variable. A broken fit prints p-values that
look as official as good ones, so each problem becomes a warning naming the columns."""

from __future__ import annotations

import numpy as np

from assay._types import FeatureType
from assay.evaluate._glm_design import INTERCEPT, Design

VIF_LIMIT = 10.0
MIN_EVENTS_PER_VARIABLE = 10.0
_RANK_TOL = 1e-9  # residual norm of a unit-norm column after projecting out the earlier ones
_HUGE_EFFECT = 10.0  # |coef| x sd(term): an odds ratio beyond e^10 per standard deviation


def _quoted(names: list[str]) -> str:
    return ", ".join(f"'{n}'" for n in names)


def dependent_terms(design: Design) -> dict[str, list[str]]:
    """Terms that are exact linear combinations of earlier terms, with the terms they combine.

    Greedy in column order, so of x1 and x2 = 2*x1 the later x2 is the one named as redundant.
    """
    matrix = design.matrix
    norms = np.linalg.norm(matrix, axis=0)
    scaled = matrix / np.where(norms > 0, norms, 1.0)
    # same column geometry in p dimensions; numpy's stubs type every mode as a QRResult,
    # but mode "r" returns R alone
    r: np.ndarray = np.linalg.qr(scaled, mode="r")  # type: ignore[assignment]
    basis: list[np.ndarray] = []
    kept: list[int] = []
    found: dict[str, list[str]] = {}
    for j in range(r.shape[1]):
        v = r[:, j].copy()
        for _ in range(2):  # re-orthogonalize once for stability
            for b in basis:
                v -= (b @ v) * b
        size = float(np.linalg.norm(v))
        if norms[j] > 0 and size > _RANK_TOL:
            basis.append(v / size)
            kept.append(j)
            continue
        coef = np.linalg.lstsq(r[:, kept], r[:, j], rcond=None)[0]
        parts = [design.terms[k] for k, c in zip(kept, coef, strict=True) if abs(c) > 1e-6]
        found[design.terms[j]] = [p if p != INTERCEPT else "the intercept" for p in parts]
    return found


def collinear_warning(found: dict[str, list[str]]) -> str:
    pairs = "; ".join(
        f"'{t}' = a combination of {_quoted(p) or 'nothing'}" for t, p in found.items()
    )
    return (
        f"Exact collinearity: {pairs}. The design is rank-deficient, so the model leaves out "
        f"{_quoted(list(found))}; remove the redundant column(s) from the data."
    )


def high_vif(design: Design) -> dict[str, float]:
    """Variance inflation factors above VIF_LIMIT, per non-intercept term.

    The diagonal of the inverse correlation matrix equals statsmodels'
    `variance_inflation_factor` with an intercept in the design, at one inversion for all.
    """
    others = design.matrix[:, 1:]
    if others.shape[1] < 2:
        return {}
    corr = np.corrcoef(others, rowvar=False)
    try:
        vif = np.diag(np.linalg.inv(corr))
    except np.linalg.LinAlgError:
        vif = np.diag(np.linalg.pinv(corr))
    return {
        term: float(v)
        for term, v in zip(design.terms[1:], vif, strict=True)
        if not np.isfinite(v) or v > VIF_LIMIT
    }


def vif_warning(vifs: dict[str, float]) -> str:
    listed = ", ".join(f"'{t}' ({v:.1f})" for t, v in vifs.items())
    return (
        f"High collinearity (variance inflation factor > {VIF_LIMIT:g}): {listed}. Their "
        "standard errors are inflated and the coefficients unstable; drop or combine the "
        "overlapping columns."
    )


def _numeric_split(x: np.ndarray, y: np.ndarray, outcomes: tuple[str, str]) -> tuple[bool, str]:
    """(complete?, detail) of a threshold on x that sorts the outcomes; detail "" if none."""
    lo0, hi0, lo1, hi1 = x[y == 0].min(), x[y == 0].max(), x[y == 1].min(), x[y == 1].max()
    if hi0 < lo1:
        return (
            True,
            f"every row above {hi0:.4g} has outcome {outcomes[1]!r}, all others {outcomes[0]!r}",
        )
    if hi1 < lo0:
        return (
            True,
            f"every row above {hi1:.4g} has outcome {outcomes[0]!r}, all others {outcomes[1]!r}",
        )
    if hi0 <= lo1 or hi1 <= lo0:
        cut = hi0 if hi0 <= lo1 else hi1
        return False, f"a threshold sorts the outcomes except for rows at {cut:.4g}"
    return False, ""


def _level_split(labels: np.ndarray, y: np.ndarray) -> tuple[bool, str]:
    pure = []
    levels = sorted(set(labels))
    for level in levels:
        outcomes = y[labels == level]
        if outcomes.min() == outcomes.max():
            pure.append(f"{level!r} ({len(outcomes)} rows)")
    if len(pure) == len(levels):
        return True, "each of its levels has a single outcome"
    if pure:
        return False, f"level(s) {', '.join(pure)} have a single outcome"
    return False, ""


def separation(
    design: Design, y: np.ndarray, outcomes: tuple[str, str]
) -> tuple[list[str], list[str]]:
    """Columns that (quasi-)perfectly separate a 0/1 outcome on their own.

    Returns (columns to leave out, warnings). A complete separator has an infinite effect and
    makes every other estimate meaningless, so it goes; a quasi separator stays, flagged.
    """
    drop, warnings = [], []
    for column in design.variables:
        values = design.values[column]
        if design.kinds[column] is FeatureType.CATEGORICAL:
            complete, detail = _level_split(values, y)
        else:
            complete, detail = _numeric_split(values.astype("float64"), y, outcomes)
        if not detail:
            continue
        if complete:
            drop.append(column)
            warnings.append(
                f"Perfect separation by '{column}': {detail}. Its effect cannot be estimated "
                f"(the odds ratio is infinite), so '{column}' was left out of the model; report "
                "it separately, or use penalized (Firth) logistic regression."
            )
        else:
            warnings.append(
                f"Quasi-perfect separation by '{column}': {detail}. The coefficient(s) of "
                f"'{column}' drift to infinity with huge standard errors and are not reliable; "
                f"merge rare levels, drop '{column}', or use penalized (Firth) logistic regression."
            )
    return drop, warnings


def events_per_variable(y: np.ndarray, n_terms: int) -> tuple[int, float]:
    """(rows in the rarer outcome, those rows per non-intercept parameter)."""
    n_events = int(min(y.sum(), len(y) - y.sum()))
    return n_events, (n_events / n_terms if n_terms else float("inf"))


def epv_warning(n_events: int, epv: float, n_terms: int, columns: list[str]) -> str:
    return (
        f"Only {epv:.1f} events per variable ({n_events} rows in the rarer outcome for "
        f"{n_terms} parameters from {_quoted(columns)}); below {MIN_EVENTS_PER_VARIABLE:g} the "
        "estimates are biased and the p-values unreliable. Use fewer columns (or merge "
        "levels) or collect more data."
    )


def huge_effects(design: Design, params: np.ndarray, bse: np.ndarray) -> list[str]:
    """Terms whose standardized effect or standard error has exploded (a sign of separation)."""
    sd = design.matrix.std(axis=0)
    suspects = []
    for j, term in enumerate(design.terms[1:], start=1):
        if not np.isfinite(bse[j]) or abs(params[j]) * sd[j] > _HUGE_EFFECT:
            suspects.append(term)
    return suspects


def fit_warning(
    family: str, converged: bool, saturated: int, suspects: list[str], flagged: bool
) -> str | None:
    """What to say when the optimizer struggled, unless separation was already reported."""
    named = f" among {_quoted(suspects)}" if suspects else ""
    if family == "logistic" and (saturated or not converged) and suspects and not flagged:
        return (
            f"The outcome is (nearly) perfectly predicted by a combination of columns{named} "
            f"({saturated} rows with fitted probability 0 or 1): their coefficients and "
            "p-values are unreliable; drop one of them or use penalized (Firth) regression."
        )
    if not converged and not flagged:
        return (
            f"The {family} fit did not converge{named}; its estimates and p-values are not "
            "reliable. Check those columns for extreme values, rescale them, or drop some."
        )
    return None

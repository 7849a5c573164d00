"""A statistical model for hypothesis tests: which columns are associated with the target,
with p-values, confidence intervals and multiplicity-adjusted p-values that match
statsmodels' formula API. AutoML predicts; this explains, so it refuses to hide a broken fit
(separation, collinearity, too few events) behind official-looking numbers."""

from __future__ import annotations

import os
import warnings as _warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from assay.data import infer_schema, read_table
from assay.errors import ConfigError, DataError, TargetError
from assay.evaluate import _glm_checks as checks
from assay.evaluate._glm_design import INTERCEPT, Design, build_design, select_columns
from assay.evaluate._glm_target import Family, parse_family, resolve_family
from assay.log import get_logger

logger = get_logger(__name__)
_MAXITER = 100

_LINKS = {Family.LOGISTIC: "logit", Family.LINEAR: "identity", Family.POISSON: "log"}
_RATIOS = {
    Family.LOGISTIC: ("odds_ratio", "or_ci_low", "or_ci_high"),
    Family.POISSON: ("rate_ratio", "rr_ci_low", "rr_ci_high"),
}


@dataclass
class GLMResult:
    """Coefficients (one row per term), joint tests (one row per column), fit summary, and
    the notes and warnings needed to read them. `fit` is the statsmodels results object."""

    target: str
    family: Family
    coefficients: pd.DataFrame
    terms: pd.DataFrame
    summary: dict[str, Any]
    references: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    alpha: float = 0.05
    fit: Any = field(default=None, repr=False)

    def to_frame(self) -> pd.DataFrame:
        """The coefficient table (what `assay stats --out` writes)."""
        return self.coefficients.copy()


def _fit(design: Design, y: np.ndarray, family: Family) -> tuple[Any, bool, int]:
    """(statsmodels results, converged, rows with a fitted probability of 0 or 1)."""
    from statsmodels.discrete.discrete_model import Logit, Poisson
    from statsmodels.regression.linear_model import OLS
    from statsmodels.tools.sm_exceptions import PerfectSeparationWarning

    if family is Family.LINEAR:
        return OLS(y, design.matrix).fit(), True, 0
    model = (Logit if family is Family.LOGISTIC else Poisson)(y, design.matrix)
    with _warnings.catch_warnings(record=True) as caught, np.errstate(all="ignore"):
        _warnings.simplefilter("always")
        try:
            result = model.fit(disp=0, maxiter=_MAXITER)
        except np.linalg.LinAlgError:  # singular Hessian on the way to infinity
            result = model.fit(disp=0, method="bfgs", maxiter=10 * _MAXITER)
        fitted = result.predict()
    converged = bool(result.mle_retvals.get("converged", True))
    saturated = 0
    if family is Family.LOGISTIC:
        saturated = int(((fitted < 1e-8) | (fitted > 1 - 1e-8)).sum())
        if any(issubclass(w.category, PerfectSeparationWarning) for w in caught):
            saturated = max(saturated, 1)
    return result, converged, saturated


def _coefficients(result: Any, design: Design, family: Family, alpha: float) -> pd.DataFrame:
    from statsmodels.stats.multitest import multipletests

    params = np.asarray(result.params, dtype="float64")
    ci = np.asarray(result.conf_int(alpha), dtype="float64")
    frame = pd.DataFrame(
        {
            "term": design.terms,
            "coef": params,
            "std_err": np.asarray(result.bse, dtype="float64"),
            "statistic": np.asarray(result.tvalues, dtype="float64"),
            "p_value": np.asarray(result.pvalues, dtype="float64"),
            "ci_low": ci[:, 0],
            "ci_high": ci[:, 1],
        }
    )
    if family in _RATIOS:
        ratio, low, high = _RATIOS[family]
        with np.errstate(over="ignore"):
            frame[ratio], frame[low], frame[high] = (
                np.exp(params),
                np.exp(ci[:, 0]),
                np.exp(ci[:, 1]),
            )
    tested = (frame["term"] != INTERCEPT).to_numpy() & np.isfinite(frame["p_value"].to_numpy())
    for column, method in (("p_holm", "holm"), ("p_bh", "fdr_bh")):
        adjusted = np.full(len(frame), np.nan)
        if tested.any():
            adjusted[tested] = multipletests(frame["p_value"][tested], method=method)[1]
        frame[column] = adjusted
    return frame


def _joint_tests(result: Any, design: Design, family: Family) -> pd.DataFrame:
    """Wald test that all terms of a column are zero: F for linear, chi-square otherwise."""
    from scipy import stats

    params = np.asarray(result.params, dtype="float64")
    cov = np.asarray(result.cov_params(), dtype="float64")
    rows = []
    for column, terms in design.variables.items():
        index = [design.terms.index(t) for t in terms]
        b, v = params[index], cov[np.ix_(index, index)]
        try:
            statistic = float(b @ np.linalg.solve(v, b))
        except np.linalg.LinAlgError:
            statistic = float("nan")
        df = len(index)
        if family is Family.LINEAR:
            statistic /= df
            p = float(stats.f.sf(statistic, df, result.df_resid))
        else:
            p = float(stats.chi2.sf(statistic, df))
        rows.append({"variable": column, "df": df, "statistic": statistic, "p_value": p})
    return pd.DataFrame(rows, columns=["variable", "df", "statistic", "p_value"])


def _check_design(
    design: Design, y: np.ndarray, family: Family, outcomes: tuple[str, str]
) -> tuple[list[str], bool]:
    """Leave out exactly collinear terms and complete separators; warn about the rest.

    Returns the warnings and whether separation was among them."""
    found = checks.dependent_terms(design)
    said, separated = [], False
    if found:
        said.append(checks.collinear_warning(found))
        design.drop_terms(list(found))
    if family is Family.LOGISTIC:
        separators, separation = checks.separation(design, y, outcomes)
        said, separated = said + separation, bool(separation)
        design.drop_terms([t for c in separators for t in design.variables[c]])
    vifs = checks.high_vif(design)
    if vifs:
        said.append(checks.vif_warning(vifs))
    return said, separated


def _summary(
    result: Any, design: Design, family: Family, y: np.ndarray, positive: str, said: list[str]
) -> dict[str, Any]:
    """Fit statistics; for a logistic model also events per variable (warning when low)."""
    summary: dict[str, Any] = {
        "family": family.value,
        "link": _LINKS[family],
        "n_rows": design.n_rows,
        "n_dropped": design.n_dropped,
        "n_params": len(design.terms),
        "log_likelihood": float(result.llf),
        "aic": float(result.aic),
        "bic": float(result.bic),
        "statistic": "t" if family is Family.LINEAR else "z",
    }
    if family is Family.LINEAR:
        summary.update(r2=float(result.rsquared), adj_r2=float(result.rsquared_adj))
    else:
        summary["pseudo_r2"] = float(result.prsquared)
    if family is Family.LOGISTIC:
        n_terms = len(design.terms) - 1
        n_events, epv = checks.events_per_variable(y, n_terms)
        summary.update(n_events=n_events, events_per_variable=epv, positive_class=positive)
        if epv < checks.MIN_EVENTS_PER_VARIABLE:
            said.append(checks.epv_warning(n_events, epv, n_terms, list(design.variables)))
    return summary


def fit_glm(
    data: pd.DataFrame | str | os.PathLike[str],
    target: str,
    *,
    family: Family | str = "auto",
    positive: Any = None,
    reference: Mapping[str, str] | None = None,
    alpha: float = 0.05,
) -> GLMResult:
    """Fit a logistic, linear or Poisson GLM of `target` on the other columns and test each.

    `positive` is the class coded 1 (logistic; several classes become one-vs-rest);
    `reference` maps a categorical column to the level its dummies are compared with.
    """
    family = parse_family(family)
    if not 0 < alpha < 1:
        raise ConfigError(f"alpha {alpha!r} must lie between 0 and 1 (e.g. 0.05).")
    frame = read_table(data)
    where = f"'{data}'" if isinstance(data, (str, os.PathLike)) else "the DataFrame"
    if target not in frame.columns:
        raise TargetError(
            f"Target column '{target}' is not in {where}; pass one of its columns: "
            f"{list(frame.columns)[:20]}."
        )
    schema = infer_schema(frame, target=target)
    family, coding, notes = resolve_family(frame[target], family, positive, target)
    used, skipped = select_columns(schema, target, where)
    design = build_design(
        frame, schema, used, frame[target].notna().to_numpy(), reference or {}, where
    )
    notes += skipped + design.notes
    kept_target = frame[target][design.keep]
    if coding is not None:
        y = (kept_target == coding[0]).to_numpy(dtype="float64")
        if y.min() == y.max():
            raise TargetError(
                f"Target '{target}' has a single class on the {design.n_rows} complete rows; "
                "fill or drop the columns with many missing values."
            )
    else:
        y = kept_target.to_numpy(dtype="float64")
    if design.n_rows <= design.matrix.shape[1]:
        raise DataError(
            f"Only {design.n_rows} complete rows of {where} for {design.matrix.shape[1]} "
            "parameters; a test needs more rows than parameters. Use fewer columns, merge "
            "category levels, or fill missing values."
        )
    outcomes = (coding[1], str(coding[0])) if coding is not None else ("0", "1")
    said, separated = _check_design(design, y, family, outcomes)
    logger.info(
        "fitting %s GLM of %s: %d rows, %d parameters",
        family.value,
        target,
        design.n_rows,
        design.matrix.shape[1],
    )
    result, converged, saturated = _fit(design, y, family)
    params, bse = np.asarray(result.params), np.asarray(result.bse)
    suspects = checks.huge_effects(design, params, bse)
    problem = checks.fit_warning(family.value, converged, saturated, suspects, separated)
    said += [problem] if problem else []
    summary = _summary(result, design, family, y, outcomes[1], said)
    for warning in said:
        logger.warning(warning)
    return GLMResult(
        target=target,
        family=family,
        coefficients=_coefficients(result, design, family, alpha),
        terms=_joint_tests(result, design, family),
        summary=summary,
        references=dict(design.references),
        notes=notes,
        warnings=said,
        alpha=alpha,
        fit=result,
    )

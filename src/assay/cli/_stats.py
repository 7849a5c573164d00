"""`assay stats`: a GLM of the target on the other columns, with a test for every term."""

from __future__ import annotations

import logging
from pathlib import Path

import typer

from assay.cli._render import fmt, stderr, stdout, styled, table

_FAMILY_NAMES = {"logistic": "logistic", "linear": "linear", "poisson": "Poisson"}


def _parse_references(values: list[str] | None) -> dict[str, str]:
    references = {}
    for value in values or []:
        column, sep, level = value.partition("=")
        if not sep or not column or not level:
            raise typer.BadParameter(
                f"{value!r} is not COLUMN=LEVEL (e.g. --reference color=blue).",
                param_hint="'--reference'",
            )
        references[column.strip()] = level.strip()
    return references


def _number(value: object, p_value: bool = False) -> str:
    """Four decimals where they say something; scientific for tiny p-values and huge values."""
    if not isinstance(value, float) or value != value or value == 0.0:
        return fmt(value)
    if (p_value and value < 1e-4) or not 1e-3 <= abs(value) < 1e6:
        return f"{value:.2e}" if p_value else f"{value:.3e}"
    return fmt(value)


def _render(frame, title: str, statistic: str):
    shown = frame.rename(columns={"statistic": statistic})
    for column in shown.columns[1:]:
        is_p = column == "p_value" or column.startswith("p_")
        shown[column] = [_number(v, is_p) for v in shown[column].tolist()]
    rendered = table(shown, title=title)
    for column in rendered.columns[1:]:
        column.justify = "right"
    return rendered


def stats(
    data: str = typer.Argument(..., help="CSV/TSV/Parquet/ARFF file, or builtin:NAME."),
    target: str = typer.Option(..., "--target", "-t", help="Column to explain."),
    family: str = typer.Option(
        "auto", "--family", help="auto, logistic, linear or poisson (auto: from the target)."
    ),
    positive: str | None = typer.Option(
        None, "--positive", help="Class coded 1 in a logistic model (the rest are 0)."
    ),
    reference: list[str] | None = typer.Option(
        None,
        "--reference",
        metavar="COLUMN=LEVEL",
        help="The level a category's other levels are compared with (repeatable).",
    ),
    alpha: float = typer.Option(0.05, "--alpha", help="1 - confidence level of the intervals."),
    out: Path | None = typer.Option(None, "--out", "-o", help="CSV for the coefficient table."),
) -> None:
    """Fit a logistic, linear or Poisson model of TARGET and test every column."""
    from assay.evaluate._glm import Family, fit_glm

    if family.strip().lower() not in {f.value for f in Family}:
        raise typer.BadParameter(
            f"{family!r} is not one of: {', '.join(f.value for f in Family)}.",
            param_hint="'--family'",
        )
    references = _parse_references(reference)
    root = logging.getLogger("assay")
    # The warnings are printed below; without -v, keep logging from printing them twice.
    quiet = logging.NullHandler() if not root.handlers else None
    if quiet is not None:
        root.addHandler(quiet)
    try:
        with stderr.status(f"Fitting a model of {target}..."):
            result = fit_glm(
                data, target, family=family, positive=positive, reference=references, alpha=alpha
            )
    finally:
        if quiet is not None:
            root.removeHandler(quiet)
    s = result.summary
    level = f"{100 * (1 - alpha):g}%"
    what = f"{_FAMILY_NAMES[s['family']]} regression ({s['link']} link) of {target}"
    if "positive_class" in s:
        what += f" = {s['positive_class']!r}"
    fit_line = (
        f"R² {fmt(s['r2'], 3)} (adjusted {fmt(s['adj_r2'], 3)})"
        if "r2" in s
        else f"pseudo R² {fmt(s['pseudo_r2'], 3)}"
    )
    stdout.print(
        f"{what} | n {s['n_rows']}"
        + (f" ({s['n_dropped']} dropped)" if s["n_dropped"] else "")
        + f" | {s['n_params']} parameters | {fit_line} | AIC {fmt(s['aic'], 1)} "
        f"| BIC {fmt(s['bic'], 1)}"
    )
    statistic = s["statistic"]
    title = (
        f"Coefficients ({statistic} tests, {level} intervals; "
        "p_holm and p_bh adjusted over the non-intercept terms)"
    )
    stdout.print(_render(result.coefficients, title, statistic))
    if len(result.terms):
        test = "F" if statistic == "t" else "chi-square"
        stdout.print(_render(result.terms, f"Variables (joint Wald {test} tests)", "statistic"))
    for note in result.notes:
        stdout.print(f"note: {note}")
    for warning in result.warnings:
        stderr.print(styled("warning:", "yellow", f" {warning}"))
    if out is not None:
        result.to_frame().to_csv(out, index=False)
        stderr.print(f"coefficients written to {out}")

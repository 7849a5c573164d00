"""`assay explain` and `assay compare`: what a predictor learned, and whether one predictor
is really better than another."""

from __future__ import annotations

from pathlib import Path

import typer

from assay.cli._predict import trust_option
from assay.cli._render import fmt, stderr, stdout, styled, table


def explain(
    model: str = typer.Argument(..., help="Predictor folder (from assay fit --out) or run id."),
    data: str = typer.Argument(..., help="Held-out rows with the target column."),
    top: int = typer.Option(10, "--top", help="How many features to show."),
    repeats: int = typer.Option(5, "--repeats", help="Shuffles per feature."),
    pd_features: int = typer.Option(
        3, "--pd", help="Partial dependence for this many top features (0: none)."
    ),
    max_rows: int = typer.Option(5000, "--max-rows", help="Rows used at most (a sample)."),
    shap_package: bool = typer.Option(
        False, "--shap-package", help="SHAP through the shap package (assay[explain])."
    ),
    out: Path | None = typer.Option(
        None, "--out", "-o", help="Folder for importance.csv, shap.csv, partial_dependence.csv."
    ),
    trust: bool = trust_option(),
) -> None:
    """Permutation importance with 95% CIs on DATA, TreeSHAP of the tree members, and
    partial dependence of the top features."""
    from assay.cli._predict import load_model_arg
    from assay.errors import ConfigError
    from assay.evaluate import partial_dependence, permutation_importance, tree_shap

    predictor = load_model_arg(model, trust)
    with stderr.status("shuffling each feature"):
        importance = permutation_importance(predictor, data, n_repeats=repeats, max_rows=max_rows)
    attrs = importance.attrs
    stdout.print(
        table(
            importance.head(top),
            title=f"Permutation importance: drop in {attrs['metric']} on {attrs['n_rows']} "
            f"rows ({attrs['n_repeats']} shuffles, 95% bootstrap CI)",
        )
    )
    shap_table = None
    try:
        with stderr.status("TreeSHAP"):
            shap = tree_shap(
                predictor,
                data,
                max_rows=min(max_rows, 1000),
                backend="shap" if shap_package else "booster",
            )
        shap_table = shap.importance()
        members = ", ".join(f"{m} {w:.2f}" for m, w in shap.members)
        note = f"; left out (no TreeSHAP): {', '.join(shap.left_out)}" if shap.left_out else ""
        stdout.print(
            table(
                shap_table.head(top),
                title=f"Mean |SHAP| ({shap.scale} scale; members {members}{note})",
            )
        )
    except ConfigError as exc:
        stderr.print(styled("SHAP skipped:", "yellow", f" {exc}"))
    curves = []
    for feature in importance["feature"].head(pd_features):
        try:
            curve = partial_dependence(predictor, data, feature)
        except ConfigError as exc:
            stderr.print(styled("partial dependence skipped:", "yellow", f" {exc}"))
            continue
        frame = curve.to_frame()
        curves.append(frame.assign(feature=feature).rename(columns={feature: "value"}))
        first = curve.outputs[0]
        stdout.print(
            f"partial dependence of {feature}: {first} from {fmt(float(curve.mean[0, 0]))} at "
            f"{fmt(curve.grid[0])} to {fmt(float(curve.mean[-1, 0]))} at {fmt(curve.grid[-1])} "
            f"(range {fmt(float(curve.mean[:, 0].max() - curve.mean[:, 0].min()))})"
        )
    if out is not None:
        import pandas as pd

        out.mkdir(parents=True, exist_ok=True)
        importance.to_csv(out / "importance.csv", index=False)
        if shap_table is not None:
            shap_table.to_csv(out / "shap.csv", index=False)
        if curves:
            pd.concat(curves, ignore_index=True).to_csv(out / "partial_dependence.csv", index=False)
        stderr.print(f"explanations written to {out}")


def compare(
    model_a: str = typer.Argument(..., help="First predictor folder or run id."),
    model_b: str = typer.Argument(..., help="Second predictor folder or run id."),
    data: str = typer.Argument(..., help="Held-out rows with the target column."),
    metric: str | None = typer.Option(None, "--metric", help="Default: the first's metric."),
    folds: int = typer.Option(5, "--folds", help="Folds for the corrected t-test."),
    refit: bool = typer.Option(
        True,
        "--refit/--no-refit",
        help="Retrain both recipes on the same folds of DATA (the corrected t-test), or only "
        "score the fixed models on disjoint folds (a plain paired t-test).",
    ),
    alpha: float = typer.Option(0.05, "--alpha", help="Significance level."),
    trust: bool = trust_option(),
) -> None:
    """Is MODEL_A really better than MODEL_B on DATA? A paired bootstrap of the held-out
    difference, and a t-test over the same folds."""
    from assay.automl import compare_predictors
    from assay.cli._predict import load_model_arg

    a, b = load_model_arg(model_a, trust), load_model_arg(model_b, trust)
    with stderr.status("retraining both on the same folds" if refit else "scoring"):
        result = compare_predictors(
            a, b, data, metric=metric, n_folds=folds, refit=refit, alpha=alpha
        )
    held, test = result["held_out"], result["folds"]
    name = result["metric"]
    stdout.print(
        f"{name} on {result['n_rows']} held-out rows: A {fmt(result['score_a'])}, "
        f"B {fmt(result['score_b'])}"
    )
    stdout.print(
        f"paired bootstrap ({held.n_boot} resamples): A - B = {held.diff:+.4f}, "
        f"{100 * (1 - alpha):.0f}% CI [{held.ci_low:+.4f}, {held.ci_high:+.4f}], "
        f"p = {fmt(held.p_value, 3)}"
    )
    kind = (
        "corrected resampled t-test (both retrained on each fold)"
        if result["refit"]
        else "paired t-test (fixed models on disjoint folds)"
    )
    t = test.ttest
    stdout.print(
        f"{kind}, {test.n_folds} folds: mean A - B = {t.mean_diff:+.4f}, t = {t.t_stat:.2f}, "
        f"df = {t.df}, p = {fmt(t.p_value, 3)}"
    )
    better = "A" if test.a_is_better else "B"
    both = held.p_value < alpha and t.p_value < alpha and (held.diff > 0) == (t.mean_diff > 0)
    verdict = (
        f"{better} is significantly better ({'higher' if result['greater_is_better'] else 'lower'}"
        f" {name} is better) at {alpha:g}."
        if both
        else f"No significant difference at {alpha:g} by both tests."
    )
    stdout.print(verdict)

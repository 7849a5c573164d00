"""The report of one fitted predictor: what it was fitted on, how the search went, which
model won and whether it won significantly, how good its predictions are, and what it
learned. Drawn from the predictor, its run in the store (trials and out-of-fold
predictions) and, when given, held-out rows.

Every part that can fail on odd data (a text-only table has no partial dependence, a linear
ensemble has no TreeSHAP) becomes a note in its section, never a missing report."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from assay.errors import AssayError
from assay.log import get_logger
from assay.report import _figures as fig
from assay.report._diagnostics import confusion_matrix, pr_curves, residual_plots, roc_curves
from assay.report._explain import importance_bars, partial_dependence, shap_summary
from assay.report._html import Section, write_html
from assay.report._media import media_sections

if TYPE_CHECKING:
    from assay.automl import Predictor
    from assay.store import RunRecord, TrialRecord

logger = get_logger(__name__)
N_PARTIAL_DEPENDENCE = 3


@dataclass
class ReportInputs:
    """What a report is drawn from. `training` are the rows the predictor was fitted on
    (for the data profile); `held_out` are rows it never saw, with the target."""

    predictor: Predictor
    training: pd.DataFrame | None = None
    held_out: pd.DataFrame | None = None
    run: RunRecord | None = None
    trials: list[TrialRecord] | None = None  # of the run
    run_dir: Path | None = None  # where the run's out-of-fold predictions are
    glm: bool = False


def _profile(frame: pd.DataFrame, predictor) -> Section:
    types = {c.name: c.type.value for c in predictor.schema.columns}
    rows = [
        {
            "column": name,
            "type": "target" if name == predictor.target else types.get(name, "not used"),
            "missing": float(frame[name].isna().mean()),
            "distinct": int(frame[name].nunique()),
            "example": str(frame[name].dropna().iloc[0])[:40] if frame[name].notna().any() else "",
        }
        for name in frame.columns
    ]
    blocks = [pd.DataFrame(rows), fig.missing_values(frame)]
    if predictor.target in frame.columns:
        blocks.append(
            fig.target_distribution(frame[predictor.target], predictor.classes is not None)
        )
    return Section(
        "Data",
        f"{len(frame)} rows and {frame.shape[1]} columns; the types are those the predictor uses.",
        blocks,
    )


def _leaderboard(predictor) -> Section:
    board = predictor.leaderboard()
    blocks: list = [board]
    if "fold_mean" in board.columns:
        labels = [
            f"{r.model}@L2" if r.level == 2 and r.rank else r.model for r in board.itertuples()
        ]
        blocks.append(fig.fold_scores(labels, board.fold_mean, board.fold_std))
    significance = predictor.info.get("significance")
    if significance:
        blocks.append(significance["sentence"])
        if significance.get("caveat"):
            blocks.append(significance["caveat"])
    intro = (
        f"Scores are {predictor.metric} on out-of-fold predictions; fold_mean and fold_std are "
        "across the folds, p_vs_top the corrected resampled t-test (Nadeau and Bengio) of each "
        "row against the top one on the same folds."
    )
    return Section("Leaderboard", intro, blocks)


def _search(inputs: ReportInputs, greater_is_better: bool) -> Section | None:
    every = inputs.trials or []
    scored = [(t, t.score) for t in every if t.score is not None]
    if not scored or inputs.run is None:
        return None
    start = inputs.run.created_at
    return Section(
        "Search",
        f"{len(every)} trials; each point is one config's out-of-fold score.",
        [
            fig.search_progress(
                [t.created_at - start for t, _ in scored],
                [score for _, score in scored],
                [t.model for t, _ in scored],
                greater_is_better,
            )
        ],
    )


def _ensemble(predictor) -> Section:
    members = [m for m in predictor.members if m.weight > 0]
    names = [f"{i + 1}. {m.model}{'@L2' if m.level == 2 else ''}" for i, m in enumerate(members)]
    stack = predictor.info.get("stack") or {}
    intro = f"{len(members)} members with weight; stacking: {stack.get('reason', 'not recorded')}."
    return Section("Ensemble", intro, [fig.ensemble_weights(names, [m.weight for m in members])])


def _predictions(inputs: ReportInputs) -> tuple[np.ndarray, np.ndarray, str] | None:
    """(encoded target, raw predictions, where they come from): held-out rows if given,
    else the run's out-of-fold predictions."""
    from assay.evaluate._explain import read_rows

    predictor = inputs.predictor
    if inputs.held_out is not None:
        X, y = read_rows(predictor, inputs.held_out, need_target=True)
        return y, predictor._raw(X), f"{len(y)} held-out rows"
    folder = inputs.run_dir / "oof" if inputs.run_dir else None
    if folder and (folder / "ensemble.npy").exists():
        y = np.load(folder / "target.npy")
        return y, np.load(folder / "ensemble.npy"), f"out-of-fold predictions of {len(y)} rows"
    return None


def _quality(inputs: ReportInputs) -> Section | None:
    found = _predictions(inputs)
    if found is None:
        return None
    y, raw, where = found
    predictor = inputs.predictor
    if predictor.classes is None:
        return Section("Predictions", f"On {where}.", [residual_plots(y, raw)])
    classes = [str(c) for c in predictor.classes]
    blocks = [
        roc_curves(y, raw, classes),
        pr_curves(y, raw, classes),
        confusion_matrix(y, np.argmax(raw, axis=1), classes),
    ]
    return Section("Predictions", f"On {where}.", blocks)


def _explanations(inputs: ReportInputs) -> list[Section]:
    from assay.evaluate import partial_dependence as pd_curve
    from assay.evaluate import permutation_importance, tree_shap

    predictor = inputs.predictor
    rows = inputs.held_out if inputs.held_out is not None else inputs.training
    if rows is None or predictor.target not in rows.columns:
        return [
            Section("What the model learned", blocks=["No rows with the target to explain on."])
        ]
    on = "held-out rows" if inputs.held_out is not None else "training rows"
    sections = []
    importance = permutation_importance(predictor, rows, n_repeats=3, max_rows=2000)
    caveat = (
        ""
        if inputs.held_out is not None
        else " On training rows the models have seen, importance can be inflated; pass "
        "held-out rows (assay report ... --data FILE) for an honest measure."
    )
    sections.append(
        Section(
            "Feature importance",
            f"Permutation importance: the drop in {importance.attrs['metric']} when a column is "
            f"shuffled, on {importance.attrs['n_rows']} {on}, with 95% bootstrap intervals."
            + caveat,
            [
                importance_bars(
                    importance.feature,
                    importance.importance,
                    importance.ci_low,
                    importance.ci_high,
                    "Permutation importance",
                ),
                importance,
            ],
        )
    )
    try:
        shap = tree_shap(predictor, rows, max_rows=1000)
        k = len(shap.outputs) - 1  # binary: the positive class; multiclass: the last class
        members = ", ".join(f"{m} ({w:.2f})" for m, w in shap.members)
        left = f" Left out (no TreeSHAP): {', '.join(shap.left_out)}." if shap.left_out else ""
        sections.append(
            Section(
                "SHAP",
                f"TreeSHAP of the tree members ({members}) on the {shap.scale} scale, for "
                f"'{shap.outputs[k]}'.{left}",
                [
                    shap_summary(
                        shap.values[:, k, :],
                        shap.rows.reindex(columns=shap.features),
                        shap.features,
                    ),
                    shap.importance(),
                ],
            )
        )
    except AssayError as exc:
        sections.append(Section("SHAP", blocks=[f"Not available: {exc}"]))
    curves, output = [], "the prediction"
    for feature in importance.feature.head(N_PARTIAL_DEPENDENCE):
        try:
            curve = pd_curve(predictor, rows, feature)
        except AssayError as exc:
            curves.append(f"{feature}: {exc}")
            continue
        curves.append(partial_dependence(feature, curve.grid, curve.mean[:, 0], curve.ice))
        output = curve.outputs[0]
    sections.append(
        Section(
            "Partial dependence",
            f"How {output} moves with each of the most important columns, all else as in "
            "the data (faint lines: individual rows).",
            curves,
        )
    )
    return sections


def _glm(inputs: ReportInputs) -> Section:
    from assay.evaluate import fit_glm

    rows = inputs.training if inputs.training is not None else inputs.held_out
    if rows is None:
        return Section("Statistical model", blocks=["No data to fit a GLM on."])
    try:
        result = fit_glm(rows, inputs.predictor.target)
    except AssayError as exc:
        return Section("Statistical model", blocks=[f"Not available: {exc}"])
    summary = result.summary
    blocks = [f"Warning: {w}" for w in result.warnings]
    blocks += [result.coefficients, result.terms, *result.notes]
    intro = (
        f"{summary['family']} GLM ({summary['link']} link) on {summary['n_rows']} rows: "
        "coefficients with standard errors, p-values (raw, Holm and Benjamini-Hochberg) and "
        "confidence intervals; then a joint test per variable."
    )
    return Section("Statistical model", intro, blocks)


def build_sections(inputs: ReportInputs) -> list[Section]:
    from assay.evaluate import get_metric

    predictor = inputs.predictor
    metric = get_metric(predictor.metric, predictor.task)
    sections = [_overview(predictor, inputs.run)]
    if inputs.training is not None:
        sections.append(_profile(inputs.training, predictor))
    sections += [_leaderboard(predictor)]
    optional = [_search(inputs, metric.greater_is_better), _ensemble(predictor), _quality(inputs)]
    sections += [s for s in optional if s is not None]
    sections += media_sections(inputs)
    sections += _explanations(inputs)
    if inputs.glm:
        sections.append(_glm(inputs))
    return sections


def _overview(predictor, run) -> Section:
    info = predictor.info
    facts = {
        "task": predictor.task.value,
        "target": predictor.target,
        "metric": predictor.metric,
        "ensemble score (out-of-fold)": info.get("ensemble_score"),
        "temperature (probabilities calibrated for log loss; 1: as they are)": ", ".join(
            f"{t:.3g}" for t in predictor.temperatures
        ),
        "rows": info.get("n_rows"),
        "folds": info.get("n_folds"),
        "validation": info.get("validation", "-"),
        "trials": info.get("n_trials"),
        "fit seconds": info.get("fit_time_s"),
        "run": info.get("run_id") or "-",
        "data": getattr(run, "source", None) or "-",
    }
    table = pd.DataFrame(
        {
            "": list(facts),
            "value": [str(v) if not isinstance(v, float) else round(v, 4) for v in facts.values()],
        }
    )
    blocks: list = [table]
    blocks += [f"Warning: {w}" for w in info.get("warnings", [])]
    return Section("Overview", None, blocks)


def write_report(path: str | Path, inputs: ReportInputs) -> Path:
    started = time.monotonic()
    sections = build_sections(inputs)
    predictor = inputs.predictor
    title = f"assay report: {predictor.target} ({predictor.task.value})"
    subtitle = time.strftime("%Y-%m-%d %H:%M")
    out = write_html(path, title, sections, subtitle=subtitle)
    logger.info("report written to %s in %.1fs", out, time.monotonic() - started)
    return out

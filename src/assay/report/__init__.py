"""Building blocks of `assay report`: plotly figures from plain arrays and frames, and one
self-contained HTML page that holds them.

Nothing here takes assay objects, so a report can be assembled from a fitted model, a
stored run or a benchmark alike."""

from assay.report._build import ReportInputs, build_sections, write_report
from assay.report._diagnostics import confusion_matrix, pr_curves, residual_plots, roc_curves
from assay.report._explain import importance_bars, partial_dependence, shap_summary
from assay.report._figures import (
    ensemble_weights,
    fold_scores,
    missing_values,
    search_progress,
    target_distribution,
)
from assay.report._html import Html, Section, format_value, render_html, write_html
from assay.report._sources import gather_inputs

__all__ = [
    "Html",
    "ReportInputs",
    "Section",
    "build_sections",
    "confusion_matrix",
    "ensemble_weights",
    "fold_scores",
    "format_value",
    "gather_inputs",
    "importance_bars",
    "missing_values",
    "partial_dependence",
    "pr_curves",
    "render_html",
    "residual_plots",
    "roc_curves",
    "search_progress",
    "shap_summary",
    "target_distribution",
    "write_html",
    "write_report",
]

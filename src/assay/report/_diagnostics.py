"""Figures about predictions: how good they are and where they go wrong.

Classification inputs are class indices 0..K-1 into `classes` (the order of the model's
`classes_`), so labels of any type, including ones that look like HTML, stay labels."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from assay.errors import ConfigError
from assay.report._style import (
    ACCENT,
    as_float,
    finish,
    note_figure,
    same_length,
    unique_labels,
)

if TYPE_CHECKING:
    import plotly.graph_objects as go

MAX_CURVES = 10
MAX_CURVE_POINTS = 1000
MAX_POINTS = 4000


def _class_inputs(
    func: str, y: Any, proba: Any, classes: Sequence[Any]
) -> tuple[np.ndarray, np.ndarray]:
    """Validated (labels, probabilities with one column per class), finite rows only."""
    k = len(classes)
    if k < 2:
        raise ConfigError(f"{func}: `classes` has {k} entries; pass at least two classes")
    p = np.asarray(proba, dtype=float)
    if p.ndim == 1 and k == 2:
        p = np.column_stack([1.0 - p, p])
    if p.ndim != 2 or p.shape[1] != k:
        raise ConfigError(
            f"{func}: `proba` has shape {p.shape} but `classes` has {k} entries; "
            "pass one probability column per class"
        )
    labels = _class_indices(func, "y", y, k)
    same_length(func, y=labels, proba=p)
    ok = np.isfinite(p).all(axis=1)
    return labels[ok], p[ok]


def _class_indices(func: str, name: str, values: Any, k: int) -> np.ndarray:
    array = np.asarray(values)
    if array.ndim != 1:
        raise ConfigError(f"{func}: `{name}` must be 1-D, got shape {array.shape}")
    try:
        indices = array.astype(int)
        valid = bool(np.all(indices == array))
    except (TypeError, ValueError):
        valid = False
    if not valid or (array.size and (indices.min() < 0 or indices.max() >= k)):
        raise ConfigError(
            f"{func}: `{name}` must hold class indices 0..{k - 1} into `classes`; "
            "encode each label as its position in `classes`"
        )
    return indices


def _targets(labels: np.ndarray, p: np.ndarray, classes: Sequence[Any]) -> list:
    """(name, is_positive, score) per curve: the positive class only when binary,
    one-vs-rest per class otherwise (the best-supported MAX_CURVES of them)."""
    names = unique_labels(classes)
    if len(classes) == 2:
        return [(names[1], labels == 1, p[:, 1])]
    support = np.bincount(labels, minlength=len(classes))
    keep = sorted(np.argsort(-support, kind="stable")[:MAX_CURVES])
    return [(names[k], labels == k, p[:, k]) for k in keep]


def _thin(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """At most MAX_CURVE_POINTS points, ends kept: a curve per row would bloat the page."""
    if x.size <= MAX_CURVE_POINTS:
        return x, y
    idx = np.unique(np.linspace(0, x.size - 1, MAX_CURVE_POINTS).round().astype(int))
    return x[idx], y[idx]


def _curve_figure(func: str, y: Any, proba: Any, classes: Sequence[Any]) -> go.Figure:
    import plotly.graph_objects as go
    from sklearn import metrics

    roc = func == "roc_curves"
    title = "ROC curves" if roc else "Precision-recall curves"
    labels, p = _class_inputs(func, y, proba, classes)
    targets = _targets(labels, p, classes)
    fig = go.Figure()
    skipped = []
    for name, positive, score in targets:
        if positive.all() or not positive.any():
            skipped.append(name)
            continue
        if roc:
            x, yy, _ = metrics.roc_curve(positive, score)
            value = f"AUC {metrics.roc_auc_score(positive, score):.3f}"
        else:
            yy, x, _ = metrics.precision_recall_curve(positive, score)
            value = f"AP {metrics.average_precision_score(positive, score):.3f}"
        x, yy = _thin(x, yy)
        fig.add_scatter(
            x=x,
            y=yy,
            mode="lines",
            name=f"{name} ({value})",
            line={"width": 2, "shape": "linear" if roc else "hv"},
            hovertemplate=f"{name}<br>%{{x:.3f}}, %{{y:.3f}}<extra></extra>",
        )
    if not fig.data:
        return note_figure(title, "Every curve needs rows of both the class and the rest.")
    dash = {"dash": "dash", "color": "#999", "width": 1}
    if roc:
        fig.add_scatter(x=[0, 1], y=[0, 1], mode="lines", line=dash, name="chance")
    elif len(targets) == 1:
        rate = float(targets[0][1].mean())
        fig.add_scatter(x=[0, 1], y=[rate, rate], mode="lines", line=dash, name="chance")
    if len(classes) == 2:
        title += f" (positive class: {unique_labels(classes)[1]})"
    elif len(classes) > len(targets):
        title += f" ({len(targets)} most frequent of {len(classes)} classes, one-vs-rest)"
    else:
        title += " (one-vs-rest)"
    if skipped:
        title += f"; no curve for {', '.join(skipped)} (only one side present)"
    fig.update_xaxes(range=[-0.01, 1.01])
    fig.update_yaxes(range=[-0.01, 1.05])
    axes = ("False positive rate", "True positive rate") if roc else ("Recall", "Precision")
    finish(fig, title, *axes, height=400)
    # Inside the plot, in the corner a good curve leaves empty, so the plot keeps its width.
    fig.update_layout(
        legend={
            "x": 0.99 if roc else 0.01,
            "xanchor": "right" if roc else "left",
            "y": 0.02,
            "yanchor": "bottom",
            "bgcolor": "rgba(255,255,255,0.85)",
            "bordercolor": "#ddd",
            "borderwidth": 1,
        }
    )
    return fig


def roc_curves(y: Any, proba: Any, classes: Sequence[Any]) -> go.Figure:
    """ROC curves with AUC in the legend: the positive class (classes[1]) when binary,
    one-vs-rest per class otherwise."""
    return _curve_figure("roc_curves", y, proba, classes)


def pr_curves(y: Any, proba: Any, classes: Sequence[Any]) -> go.Figure:
    """Precision-recall curves with average precision in the legend; binary draws the
    positive class and its base rate, multiclass one-vs-rest per class."""
    return _curve_figure("pr_curves", y, proba, classes)


def confusion_matrix(y: Any, pred: Any, classes: Sequence[Any]) -> go.Figure:
    """Counts of actual (rows) against predicted (columns) classes; the hover adds the share
    of the actual class, which is what tells a rare class's errors apart."""
    import plotly.graph_objects as go
    from sklearn import metrics

    func = "confusion_matrix"
    k = len(classes)
    if k < 1:
        raise ConfigError(f"{func}: `classes` is empty; pass the class labels")
    actual = _class_indices(func, "y", y, k)
    predicted = _class_indices(func, "pred", pred, k)
    same_length(func, y=actual, pred=predicted)
    title = "Confusion matrix"
    if actual.size == 0:
        return note_figure(title, "No predictions to compare.")
    counts = metrics.confusion_matrix(actual, predicted, labels=np.arange(k))
    totals = counts.sum(axis=1, keepdims=True)
    share = np.divide(counts, totals, out=np.zeros(counts.shape), where=totals > 0)
    names = unique_labels(classes)
    fig = go.Figure(
        go.Heatmap(
            z=counts,
            x=names,
            y=names,
            customdata=share,
            colorscale="Blues",
            showscale=False,
            texttemplate="%{z}" if k <= 20 else None,
            hovertemplate=(
                "actual %{y}<br>predicted %{x}<br>%{z:,} rows"
                " (%{customdata:.1%} of actual)<extra></extra>"
            ),
        )
    )
    fig.update_xaxes(type="category", side="bottom")
    fig.update_yaxes(type="category", autorange="reversed", automargin=True)
    height = int(min(900, max(300, 140 + 45 * k)))
    return finish(fig, title, "Predicted class", "Actual class", height=height)


def residual_plots(y: Any, pred: Any) -> go.Figure:
    """Predicted against actual (points on the diagonal are right) and residuals against
    predicted (a funnel or curve shows what the model misses)."""
    from plotly.subplots import make_subplots

    func = "residual_plots"
    actual, predicted = as_float(y, "y", func), as_float(pred, "pred", func)
    same_length(func, y=actual, pred=predicted)
    ok = np.isfinite(actual) & np.isfinite(predicted)
    actual, predicted = actual[ok], predicted[ok]
    title = "Residuals"
    if actual.size == 0:
        return note_figure(title, "No finite predictions to compare.")
    if actual.size > MAX_POINTS:
        keep = np.random.default_rng(0).choice(actual.size, MAX_POINTS, replace=False)
        actual, predicted = actual[keep], predicted[keep]
        title += f" (a random {MAX_POINTS:,} of {int(ok.sum()):,} rows)"
    residual = actual - predicted
    fig = make_subplots(
        rows=1,
        cols=2,
        subplot_titles=("Predicted vs actual", "Residual vs predicted"),
        horizontal_spacing=0.1,
    )
    marker = {"size": 5, "color": ACCENT, "opacity": 0.5}
    fig.add_scatter(
        x=actual,
        y=predicted,
        mode="markers",
        marker=marker,
        hovertemplate="actual %{x:.4g}<br>predicted %{y:.4g}<extra></extra>",
        row=1,
        col=1,
    )
    low = float(min(actual.min(), predicted.min()))
    high = float(max(actual.max(), predicted.max()))
    line = {"dash": "dash", "color": "#999", "width": 1}
    fig.add_scatter(x=[low, high], y=[low, high], mode="lines", line=line, row=1, col=1)
    fig.add_scatter(
        x=predicted,
        y=residual,
        mode="markers",
        marker=marker,
        hovertemplate="predicted %{x:.4g}<br>residual %{y:.4g}<extra></extra>",
        row=1,
        col=2,
    )
    fig.add_hline(y=0, line=line, row=1, col=2)
    fig.update_xaxes(title_text="Actual", row=1, col=1)
    fig.update_yaxes(title_text="Predicted", row=1, col=1)
    fig.update_xaxes(title_text="Predicted", row=1, col=2)
    fig.update_yaxes(title_text="Actual − predicted", row=1, col=2)
    return finish(fig, title, height=380, showlegend=False)

"""Figures about the data and the search: what went in and how the fit went.

Each takes plain arrays or frames, never assay objects, so the report can be assembled from
anything (a fitted model, a stored run, a benchmark result)."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from assay.report._style import (
    ACCENT,
    PALETTE,
    as_float,
    bar_height,
    finish,
    label,
    note_figure,
    same_length,
    unique_labels,
)

if TYPE_CHECKING:
    import plotly.graph_objects as go

MAX_BARS = 30


def target_distribution(y: Any, is_classification: bool) -> go.Figure:
    """Class counts (most frequent first) or a histogram of the target."""
    import plotly.graph_objects as go

    title = "Target distribution"
    values = pd.Series(np.asarray(y, dtype=object) if is_classification else np.asarray(y))
    values = values.dropna()
    if values.empty:
        return note_figure(title, "The target has no non-missing values.")
    fig = go.Figure()
    if is_classification:
        counts = values.value_counts()
        if len(counts) <= MAX_BARS:
            with contextlib.suppress(TypeError):  # labels of mixed types keep count order
                counts = counts.sort_index()
        shown = counts.iloc[:MAX_BARS]
        if len(counts) > MAX_BARS:
            title += f" ({MAX_BARS} most frequent of {len(counts)} classes)"
        share = shown.to_numpy() / counts.sum()
        fig.add_bar(
            x=unique_labels(shown.index),
            y=shown.to_numpy(),
            customdata=share,
            marker_color=ACCENT,
            text=[f"{s:.1%}" for s in share],
            textposition="outside",
            cliponaxis=False,
            hovertemplate="%{x}<br>%{y:,} rows (%{customdata:.1%})<extra></extra>",
        )
        fig.update_xaxes(type="category")
        return finish(fig, title, "Class", "Rows", height=320)
    numbers = as_float(values.to_numpy(), "y", "target_distribution")
    numbers = numbers[np.isfinite(numbers)]
    if numbers.size == 0:
        return note_figure(title, "The target has no finite values.")
    fig.add_histogram(
        x=numbers,
        nbinsx=min(50, max(5, int(np.sqrt(numbers.size)))),
        marker_color=ACCENT,
        hovertemplate="%{x}<br>%{y:,} rows<extra></extra>",
    )
    fig.update_layout(bargap=0.03)
    return finish(fig, title, "Target", "Rows", height=320)


def missing_values(frame: pd.DataFrame) -> go.Figure | None:
    """Share of missing values per column, worst first.

    Returns None when nothing is missing: the caller then writes one line of text instead of
    an empty chart."""
    import plotly.graph_objects as go

    if frame.shape[0] == 0 or frame.shape[1] == 0:
        return None
    counts = frame.isna().sum()
    counts = counts[counts > 0].sort_values(ascending=False, kind="stable")
    if counts.empty:
        return None
    title = "Missing values"
    if len(counts) > MAX_BARS:
        title += f" ({MAX_BARS} worst of {len(counts)} columns with gaps)"
        counts = counts.iloc[:MAX_BARS]
    share = counts.to_numpy() / frame.shape[0]
    fig = go.Figure(
        go.Bar(
            x=share[::-1],
            y=unique_labels(counts.index)[::-1],
            orientation="h",
            customdata=counts.to_numpy()[::-1],
            marker_color="#e08a2c",
            text=[f"{s:.1%}" for s in share[::-1]],
            textposition="outside",
            cliponaxis=False,
            hovertemplate="%{y}<br>%{x:.1%} missing (%{customdata:,} rows)<extra></extra>",
        )
    )
    fig.update_xaxes(tickformat=".0%", range=[0, min(1.0, float(share.max()) * 1.15 + 0.02)])
    fig.update_yaxes(type="category", automargin=True)
    return finish(fig, title, "Share missing", None, height=bar_height(len(counts)))


def search_progress(
    elapsed_s: Sequence[float],
    scores: Sequence[float],
    models: Sequence[str],
    greater_is_better: bool,
) -> go.Figure:
    """Each trial's validation score against time, by model, with the best-so-far as a step.

    Failed trials (score NaN or infinite) are left out of the points and the running best."""
    import plotly.graph_objects as go

    func = "search_progress"
    title = "Search progress"
    same_length(func, elapsed_s=elapsed_s, scores=scores, models=models)
    t = as_float(elapsed_s, "elapsed_s", func)
    s = as_float(scores, "scores", func)
    names = np.asarray([label(m) for m in models], dtype=object)
    ok = np.isfinite(t) & np.isfinite(s)
    if not ok.any():
        return note_figure(title, "No trial finished with a score.")
    order = np.argsort(t[ok], kind="stable")
    t, s, names = t[ok][order], s[ok][order], names[ok][order]
    fig = go.Figure()
    for i, name in enumerate(dict.fromkeys(names)):
        mask = names == name
        fig.add_scatter(
            x=t[mask],
            y=s[mask],
            mode="markers",
            name=name,
            marker={"size": 8, "color": PALETTE[i % len(PALETTE)], "opacity": 0.85},
            hovertemplate=f"{name}<br>%{{x:.1f}} s<br>score %{{y:.4g}}<extra></extra>",
        )
    best = np.maximum.accumulate(s) if greater_is_better else np.minimum.accumulate(s)
    fig.add_scatter(
        x=t,
        y=best,
        mode="lines",
        name="best so far",
        line={"shape": "hv", "color": "#222", "width": 2},
        hovertemplate="best %{y:.4g} at %{x:.1f} s<extra></extra>",
    )
    direction = "higher is better" if greater_is_better else "lower is better"
    return finish(fig, title, "Seconds since start", f"Validation score ({direction})")


def fold_scores(
    models: Sequence[str],
    means: Sequence[float],
    stds: Sequence[float],
) -> go.Figure:
    """Mean cross-validation score ± one standard deviation per leaderboard row, in the
    order given (the leaderboard's rank), first row on top."""
    import plotly.graph_objects as go

    func = "fold_scores"
    title = "Cross-validation scores"
    n = same_length(func, models=models, means=means, stds=stds)
    mean = as_float(means, "means", func)
    std = np.abs(as_float(stds, "stds", func))
    ok = np.isfinite(mean)
    if not ok.any():
        return note_figure(title, "No model has a cross-validation score.")
    rows = [f"#{i + 1} {name}" for i, name in enumerate(unique_labels(models))]
    rows = [r for r, keep in zip(rows, ok, strict=True) if keep]
    mean, std = mean[ok], np.where(np.isfinite(std[ok]), std[ok], 0.0)
    fig = go.Figure(
        go.Scatter(
            x=mean,
            y=rows,
            mode="markers",
            marker={"size": 9, "color": ACCENT},
            error_x={"type": "data", "array": std, "color": ACCENT, "thickness": 1.5},
            customdata=std,
            hovertemplate="%{y}<br>%{x:.4g} ± %{customdata:.3g}<extra></extra>",
        )
    )
    fig.update_yaxes(type="category", autorange="reversed", automargin=True)
    if n > int(ok.sum()):
        title += f" ({n - int(ok.sum())} rows without a score left out)"
    return finish(fig, title, "Mean score ± std over folds", None, height=bar_height(len(rows)))


def ensemble_weights(names: Sequence[str], weights: Sequence[float]) -> go.Figure:
    """The ensemble's member weights, largest on top."""
    import plotly.graph_objects as go

    func = "ensemble_weights"
    title = "Ensemble weights"
    same_length(func, names=names, weights=weights)
    w = as_float(weights, "weights", func)
    labels = np.asarray(unique_labels(names), dtype=object)
    ok = np.isfinite(w)
    if not ok.any():
        return note_figure(title, "The ensemble has no members.")
    w, labels = w[ok], labels[ok]
    order = np.argsort(w, kind="stable")
    total = float(np.sum(np.abs(w))) or 1.0
    fig = go.Figure(
        go.Bar(
            x=w[order],
            y=list(labels[order]),
            orientation="h",
            marker_color=ACCENT,
            text=[f"{v / total:.0%}" for v in w[order]],
            textposition="outside",
            cliponaxis=False,
            hovertemplate="%{y}<br>weight %{x:.3g}<extra></extra>",
        )
    )
    fig.update_yaxes(type="category", automargin=True)
    low, high = min(0.0, float(w.min()) * 1.25), max(0.0, float(w.max()) * 1.25)
    fig.update_xaxes(range=[low, high if high > low else 1.0])
    return finish(fig, title, "Weight", None, height=bar_height(len(w)), showlegend=False)

"""Figures that explain a model: which features matter, in which direction, and how."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from assay.errors import ConfigError
from assay.report._style import (
    ACCENT,
    GREY,
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

MAX_SHAP_ROWS = 2000
MAX_ICE_LINES = 100
# Low values blue, high values red: the convention readers know from SHAP's own plots.
VALUE_SCALE = [[0.0, "#1e88e5"], [0.5, "#9c6fb0"], [1.0, "#ff0d57"]]


def importance_bars(
    features: Sequence[str],
    means: Sequence[float],
    ci_low: Sequence[float] | None,
    ci_high: Sequence[float] | None,
    title: str,
    max_features: int = 25,
) -> go.Figure:
    """Importance per feature with its confidence interval, largest on top; intervals that
    cross zero show at a glance which features may not matter at all."""
    import plotly.graph_objects as go

    func = "importance_bars"
    mean = as_float(means, "means", func)
    same_length(func, features=features, means=mean)
    low = mean if ci_low is None else as_float(ci_low, "ci_low", func)
    high = mean if ci_high is None else as_float(ci_high, "ci_high", func)
    same_length(func, means=mean, ci_low=low, ci_high=high)
    names = np.asarray(unique_labels(features), dtype=object)
    ok = np.isfinite(mean)
    if not ok.any():
        return note_figure(title, "No feature has an importance value.")
    order = np.argsort(-mean[ok], kind="stable")[:max_features]
    mean, low, high, names = mean[ok][order], low[ok][order], high[ok][order], names[ok][order]
    if ok.sum() > len(order):
        title += f" (top {len(order)} of {int(ok.sum())})"
    plus = np.nan_to_num(np.clip(high - mean, 0, None))
    minus = np.nan_to_num(np.clip(mean - low, 0, None))
    fig = go.Figure(
        go.Bar(
            x=mean,
            y=list(names),
            orientation="h",
            marker_color=ACCENT,
            error_x={
                "type": "data",
                "symmetric": False,
                "array": plus,
                "arrayminus": minus,
                "color": "#444",
                "thickness": 1.2,
            },
            customdata=np.column_stack([low, high]),
            hovertemplate=(
                "%{y}<br>%{x:.4g} [%{customdata[0]:.4g}, %{customdata[1]:.4g}]<extra></extra>"
            ),
        )
    )
    fig.update_yaxes(type="category", autorange="reversed", automargin=True)
    return finish(fig, title, "Importance", None, height=bar_height(len(mean)))


def _value_colours(column: pd.Series) -> np.ndarray:
    """A feature's values as within-feature ranks in 0..1, NaN where they have no order
    (categories, text, missing): rank keeps one outlier from washing out the colours."""
    if isinstance(column.dtype, pd.CategoricalDtype) or pd.api.types.is_string_dtype(column):
        numbers = pd.Series(np.nan, index=column.index)
    elif pd.api.types.is_bool_dtype(column) or pd.api.types.is_numeric_dtype(column):
        numbers = column.astype(float)
    else:
        numbers = pd.to_numeric(column, errors="coerce")
        if numbers.notna().sum() < column.notna().sum():
            numbers = pd.Series(np.nan, index=column.index)
    ranks = numbers.rank(method="average")
    n_valid = int(numbers.notna().sum())
    if n_valid <= 1:
        return np.where(numbers.notna(), 0.5, np.nan)
    return ((ranks - 1) / (n_valid - 1)).to_numpy(dtype=float)


def _jitter(x: np.ndarray, rng: np.random.Generator, width: float = 0.38) -> np.ndarray:
    """Vertical offsets that grow with the local density of x: a cheap beeswarm."""
    if x.size < 2 or np.ptp(x) == 0:
        return rng.uniform(-width, width, x.size) * min(1.0, x.size / 50)
    counts, edges = np.histogram(x, bins=40)
    density = counts[np.clip(np.digitize(x, edges[1:-1]), 0, len(counts) - 1)]
    return rng.uniform(-1, 1, x.size) * width * np.sqrt(density / counts.max())


def shap_summary(
    shap_values: Any,
    feature_values: Any,
    feature_names: Sequence[str],
    max_features: int = 15,
) -> go.Figure:
    """One row of points per feature, most important (mean |SHAP|) on top; x is the SHAP
    value, colour the feature's value (blue low, red high, grey where values are not
    numbers), so the direction of each effect is visible."""
    import plotly.graph_objects as go

    func = "shap_summary"
    title = "SHAP summary"
    values = np.asarray(shap_values, dtype=float)
    if values.ndim != 2:
        raise ConfigError(
            f"{func}: `shap_values` must be 2-D (rows, features), got shape {values.shape}; "
            "for a multiclass model pass the values of one class"
        )
    frame = pd.DataFrame(feature_values)
    if frame.shape != values.shape or len(feature_names) != values.shape[1]:
        raise ConfigError(
            f"{func}: `shap_values` has shape {values.shape}, `feature_values` "
            f"{frame.shape} and `feature_names` {len(feature_names)} entries; "
            "pass one column and one name per feature, one row per explained row"
        )
    if values.size == 0:
        return note_figure(title, "No SHAP values to show.")
    rng = np.random.default_rng(0)
    if values.shape[0] > MAX_SHAP_ROWS:
        keep = np.sort(rng.choice(values.shape[0], MAX_SHAP_ROWS, replace=False))
        values, frame = values[keep], frame.iloc[keep]
        title += f" (a random {MAX_SHAP_ROWS:,} rows)"
    importance = np.nanmean(np.abs(values), axis=0)
    order = np.argsort(-np.nan_to_num(importance, nan=-1.0), kind="stable")[:max_features]
    names = unique_labels(feature_names)
    fig = go.Figure()
    for row, j in enumerate(order):
        x = values[:, j]
        colour = _value_colours(frame.iloc[:, j].reset_index(drop=True))
        y = row + _jitter(np.nan_to_num(x), rng)
        shown = [label(v) for v in frame.iloc[:, j]]
        for has_order in (True, False):
            mask = np.isfinite(colour) == has_order
            if not mask.any():
                continue
            marker: dict[str, Any] = {"size": 4, "opacity": 0.75}
            if has_order:
                marker.update(color=colour[mask], coloraxis="coloraxis")
            else:
                marker.update(color=GREY)
            fig.add_scatter(
                x=x[mask],
                y=y[mask],
                mode="markers",
                marker=marker,
                customdata=[v for v, m in zip(shown, mask, strict=True) if m],
                hovertemplate=f"{names[j]} = %{{customdata}}<br>SHAP %{{x:.4g}}<extra></extra>",
            )
    fig.add_vline(x=0, line={"color": "#bbb", "width": 1})
    fig.update_layout(
        coloraxis={
            "colorscale": VALUE_SCALE,
            "cmin": 0,
            "cmax": 1,
            "colorbar": {
                "title": {"text": "Feature value", "side": "right"},
                "tickvals": [0, 1],
                "ticktext": ["low", "high"],
                "thickness": 12,
                "len": 0.8,
            },
        }
    )
    fig.update_yaxes(
        tickvals=list(range(len(order))),
        ticktext=[names[j] for j in order],
        autorange="reversed",
        showgrid=False,
        zeroline=False,
        automargin=True,
    )
    if values.shape[1] > len(order):
        title += f", top {len(order)} of {values.shape[1]} features"
    height = int(min(900, max(240, 110 + 34 * len(order))))
    return finish(fig, title, "SHAP value (effect on the prediction)", None, height, False)


def _numeric_grid(grid: Sequence[Any]) -> np.ndarray | None:
    array = np.asarray(grid)
    if array.dtype.kind not in "iuf":
        return None
    return array.astype(float)


def partial_dependence(
    feature: str,
    grid: Sequence[Any],
    mean: Sequence[float] | np.ndarray,
    ice: Any = None,
) -> go.Figure:
    """The average prediction as `feature` moves over `grid`, with optional faint ICE lines
    (one per row: lines that disagree with the average reveal interactions). A numeric grid
    is a line; any other grid is treated as categories."""
    import plotly.graph_objects as go

    func = "partial_dependence"
    name = label(feature)
    title = f"Partial dependence on {name}"
    average = as_float(mean, "mean", func)
    same_length(func, grid=grid, mean=average)
    if average.size == 0:
        return note_figure(title, "The grid is empty.")
    numeric = _numeric_grid(grid)
    x = numeric if numeric is not None else unique_labels(grid)
    fig = go.Figure()
    if ice is not None:
        lines = np.asarray(ice, dtype=float)
        if lines.ndim != 2 or lines.shape[1] != average.size:
            raise ConfigError(
                f"{func}: `ice` has shape {lines.shape}; pass one row per sample with one "
                f"value per grid point ({average.size})"
            )
        if lines.shape[0] > MAX_ICE_LINES:
            rng = np.random.default_rng(0)
            lines = lines[rng.choice(lines.shape[0], MAX_ICE_LINES, replace=False)]
            title += f" ({MAX_ICE_LINES} of the ICE lines)"
        # One trace with gaps between rows draws a hundred lines for the cost of one.
        xs = [v for _ in range(lines.shape[0]) for v in [*x, None]]
        ys = [v for row in lines for v in [*row.tolist(), None]]
        fig.add_scatter(
            x=xs,
            y=ys,
            mode="lines",
            line={"color": "rgba(120,120,120,0.18)", "width": 1},
            hoverinfo="skip",
            name="individual rows (ICE)",
        )
    fig.add_scatter(
        x=x,
        y=average,
        mode="lines+markers" if numeric is not None else "markers",
        line={"color": ACCENT, "width": 3},
        marker={"size": 6 if numeric is not None else 10},
        name="average",
        hovertemplate=f"{name} = %{{x}}<br>prediction %{{y:.4g}}<extra></extra>",
    )
    if numeric is None:
        fig.update_xaxes(type="category")
    return finish(fig, title, name, "Average prediction", height=340, showlegend=ice is not None)

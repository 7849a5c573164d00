"""Shared look and input checks for the report figures.

Every figure goes through `finish` so the report reads as one document: the same template,
font, margins and compact heights. Labels that come from data are HTML-escaped because
plotly.js renders its text as pseudo-HTML (a class called `<b>` would turn bold)."""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from assay.errors import ConfigError

if TYPE_CHECKING:
    import plotly.graph_objects as go

FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"
PALETTE = (
    "#3366cc",
    "#dc3912",
    "#ff9900",
    "#109618",
    "#990099",
    "#0099c6",
    "#dd4477",
    "#66aa00",
    "#b82e2e",
    "#316395",
)
ACCENT = PALETTE[0]
GREY = "#9e9e9e"
HEIGHT = 360


def label(value: Any) -> str:
    """A data value as safe plotly text: plotly.js would otherwise interpret tags in it."""
    return html.escape(str(value), quote=False)


def unique_labels(values: Iterable[Any]) -> list[str]:
    """Escaped labels with ` (2)`, ` (3)` added to repeats: plotly merges equal categories."""
    seen: dict[str, int] = {}
    out = []
    for value in values:
        text = label(value)
        seen[text] = seen.get(text, 0) + 1
        out.append(text if seen[text] == 1 else f"{text} ({seen[text]})")
    return out


def as_float(values: Any, name: str, func: str) -> np.ndarray:
    """A 1-D float array, or a ConfigError that names the argument."""
    try:
        array = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{func}: `{name}` must be numeric ({exc}); pass numbers") from exc
    if array.ndim != 1:
        raise ConfigError(f"{func}: `{name}` must be 1-D, got shape {array.shape}")
    return array


def same_length(func: str, **arrays: Sequence[Any] | np.ndarray) -> int:
    """The common length, or a ConfigError listing each argument's length."""
    lengths = {name: len(values) for name, values in arrays.items()}
    if len(set(lengths.values())) > 1:
        given = ", ".join(f"`{k}` has {v}" for k, v in lengths.items())
        raise ConfigError(f"{func}: {given}; pass one value per item in each")
    return next(iter(lengths.values()), 0)


def finish(
    fig: go.Figure,
    title: str,
    x_title: str | None = None,
    y_title: str | None = None,
    height: int = HEIGHT,
    showlegend: bool | None = None,
) -> go.Figure:
    """Apply the report's common layout; returns the same figure for chaining."""
    fig.update_layout(
        template="plotly_white",
        title={"text": title, "x": 0.01, "xanchor": "left", "font": {"size": 15}},
        font={"family": FONT, "size": 12, "color": "#222"},
        height=int(height),
        margin={"l": 60, "r": 20, "t": 50, "b": 50},
        legend={"font": {"size": 11}},
        hoverlabel={"font": {"family": FONT}},
        colorway=list(PALETTE),
    )
    if showlegend is not None:
        fig.update_layout(showlegend=showlegend)
    if x_title is not None:
        fig.update_xaxes(title_text=x_title)
    if y_title is not None:
        fig.update_yaxes(title_text=y_title)
    return fig


def note_figure(title: str, message: str, height: int = 180) -> go.Figure:
    """A figure that says why there is nothing to plot, so the report keeps its shape."""
    import plotly.graph_objects as go

    fig = go.Figure()
    fig.add_annotation(
        text=html.escape(message, quote=False),
        x=0.5,
        y=0.5,
        xref="paper",
        yref="paper",
        showarrow=False,
        font={"size": 13, "color": "#666"},
    )
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return finish(fig, title, height=height, showlegend=False)


def bar_height(n_bars: int, base: int = 110, per_bar: int = 24, low: int = 220) -> int:
    """Height for a horizontal bar chart: rows stay readable, small charts stay small."""
    return int(min(max(low, base + per_bar * n_bars), 900))

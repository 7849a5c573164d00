"""One self-contained HTML page from sections of figures, tables and notes.

The page must open offline, years later, attached to an email: so plotly.js is inlined once,
CSS is inline, nothing refers to a URL, and a Content-Security-Policy forbids the browser
from fetching anything even if some library tried. Everything that comes from data is
escaped, because column names and class labels are user input."""

from __future__ import annotations

import html
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from assay._atomic import atomic_write_text
from assay.errors import ConfigError

if TYPE_CHECKING:
    import plotly.graph_objects as go

MAX_TABLE_ROWS = 50
MAX_TABLE_COLUMNS = 40
PLOT_CONFIG = {"responsive": True, "displaylogo": False}
CSP = (
    "default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval'; "
    "style-src 'unsafe-inline'; img-src data: blob:; font-src data:"
)
CSS = """
*{box-sizing:border-box}
body{margin:0;background:#f3f4f6;color:#1f2328;
 font:15px/1.55 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
.page{max-width:1120px;margin:0 auto;padding:28px 20px 48px}
header h1{font-size:27px;margin:0 0 4px;letter-spacing:-.01em}
header p{margin:0;color:#57606a}
.card{background:#fff;border:1px solid #e1e4e8;border-radius:10px;padding:18px 22px;
 margin:18px 0;box-shadow:0 1px 2px rgba(0,0,0,.04)}
h2{font-size:19px;margin:0 0 8px}
nav h2{font-size:15px;color:#57606a;text-transform:uppercase;letter-spacing:.04em}
nav ol{margin:0;padding-left:22px;columns:2 260px}
nav a,footer a{color:#2455b8;text-decoration:none}
nav a:hover{text-decoration:underline}
.intro{margin:0 0 8px;color:#3d444d}
.figure{margin:6px 0 14px;min-width:0}
.note{margin:10px 0;padding:8px 12px;background:#f6f8fa;border-left:3px solid #3366cc;
 border-radius:4px}
.note p{margin:4px 0}
.table{overflow-x:auto;margin:10px 0}
table{border-collapse:collapse;font-size:13px}
th,td{padding:5px 10px;border-bottom:1px solid #eaecef;text-align:left;white-space:nowrap}
thead th{background:#f6f8fa;font-weight:600;border-bottom:1px solid #d0d7de}
tbody tr:hover{background:#f9fafb}
.num{text-align:right;font-variant-numeric:tabular-nums}
.muted{color:#6e7781;font-size:13px;margin:4px 0}
footer{color:#6e7781;font-size:12px;text-align:center;margin-top:28px}
@media print{body{background:#fff}nav{display:none}.card{break-inside:avoid;box-shadow:none}}
"""


@dataclass(frozen=True)
class Html:
    """Markup inserted as is. Only for HTML the caller wrote itself, never for data."""

    markup: str


@dataclass
class Section:
    """A titled card of the report.

    A block is a plotly Figure, a pandas DataFrame (or Series) shown as a table, a str shown
    as escaped text (blank lines start paragraphs), or `Html`. None blocks are skipped, so an
    optional figure such as `missing_values(frame)` can be passed as is."""

    title: str
    intro: str | None = None
    blocks: list[Any] = field(default_factory=list)


@lru_cache(maxsize=1)
def _plotly_js() -> str:
    import plotly.offline

    return plotly.offline.get_plotlyjs()


def format_value(value: Any) -> str:
    """A cell as short readable text: 4 significant digits, thousands grouped when large."""
    if value is None or (pd.api.types.is_scalar(value) and pd.isna(value)):
        return "–"
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        v = float(value)
        if np.isinf(v):
            return "∞" if v > 0 else "−∞"
        if 1e4 <= abs(v) < 1e15:
            return f"{v:,.0f}"
        return f"{v:.4g}"
    return str(value)


def _column_name(name: Any) -> str:
    return " / ".join(map(str, name)) if isinstance(name, tuple) else str(name)


def _table(frame: pd.DataFrame, max_rows: int) -> str:
    n_rows, n_cols = frame.shape
    shown = frame.iloc[:max_rows, :MAX_TABLE_COLUMNS]
    show_index = not isinstance(frame.index, pd.RangeIndex) or frame.index.name is not None
    numeric = [
        pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)
        for dtype in shown.dtypes
    ]
    head = []
    if show_index:
        head.append(f"<th>{html.escape(_column_name(frame.index.name or ''))}</th>")
    for name, is_num in zip(shown.columns, numeric, strict=True):
        cls = ' class="num"' if is_num else ""
        head.append(f"<th{cls}>{html.escape(_column_name(name))}</th>")
    body = []
    for index, row in zip(shown.index, shown.itertuples(index=False, name=None), strict=True):
        cells = [f"<th>{html.escape(format_value(index))}</th>"] if show_index else []
        for value, is_num in zip(row, numeric, strict=True):
            cls = ' class="num"' if is_num else ""
            cells.append(f"<td{cls}>{html.escape(format_value(value))}</td>")
        body.append(f"<tr>{''.join(cells)}</tr>")
    notes = []
    if n_rows > max_rows:
        notes.append(f"Showing the first {max_rows:,} of {n_rows:,} rows.")
    if n_cols > MAX_TABLE_COLUMNS:
        notes.append(f"Showing the first {MAX_TABLE_COLUMNS} of {n_cols:,} columns.")
    if n_rows == 0:
        notes.append("The table is empty.")
    note = f'<p class="muted">{" ".join(notes)}</p>' if notes else ""
    return (
        f'<div class="table"><table><thead><tr>{"".join(head)}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>{note}"
    )


def _text(text: str) -> str:
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
    inner = "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
    return f'<div class="note">{inner}</div>'


def _figure(fig: go.Figure, n: int) -> str:
    height = fig.layout.height or 400
    div = fig.to_html(
        full_html=False,
        include_plotlyjs=False,
        include_mathjax=False,
        config=PLOT_CONFIG,
        default_height=f"{int(height)}px",
        div_id=f"figure-{n}",
    )
    return f'<div class="figure">{div}</div>'


def _block(block: Any, where: str, n_figures: int, max_rows: int) -> tuple[str, int]:
    """(HTML, figures used) for one block; the count gives each plot a stable div id."""
    from plotly.basedatatypes import BaseFigure

    if isinstance(block, BaseFigure):
        return _figure(block, n_figures + 1), 1
    if isinstance(block, pd.Series):
        block = block.to_frame()
    if isinstance(block, pd.DataFrame):
        return _table(block, max_rows), 0
    if isinstance(block, Html):
        return block.markup, 0
    if isinstance(block, str):
        return _text(block), 0
    raise ConfigError(
        f"render_html: {where} is a {type(block).__name__}; pass a plotly Figure, "
        "a pandas DataFrame, a str or assay.report.Html"
    )


def _anchor(n: int, title: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:40]
    return f"s{n}-{slug}" if slug else f"s{n}"


def render_html(
    title: str,
    sections: Sequence[Section],
    subtitle: str | None = None,
    max_table_rows: int = MAX_TABLE_ROWS,
) -> str:
    """The whole report as one HTML string that works offline."""
    from assay._version import __version__

    toc, cards, n_figures = [], [], 0
    for i, section in enumerate(sections, 1):
        if not isinstance(section, Section):
            raise ConfigError(
                f"render_html: `sections[{i - 1}]` is a {type(section).__name__}; "
                "pass assay.report.Section objects"
            )
        anchor = _anchor(i, section.title)
        toc.append(f'<li><a href="#{anchor}">{html.escape(section.title)}</a></li>')
        parts = [f"<h2>{html.escape(section.title)}</h2>"]
        if section.intro:
            parts.append(f'<p class="intro">{html.escape(section.intro)}</p>')
        for j, block in enumerate(section.blocks):
            if block is None:
                continue
            where = f"block {j} of section {section.title!r}"
            markup, used = _block(block, where, n_figures, max_table_rows)
            n_figures += used
            parts.append(markup)
        cards.append(f'<section class="card" id="{anchor}">{"".join(parts)}</section>')
    sub = f"<p>{html.escape(subtitle)}</p>" if subtitle else ""
    nav = f'<nav class="card"><h2>Contents</h2><ol>{"".join(toc)}</ol></nav>' if toc else ""
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en">',
            "<head>",
            '<meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
            f'<meta name="generator" content="assay {html.escape(__version__)}">',
            f"<title>{html.escape(title)}</title>",
            f"<style>{CSS}</style>",
            f'<script type="text/javascript">{_plotly_js()}</script>',
            "</head>",
            '<body><div class="page">',
            f"<header><h1>{html.escape(title)}</h1>{sub}</header>",
            nav,
            *cards,
            f"<footer>Made by assay {html.escape(__version__)}. Self-contained: this page "
            "loads nothing from the network.</footer>",
            "</div></body>",
            "</html>",
        ]
    )


def write_html(
    path: str | os.PathLike[str],
    title: str,
    sections: Sequence[Section],
    subtitle: str | None = None,
) -> Path:
    """Render and write the report; a temporary file renamed into place means a crash never
    leaves half a report where a finished one is expected."""
    target = Path(path)
    page = render_html(title, sections, subtitle)
    target.parent.mkdir(parents=True, exist_ok=True)
    # readable by others whatever the umask: a report is meant to be shared
    return atomic_write_text(target, page, permissions=0o644)

"""Rendering for the CLI: results on stdout, progress on stderr."""

from __future__ import annotations

import math
import sys

from rich.console import Console
from rich.table import Table
from rich.text import Text

# What is printed is printed as it is: no markup read (a path or column with "[final]" in
# its name would lose it, one with "[/x]" would raise), and, off a terminal, no line broken
# (a path longer than the line came out on a line of its own, or cut in two, for a script
# reading "Report written to PATH"). Styles are given as such (`styled`).
stdout = Console(
    highlight=False,
    markup=False,
    soft_wrap=not sys.stdout.isatty(),
    width=None if sys.stdout.isatty() else 140,
)
stderr = Console(stderr=True, highlight=False, markup=False, soft_wrap=not sys.stderr.isatty())


def styled(text: str, style: str, rest: str = "") -> Text:
    """`text` in `style` (rich's: "yellow", "dim"), then `rest` unstyled; both as given."""
    return Text.assemble((text, style), rest)


def fmt(value, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def table(frame, title: str | None = None) -> Table:
    """Numbers are never squeezed; long text (configs, paths) is cut with an ellipsis."""
    import pandas as pd

    cells = [[fmt(v) for v in row] for row in frame.itertuples(index=False)]
    out = Table(title=title, show_lines=False)
    for i, column in enumerate(frame.columns):
        numeric = pd.api.types.is_numeric_dtype(frame[column])
        width = max([len(str(column))] + [len(row[i]) for row in cells])
        out.add_column(
            str(column),
            justify="right" if numeric else "left",
            no_wrap=True,
            overflow="ellipsis",
            min_width=width if numeric else min(width, 12),
            max_width=None if numeric else 40,
        )
    for row in cells:
        out.add_row(*row)
    return out


OUTPUT_FORMATS = ("table", "json", "csv")


def format_option():
    """`--format`: a table for people, or JSON records or CSV for scripts."""
    import typer

    return typer.Option(
        "table",
        "--format",
        help="table (for reading), json (a list of records) or csv (with a header), for scripts.",
        case_sensitive=False,
    )


def print_frame(frame, output: str, title: str | None = None) -> bool:
    """`frame` in the chosen format on stdout; True when it went out as a table (the only
    format that may be followed by more text). JSON and CSV are written as they are, with
    no wrapping, markup or rounding; JSON gives NaN as null."""
    if output == "table":
        stdout.print(table(frame, title=title))
        return True
    if output == "json":
        sys.stdout.write(frame.to_json(orient="records", double_precision=15) + "\n")
    else:
        sys.stdout.write(frame.to_csv(index=False))
    sys.stdout.flush()
    return False


def print_leaderboard(predictor, title: str, output: str = "table") -> None:
    """The leaderboard, then (as a table) whether its top entry beats the runner-up
    significantly."""
    if not print_frame(predictor.leaderboard(), output, title=title):
        return
    significance = predictor.info.get("significance")
    if significance:
        stdout.print(significance["sentence"])
        if significance.get("caveat"):
            stdout.print(styled(significance["caveat"], "dim"))


def use_store(url: str | None) -> None:
    """`--store URL`: this command's store (as ASSAY_STORE would set it), checked at once."""
    if not url:
        return
    import os

    from assay.store import open_store

    open_store(url).close()  # a bad URL or an unreachable server fails here, clearly
    os.environ["ASSAY_STORE"] = url

"""The report page: self-contained, escaped, written atomically, and drawn by a real browser."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import chromium_page as browser
import numpy as np
import pandas as pd
import plotly.offline
import pytest

from assay.errors import ConfigError
from assay.report import (
    Html,
    Section,
    confusion_matrix,
    ensemble_weights,
    fold_scores,
    importance_bars,
    missing_values,
    partial_dependence,
    pr_curves,
    render_html,
    residual_plots,
    roc_curves,
    search_progress,
    shap_summary,
    target_distribution,
    write_html,
)

EVIL = "<script>alert(1)</script>"


def _classification(rng: np.random.Generator, n_classes: int, n: int = 300):
    y = rng.integers(0, n_classes, n)
    logits = rng.normal(size=(n, n_classes))
    logits[np.arange(n), y] += 1.5
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return y, proba, proba.argmax(axis=1)


def build_sections() -> tuple[list[Section], int]:
    """Every figure kind on small synthetic data, a table and notes; and the figure count."""
    rng = np.random.default_rng(0)
    n = 300
    frame = pd.DataFrame(
        {
            "age": rng.normal(40, 12, n),
            "income": rng.lognormal(10, 1, n),
            "city": rng.choice(["Oslo", "Lima", "Pune"], n),
            EVIL: rng.normal(size=n),
        }
    )
    frame.loc[rng.random(n) < 0.2, "income"] = np.nan
    frame.loc[rng.random(n) < 0.05, EVIL] = np.nan
    y_bin, p_bin, pred_bin = _classification(rng, 2)
    y_multi, p_multi, pred_multi = _classification(rng, 3)
    y_reg = 3 * frame["age"].to_numpy() + rng.normal(0, 10, n)
    pred_reg = y_reg + rng.normal(0, 8, n)
    shap = rng.normal(size=(n, 4)) * np.array([3.0, 1.0, 0.5, 2.0])
    grid = np.linspace(20, 70, 15)
    ice = grid[None, :] * 0.1 + rng.normal(0, 1, (40, 1))
    models = ["lightgbm", "xgboost", "catboost", "linear"]
    leaderboard = pd.DataFrame(
        {
            "model": models,
            "score": [0.91234, 0.9034, 0.89, 0.812345],
            "fit_s": [12.5, 30.25, 95.0, 0.4],
            "rows": [12345, 12345, 12345, 12345],
        }
    )
    figures = [
        target_distribution(y_bin, True),
        target_distribution(y_reg, False),
        missing_values(frame),
        search_progress(np.arange(12) * 5.0, rng.uniform(0.8, 0.92, 12), models * 3, True),
        fold_scores(models, [0.91, 0.90, 0.89, 0.81], [0.01, 0.02, 0.015, 0.03]),
        ensemble_weights(models[:3], [0.5, 0.3, 0.2]),
        roc_curves(y_bin, p_bin, ["no", "yes"]),
        pr_curves(y_bin, p_bin, ["no", "yes"]),
        confusion_matrix(y_bin, pred_bin, ["no", "yes"]),
        roc_curves(y_multi, p_multi, ["a", "b", EVIL]),
        pr_curves(y_multi, p_multi, ["a", "b", EVIL]),
        confusion_matrix(y_multi, pred_multi, ["a", "b", EVIL]),
        residual_plots(y_reg, pred_reg),
        importance_bars(
            list(frame.columns),
            [0.3, 0.1, 0.05, 0.2],
            [0.25, 0.0, -0.01, 0.1],
            [0.35, 0.2, 0.1, 0.3],
            "Permutation importance",
        ),
        shap_summary(shap, frame, list(frame.columns)),
        partial_dependence("age", grid, ice.mean(axis=0), ice),
        partial_dependence("city", ["Oslo", "Lima", "Pune"], [0.2, 0.5, 0.4]),
        search_progress([], [], [], True),  # nothing finished: a note figure
    ]
    sections = [
        Section("Data", "What the model was trained on.", [*figures[:3], frame.describe()]),
        Section("Search", None, [*figures[3:6], leaderboard, "Four models were tried."]),
        Section("Binary classification", None, figures[6:9]),
        Section(f"Multiclass {EVIL}", None, figures[9:12]),
        Section("Regression", None, [figures[12]]),
        Section("Explanations", None, [*figures[13:], Html("<p><b>Trusted</b> markup.</p>")]),
        Section("Long table", None, [pd.DataFrame({"i": range(80), "x": np.arange(80) / 7})]),
    ]
    return sections, len(figures)


@pytest.fixture(scope="module")
def page() -> str:
    return render_html("Report <test>", build_sections()[0], subtitle="Synthetic data")


class _Links(HTMLParser):
    """src and href attributes of real tags (text inside <script> is not parsed as tags)."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.urls += [value or "" for name, value in attrs if name in ("src", "href")]


def test_plotly_js_is_inlined_exactly_once(page):
    assert page.count(plotly.offline.get_plotlyjs()) == 1
    assert page.count("Plotly.newPlot(") == build_sections()[1]


def test_page_refers_to_no_outside_url(page):
    links = _Links()
    links.feed(page)
    assert links.urls, "the table of contents should give at least one href"
    outside = [url for url in links.urls if re.match(r"\s*(https?:|//)", url, re.I)]
    assert outside == []
    assert all(url.startswith("#") for url in links.urls)
    assert "link" not in links.tags
    style = page[page.index("<style>") : page.index("</style>")]
    assert "url(" not in style and "@import" not in style
    outside_plotly_js = page.replace(plotly.offline.get_plotlyjs(), "")
    assert "mathjax" not in outside_plotly_js.lower()


def test_text_from_data_is_escaped(page):
    assert EVIL not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page  # the table header and title
    assert "<title>Report &lt;test&gt;</title>" in page
    assert "<p><b>Trusted</b> markup.</p>" in page


def test_tables_are_formatted_and_truncated(page):
    assert "Showing the first 50 of 80 rows." in page
    assert ">0.9123<" in page and ">12,345<" not in page  # 4 significant digits, ints as is
    assert "<tr>" in page and 'class="num"' in page


def test_write_html_is_atomic(tmp_path):
    sections, _ = build_sections()
    path = write_html(tmp_path / "out" / "report.html", "Report", sections)
    assert [p.name for p in path.parent.iterdir()] == ["report.html"]
    assert path.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    before = path.read_bytes()
    with pytest.raises(ConfigError, match="block 0 of section 'Bad'"):
        write_html(path, "Report", [Section("Bad", None, [object()])])
    assert [p.name for p in path.parent.iterdir()] == ["report.html"]
    assert path.read_bytes() == before


@pytest.mark.browser
def test_browser_draws_every_chart_without_errors(tmp_path):
    sections, n_figures = build_sections()
    path = write_html(tmp_path / "report.html", "Report <test>", sections, "Synthetic data")
    shot = tmp_path / "report.png"
    check = browser.check_page(path, shot)
    assert check.page_errors == []
    assert check.console_errors == []
    assert check.outside_requests == []
    assert check.dialogs == []  # the escaped <script>alert(1)</script> never ran
    assert n_figures > 0
    assert check.n_plots == n_figures
    assert check.n_drawn == n_figures
    assert check.page_width <= browser.VIEWPORT["width"]  # nothing forces sideways scrolling
    png = shot.read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert width == browser.VIEWPORT["width"] and height > 3000
    assert len(png) > 100_000


BROKEN_PAGE = """<!DOCTYPE html><html><body>
<div class="plotly-graph-div" style="height:100px"></div>
<img src="http://127.0.0.1:9/pixel.png">
<script>console.error("broken on purpose"); alert("hi"); throw new Error("boom");</script>
</body></html>"""


@pytest.mark.browser
def test_browser_check_catches_a_broken_page(tmp_path):
    """The check itself can fail: a blank chart, errors, a dialog and an outside request."""
    path = tmp_path / "broken.html"
    path.write_text(BROKEN_PAGE, encoding="utf-8")
    check = browser.check_page(path, tmp_path / "broken.png", timeout_s=3)
    assert (check.n_plots, check.n_drawn) == (1, 0)
    assert any("boom" in error for error in check.page_errors)
    assert "broken on purpose" in check.console_errors
    assert check.outside_requests == ["http://127.0.0.1:9/pixel.png"]
    assert check.dialogs == ["hi"]
    assert (tmp_path / "broken.png").read_bytes().startswith(b"\x89PNG")


@pytest.mark.parametrize("ci", ["1", None])
def test_missing_browser_skips_locally_and_fails_under_ci(tmp_path, monkeypatch, ci):
    monkeypatch.setattr(browser, "CHROMIUM", tmp_path / "no-chromium")
    if ci:
        monkeypatch.setenv("CI", ci)
        expected = pytest.fail.Exception
    else:
        monkeypatch.delenv("CI", raising=False)
        expected = pytest.skip.Exception
    with pytest.raises(expected, match="make setup"):
        browser.check_page(tmp_path / "x.html", tmp_path / "x.png")

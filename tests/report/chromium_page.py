"""Open an HTML file in a real headless Chromium and report what a reader would see.

A page can pass every string check and still show blank charts (a script error, a missing
library, a blocked request), so the report tests look at it in a browser. Without Chromium
or playwright the check skips with a hint, except under CI, where it must run and so fails."""

from __future__ import annotations

import contextlib
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1280, "height": 900}
# Plot divs, and those plotly has drawn: a .main-svg with a real size.
COUNT_JS = """() => {
  const divs = [...document.querySelectorAll('.plotly-graph-div')];
  const drawn = divs.filter(d => {
    const svg = d.querySelector('.main-svg');
    if (!svg) return false;
    const box = svg.getBoundingClientRect();
    return box.width > 0 && box.height > 0;
  });
  return {plots: divs.length, drawn: drawn.length,
          page_width: document.documentElement.scrollWidth};
}"""
DRAWN_JS = f"""() => {{
  const c = ({COUNT_JS})();
  return document.readyState === 'complete' && !!window.Plotly && c.plots > 0 &&
         c.drawn === c.plots;
}}"""


@dataclass
class PageCheck:
    """What the browser saw. `n_drawn < n_plots` means some chart stayed blank."""

    n_plots: int = 0
    n_drawn: int = 0
    page_width: int = 0
    page_errors: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    outside_requests: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    screenshot: Path | None = None


def _unavailable(reason: str) -> None:
    message = f"{reason}: run `make setup` (it installs playwright and Debian's chromium)"
    if os.environ.get("CI"):
        pytest.fail(f"{message}; CI is set, so the browser test must run", pytrace=False)
    pytest.skip(message)


def check_page(
    html_path: str | os.PathLike[str],
    screenshot_path: str | os.PathLike[str],
    timeout_s: float = 60.0,
) -> PageCheck:
    """Load `html_path` from disk, wait for plotly to draw, count the charts, collect errors
    and every request that is not file: or data: (aborted, so nothing leaves the machine),
    and save a full-page screenshot."""
    try:
        from playwright.sync_api import TimeoutError as PlaywrightTimeout
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright is not installed")
    if not os.access(CHROMIUM, os.X_OK):
        _unavailable(f"Chromium is not installed at {CHROMIUM}")
    result = PageCheck(screenshot=Path(screenshot_path))

    def route(route) -> None:
        url = route.request.url
        if url.startswith(("file:", "data:")):
            route.continue_()
        else:
            result.outside_requests.append(url)
            route.abort()

    def console(message) -> None:
        if message.type == "error":
            result.console_errors.append(message.text)

    def dialog(box) -> None:
        result.dialogs.append(box.message)
        box.dismiss()

    with tempfile.TemporaryDirectory(prefix="assay-chromium-") as profile, sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            profile,
            executable_path=str(CHROMIUM),
            headless=True,
            args=ARGS,
            viewport=VIEWPORT,
            timeout=timeout_s * 1000,
        )
        try:
            context.route("**/*", route)
            page = context.pages[0] if context.pages else context.new_page()
            page.on("pageerror", lambda error: result.page_errors.append(str(error)))
            page.on("console", console)
            page.on("dialog", dialog)
            page.goto(Path(html_path).resolve().as_uri(), wait_until="load")
            # On a timeout the counts below say which charts stayed blank.
            with contextlib.suppress(PlaywrightTimeout):
                page.wait_for_function(DRAWN_JS, timeout=timeout_s * 1000)
            counts = page.evaluate(COUNT_JS)
            result.n_plots, result.n_drawn = counts["plots"], counts["drawn"]
            result.page_width = counts["page_width"]
            page.screenshot(path=str(screenshot_path), full_page=True)
        finally:
            context.close()
    return result

"""index.html in real headless Chromium: loads offline without console errors and shows the verdicts."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import pytest

from harness.report.writer import write_reports
from harness.verify.results import RunResult

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


SKIP_WITHOUT_CHROMIUM = pytest.mark.skipif(
    CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run installs it)"
)
Test = TypeVar("Test", bound=Callable[..., None])


def needs_chromium(test: Test) -> Test:
    """Marked `chromium`, and skipped where the browser is not installed."""
    return pytest.mark.chromium(SKIP_WITHOUT_CHROMIUM(test))


@contextmanager
def chromium_page(
    uri: str, errors: list[str], *, console: bool = False, requests: list[str] | None = None
) -> Iterator[Any]:
    """A page of headless Chromium, loaded from `uri`. Uncaught page errors go to `errors`, and
    with `console` the console's errors too; with `requests`, the URL of every request made."""
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            if console:
                page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            if requests is not None:
                page.on("request", lambda r: requests.append(r.url))
            page.goto(uri)
            page.wait_for_load_state("load")
            yield page
        finally:
            browser.close()


@contextmanager
def report_page(run: RunResult, folder: Path, requests: list[str] | None = None) -> Iterator[Any]:
    """The run's index.html, written to `folder`, in headless Chromium. After the checks the
    page showed no error: none uncaught, none on the console."""
    errors: list[str] = []
    html = write_reports(run, folder, ["html"])["html"]
    with chromium_page(html.as_uri(), errors, console=True, requests=requests) as page:
        yield page
    assert errors == []


pytestmark = [pytest.mark.chromium, SKIP_WITHOUT_CHROMIUM]


def test_html_report_renders_in_headless_chromium(sample_run: RunResult, tmp_path: Path) -> None:
    requests: list[str] = []
    with report_page(sample_run, tmp_path, requests) as page:
        shot = tmp_path / "report.png"
        page.screenshot(path=str(shot), full_page=True)
        matrix = page.locator("#verdict-matrix")
        rows = matrix.locator("tbody tr")
        assert rows.count() == len(sample_run.claims)
        for claim in sample_run.claims:
            row = matrix.locator(f'tr[data-claim="{claim.claim_id}"]')
            assert row.locator(".verdict").inner_text() == claim.verdict.value
            assert row.is_visible()
        # The title is escaped, never executed.
        assert "<script>" in page.locator("#claim-ticket-cap h3").inner_text()
        for chart in ("#chart-kill-ratio", "#chart-runtime", "#chart-verdicts"):
            box = page.locator(chart).bounding_box()
            assert box is not None and box["width"] > 100 and box["height"] > 20
        assert page.locator("#chart-kill-ratio g.claim-bar").count() == 2  # two claims ran mutants
        assert "50%" in page.locator("#chart-kill-ratio").inner_html()
        # The one gap is shown apart from the one weak spot, each with its diff.
        assert page.locator("table.mutants-gap tr.mutant-survived").count() == 1
        assert page.locator("table.mutants-weak tr.mutant-weak").count() == 1
        assert page.locator("#claim-ticket-cap table.mutants-weak").is_visible()
    assert all(url.startswith("file://") for url in requests), requests
    assert shot.stat().st_size > 10_000

"""index.html: a static page (no network, no scripts) with the verdict matrix, evidence and charts."""

from __future__ import annotations

from importlib import resources

import jinja2

from ..verify.results import RunResult
from . import charts
from .summary import evidence_cells, finding_count


def render_html(run: RunResult) -> str:
    template_text = (
        resources.files("harness.report").joinpath("templates/index.html.j2").read_text("utf-8")
    )
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    template = env.from_string(template_text)
    return template.render(
        run=run,
        counts=run.counts(),
        colors=charts.COLORS,
        evidence=evidence_cells,
        finding_count=finding_count,
        charts={
            "kill": charts.kill_ratio_chart(run),
            "runtime": charts.runtime_chart(run),
            "verdicts": charts.verdict_chart(run),
        },
    )

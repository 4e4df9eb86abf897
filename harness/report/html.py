"""index.html: a static page (no network, no scripts) with the verdict matrix, evidence and charts."""

from __future__ import annotations

from importlib import resources

import jinja2

from ..verify.prmode import TestClass
from ..verify.results import RunResult
from . import charts
from .summary import (
    FLAGGED,
    evidence_cells,
    finding_count,
    finding_verdict_text,
    finding_where,
    judging_claim,
    outcomes_text,
    pr_headline,
)


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
        # PR mode (used only when run.pr is set).
        pr_headline=pr_headline,
        judging_claim=judging_claim,
        finding_verdict=finding_verdict_text,
        finding_where=finding_where,
        flagged_text=FLAGGED,
        outcomes_text=outcomes_text,
        test_class=TestClass,
        charts={
            "kill": charts.kill_ratio_chart(run),
            "runtime": charts.runtime_chart(run),
            "verdicts": charts.verdict_chart(run),
        },
    )

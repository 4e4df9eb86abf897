"""index.html: a static page (no network, no scripts) with the verdict matrix, evidence and charts."""

from __future__ import annotations

from importlib import resources

import jinja2

from ..verify.prmode import TestClass
from ..verify.results import RunResult
from . import charts, summary


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
        test_class=TestClass,
        charts={
            "kill": charts.kill_ratio_chart(run),
            "runtime": charts.runtime_chart(run),
            "verdicts": charts.verdict_chart(run),
        },
        **TEMPLATE_HELPERS,
    )


#: The summary's wording, by the names the template calls it (PR mode's only when run.pr is set).
TEMPLATE_HELPERS = {
    "evidence": summary.evidence_cells,
    "finding_count": summary.finding_count,
    "pr_headline": summary.pr_headline,
    "judging_claim": summary.judging_claim,
    "finding_verdict": summary.finding_verdict_text,
    "finding_where": summary.finding_where,
    "flagged_text": summary.FLAGGED,
    "outcomes_text": summary.outcomes_text,
}

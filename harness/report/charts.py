"""Inline SVG charts for index.html: no scripts, no network, readable in any browser."""

from __future__ import annotations

from html import escape

from ..outcomes import Verdict
from ..verify.results import SCORED, ClaimResult, RunResult

COLORS = {
    Verdict.VERIFIED: "#2e7d32",
    Verdict.UNGUARDED: "#ef6c00",
    Verdict.NOT_REPRODUCED: "#6d6d6d",
    Verdict.STILL_FAILING: "#c62828",
    Verdict.FLAKY: "#8e24aa",
    Verdict.NO_MUTANTS: "#0277bd",
    Verdict.ERROR: "#000000",
}
STAGE_COLORS = {"base": "#90a4ae", "head": "#4db6ac", "mutate": "#ffb74d", "suite": "#ba68c8"}
ROW = 22
LABEL_W = 190
BAR_W = 360


#: Segments of a claim's mutant bar, in order: what detected each mutant, or why none did.
MUTANT_SEGMENTS = (
    ("killed by the claim's tests", "#2e7d32"),
    ("killed by other tests", "#81c784"),
    ("weak spot", "#fdd835"),
    ("gap: undoes the fix unnoticed", "#ef6c00"),
)


def _segments(claim: ClaimResult) -> list[int]:
    scored = [m for m in claim.mutants if m.status in SCORED]
    return [
        sum(1 for m in scored if m.status.is_detected and m.killed_by != "suite"),
        sum(1 for m in scored if m.status.is_detected and m.killed_by == "suite"),
        sum(1 for m in scored if m.weak_spot),
        sum(1 for m in scored if m.undetected and m.reverting),
    ]


def kill_ratio_chart(run: RunResult) -> str:
    """Stacked bars per claim: mutants killed by its tests, by other tests, weak spots, gaps."""
    rows = []
    for i, claim in enumerate(run.claims):
        y = i * ROW + 4
        ratio = claim.kill_ratio
        label = escape(claim.claim_id)
        counts = _segments(claim)
        total = sum(counts)
        if ratio is None or not total:
            bar = f'<text x="{LABEL_W + 4}" y="{y + 14}" class="muted">no mutants run</text>'
        else:
            x = float(LABEL_W)
            parts = []
            for (name, color), count in zip(MUTANT_SEGMENTS, counts, strict=True):
                if not count:
                    continue
                width = max(1.0, count / total * BAR_W)
                parts.append(
                    f'<rect x="{x:.1f}" y="{y}" width="{width:.1f}" height="{ROW - 6}" '
                    f'fill="{color}"><title>{label}: {count} {escape(name)}</title></rect>'
                )
                x += width
            bar = (
                f'<g class="claim-bar">{"".join(parts)}</g>'
                f'<text x="{x + 4:.1f}" y="{y + 14}">{ratio:.0%}</text>'
            )
        rows.append(f'<text x="0" y="{y + 14}">{label}</text>{bar}')
    legend_y = len(run.claims) * ROW + 12
    legend = []
    for k, (name, color) in enumerate(MUTANT_SEGMENTS):
        lx = (k % 2) * 230
        ly = legend_y + (k // 2) * 18
        legend.append(
            f'<rect x="{lx}" y="{ly}" width="12" height="12" fill="{color}"/>'
            f'<text x="{lx + 16}" y="{ly + 11}" class="muted">{escape(name)}</text>'
        )
    height = legend_y + 40
    return (
        f'<svg class="chart" id="chart-kill-ratio" role="img" '
        f'aria-label="Mutants per claim: killed, weak spots and gaps" '
        f'width="{LABEL_W + BAR_W + 60}" height="{height}" xmlns="http://www.w3.org/2000/svg">'
        + "".join(rows)
        + "".join(legend)
        + "</svg>"
    )


def runtime_chart(run: RunResult) -> str:
    """Stacked bars per claim: seconds on the base, on the head and in mutation."""
    totals = [sum(c.timings.get(s, 0.0) for s in STAGE_COLORS) for c in run.claims]
    longest = max(totals, default=0.0) or 1.0
    rows = []
    for i, claim in enumerate(run.claims):
        y = i * ROW + 4
        x = float(LABEL_W)
        parts = []
        for stage, color in STAGE_COLORS.items():
            seconds = claim.timings.get(stage, 0.0)
            width = seconds / longest * BAR_W
            if width > 0:
                parts.append(
                    f'<rect x="{x:.1f}" y="{y}" width="{width:.1f}" height="{ROW - 6}" fill="{color}">'
                    f"<title>{escape(claim.claim_id)} {stage}: {seconds:.2f}s</title></rect>"
                )
            x += width
        parts.append(f'<text x="{x + 4:.1f}" y="{y + 14}">{totals[i]:.1f}s</text>')
        rows.append(f'<text x="0" y="{y + 14}">{escape(claim.claim_id)}</text>' + "".join(parts))
    legend_y = len(run.claims) * ROW + 18
    legend = "".join(
        f'<rect x="{LABEL_W + j * 90}" y="{legend_y - 10}" width="12" height="12" fill="{c}"/>'
        f'<text x="{LABEL_W + j * 90 + 16}" y="{legend_y}">{s}</text>'
        for j, (s, c) in enumerate(STAGE_COLORS.items())
    )
    return (
        f'<svg class="chart" id="chart-runtime" role="img" aria-label="Run time per claim" '
        f'width="{LABEL_W + BAR_W + 60}" height="{legend_y + 8}" xmlns="http://www.w3.org/2000/svg">'
        + "".join(rows)
        + legend
        + "</svg>"
    )


def verdict_chart(run: RunResult) -> str:
    """One bar per verdict kind with its count."""
    counts = {Verdict(k): v for k, v in run.counts().items()}
    most = max(counts.values(), default=0) or 1
    rows = []
    for i, (verdict, n) in enumerate(counts.items()):
        y = i * ROW + 4
        width = n / most * 240
        rows.append(
            f'<text x="0" y="{y + 14}">{verdict.value}</text>'
            f'<rect x="150" y="{y}" width="{width:.1f}" height="{ROW - 6}" fill="{COLORS[verdict]}"/>'
            f'<text x="{150 + width + 4:.1f}" y="{y + 14}">{n}</text>'
        )
    return (
        f'<svg class="chart" id="chart-verdicts" role="img" aria-label="Claims per verdict" '
        f'width="430" height="{len(counts) * ROW + 8}" xmlns="http://www.w3.org/2000/svg">'
        + "".join(rows)
        + "</svg>"
    )

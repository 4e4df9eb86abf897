"""invariants.window_aggregation: a total over a window never adds different currencies."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from hypothesis import given
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st
from pydantic import Field

from harness.pack import FindingPolicy, Target, collect, conclude, report_finding, scenario

from ._inprocess import attribute, is_one_of
from ._search import shrinking

AMOUNTS = st.decimals(
    min_value=-10_000, max_value=10_000, places=2, allow_nan=False, allow_infinity=False
)
CURRENCIES = ("EUR", "USD", "GBP", "JPY")


CHECK = "invariants.window_aggregation"


class WindowAggregationBinding(FindingPolicy):
    """``aggregate(entries, start, end)`` totals entries with ``start <= at < end``.

    Mixed currencies refused with an exception outside `raises` are a finding (server_errors),
    not a violation: they were not added."""

    #: Attribute of the target object: ``aggregate(entries, start, end) -> result``.
    aggregate: str
    #: Attribute that builds one entry: ``entry(amount: Decimal, currency: str, at: float)``.
    entry: str
    #: Where the total is in the result: an index ("0") or an attribute / key name.
    total: str = "0"
    #: Exception class names that count as refusing mixed currencies.
    raises: tuple[str, ...] = ("ValueError",)
    examples: int = Field(default=50, ge=1, le=10_000)
    seed: int | None = None


def _pick(result: Any, where: str) -> Any:
    if where.isdigit():
        return result[int(where)]
    if isinstance(result, dict):
        return result[where]
    return getattr(result, where)


@st.composite
def _windows(draw: st.DrawFn) -> tuple[float, float]:
    start = draw(st.integers(min_value=0, max_value=50))
    return float(start), float(start + draw(st.integers(min_value=1, max_value=50)))


@st.composite
def _entries(
    draw: st.DrawFn, start: float, end: float, currencies: list[str], inside: bool
) -> list[tuple[Decimal, str, float]]:
    """One entry per currency in `currencies` (in order), inside or outside [start, end)."""
    found = []
    for currency in currencies:
        if inside:
            at = draw(st.integers(min_value=int(start), max_value=int(end) - 1))
        else:
            at = draw(
                st.one_of(
                    st.integers(min_value=0, max_value=int(start) - 1)
                    if start > 0
                    else st.nothing(),
                    st.integers(min_value=int(end), max_value=int(end) + 50),
                )
            )
        found.append((draw(AMOUNTS), currency, float(at)))
    return found


@st.composite
def _case(draw: st.DrawFn, kind: str) -> tuple[float, float, list[tuple[Decimal, str, float]]]:
    start, end = draw(_windows())
    main = draw(st.sampled_from(CURRENCIES))
    others = [c for c in CURRENCIES if c != main]
    count = draw(st.integers(min_value=1, max_value=4))
    inside = draw(_entries(start, end, [main] * count, inside=True))
    if kind == "mixed-inside":
        inside += draw(_entries(start, end, [draw(st.sampled_from(others))], inside=True))
        outside = []
    elif kind == "mixed-outside":
        outside = draw(
            _entries(
                start,
                end,
                draw(st.lists(st.sampled_from(others), min_size=1, max_size=3)),
                inside=False,
            )
        )
    else:
        outside = draw(_entries(start, end, [main] * draw(st.integers(0, 3)), inside=False))
    order = draw(st.permutations(inside + outside))
    return start, end, list(order)


def _property(
    name: str,
    kind: str,
    judge: Callable[[float, float, list[Any]], str | None],
    binding: WindowAggregationBinding,
) -> str | None:
    """Run one property; the problem text of its minimal counterexample, or None."""
    last: list[str] = []

    @shrinking(binding.examples)
    @given(_case(kind))
    def prop(case: tuple[float, float, list[Any]]) -> None:
        start, end, rows = case
        problem = judge(start, end, rows)
        if problem is not None:
            last.append(f"{name}: {problem}\n    entries={rows!r} start={start} end={end}")
            raise AssertionError(problem)

    if binding.seed is not None:
        prop = hypothesis_seed(binding.seed)(prop)
    try:
        prop()
    except AssertionError:
        return last[-1] if last else f"{name}: failed"
    return None


@scenario("invariants.window_aggregation", binding=WindowAggregationBinding)
def mixed_currencies_in_the_window_are_refused_and_single_currency_totals_add_up(
    binding: WindowAggregationBinding, target: Target
) -> None:
    """Three properties: mixed inside raises; mixed only outside does not; one currency sums."""
    aggregate = attribute(target, binding.aggregate, field="aggregate")
    make = attribute(target, binding.entry, field="entry")

    def call(start: float, end: float, rows: list[Any]) -> Any:
        return aggregate([make(a, c, t) for a, c, t in rows], start, end)

    def expected(start: float, end: float, rows: list[Any]) -> Decimal:
        return sum((a for a, _, t in rows if start <= t < end), Decimal(0))

    #: Exception type -> the first mixed window refused with it, outside `raises`.
    odd: dict[str, str] = {}

    def mixed_inside(start: float, end: float, rows: list[Any]) -> str | None:
        try:
            result = call(start, end, rows)
        except Exception as exc:
            if not is_one_of(exc, binding.raises):
                # Not added, so the sentence holds; a crash where a refusal belongs is apart.
                odd.setdefault(
                    type(exc).__name__,
                    f"mixed currencies inside the window raised "
                    f"{type(exc).__name__}: {exc}, not one of {list(binding.raises)}"
                    f"\n    entries={rows!r} start={start} end={end}",
                )
            return None
        return f"returned {result!r} instead of raising: it added different currencies"

    def summed(start: float, end: float, rows: list[Any]) -> str | None:
        try:
            result = call(start, end, rows)
        except Exception as exc:
            return f"raised {type(exc).__name__}: {exc}"
        total = _pick(result, binding.total)
        want = expected(start, end, rows)
        if Decimal(str(total)) != want:
            return f"total {total!r} != {want} (the sum of the in-window amounts)"
        return None

    problems = [
        p
        for p in (
            _property(
                "mixed currencies inside the window must raise",
                "mixed-inside",
                mixed_inside,
                binding,
            ),
            _property(
                "other currencies only outside the window must not raise",
                "mixed-outside",
                summed,
                binding,
            ),
            _property("a single currency totals to the plain sum", "single", summed, binding),
        )
        if p
    ]
    with collect() as findings:
        for problem in odd.values():
            report_finding(
                CHECK, problem, f"{binding.aggregate}(entries, start, end) with the entries shown"
            )
    conclude(
        CHECK,
        f"{binding.aggregate} breaks {len(problems)} of 3 properties "
        "(minimal examples after shrinking)",
        problems,
        findings,
        binding.server_errors,
    )

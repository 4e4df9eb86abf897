"""SQL injection payloads for ids and query parameters, and the error text that betrays them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from hypothesis import strategies as st


@dataclass(frozen=True)
class SqlPayload:
    """One injection attempt: the exact `text` to send in place of a value, and its family."""

    text: str
    family: str

    def __repr__(self) -> str:
        return f"SqlPayload({self.text!r}, family={self.family!r})"

    def __str__(self) -> str:
        return self.text


_FAMILIES: dict[str, tuple[str, ...]] = {
    # Each template has {v} for a plausible value the payload follows.
    "tautology": (
        "{v}' OR '1'='1",
        "{v}' OR 1=1 --",
        "{v}' OR ''='",
        '{v}" OR "1"="1',
        "{v} OR 1=1",
    ),
    "comment": ("{v}'--", "{v}'/*", "{v}' -- ", "{v}'#"),
    "quote-break": ("{v}'", '{v}"', "{v}')", "{v}`", "{v}\\'", "{v}''''"),
    "union": (
        "{v}' UNION SELECT NULL --",
        "{v}' UNION SELECT NULL, NULL --",
        "{v}' UNION SELECT NULL, NULL, NULL --",
        "{v}' UNION ALL SELECT 1, 2 --",
    ),
    "stacked": ("{v}'; SELECT 1; --", "{v}'; DROP TABLE fixguard_absent; --"),
    "boolean": ("{v}' AND '1'='2", "{v}' AND 1=CAST('x' AS INTEGER) --"),
    "encoded": ("{v}%27%20OR%20%271%27%3D%271", "{v}\u02bc OR \u02bc1\u02bc=\u02bc1"),
    "null-byte": ("{v}\x00' OR '1'='1",),
}

#: Every family name, in the order Hypothesis shrinks towards.
SQL_FAMILIES: tuple[str, ...] = tuple(_FAMILIES)

#: Case-insensitive fragments of database error text (SQLite, PostgreSQL, MySQL, drivers) that
#: must never reach a client.
SQL_ERROR_MARKERS: tuple[str, ...] = (
    "syntax error",
    "sqlite3.",
    "operationalerror",
    "programmingerror",
    "unrecognized token",
    "unterminated quoted string",
    "psycopg",
    "sqlstate",
    "you have an error in your sql syntax",
    "no such column",
    "no such table",
    "each union query must have the same number of columns",
    "selects to the left and right of union",
    "invalid input syntax",
    'column "',
    "at or near",
    "traceback (most recent call last)",
)


def _check(families: Sequence[str]) -> None:
    unknown = [f for f in families if f not in _FAMILIES]
    if unknown or not families:
        raise TypeError(
            f"families={tuple(families)!r}: unknown {unknown!r}; use names from SQL_FAMILIES, "
            "such as ('tautology', 'quote-break')"
        )


def sql_corpus(
    values: Sequence[str] = ("1",), *, families: Sequence[str] = SQL_FAMILIES
) -> tuple[SqlPayload, ...]:
    """Every template of every family after each of `values`: a fixed corpus to try first."""
    _check(families)
    return tuple(
        SqlPayload(t.format(v=v), family)
        for v in values
        for family in families
        for t in _FAMILIES[family]
    )


@st.composite
def sql_payloads(
    draw: st.DrawFn,
    values: Sequence[str] = ("1",),
    *,
    families: Sequence[str] = SQL_FAMILIES,
    max_padding: int = 2,
) -> SqlPayload:
    """Payloads that try to break out of a quoted or numeric value.

    A payload is a template of one family after one of `values` (a real id makes the
    tautology's other branch harmless), with optional whitespace and case changes that
    naive filters miss. Shrinks towards the first value, ``tautology`` and no decoration.
    """
    _check(families)
    if isinstance(values, str) or not values:
        raise TypeError(f"values={values!r}: expected a non-empty sequence, such as ('t1',)")
    value = draw(st.sampled_from(tuple(values)))
    family = draw(st.sampled_from(tuple(families)))
    template = draw(st.sampled_from(_FAMILIES[family]))
    text = template.format(v=value)
    padding = draw(st.integers(min_value=0, max_value=max_padding))
    if padding:
        text = text.replace(" ", " " * (padding + 1)).replace("OR", "oR" if padding > 1 else "OR")
    return SqlPayload(text, family)

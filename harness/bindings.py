"""Binding vocabulary that scenario packs share: HTTP call templates, status sets, effect counters.

For example:

class CapacityLimitBinding(BaseModel):
    model_config = ConfigDict(extra="forbid")
    call: HttpCall                 # "POST /events/{event}/tickets"
    success: StatusSet = frozenset({200, 201})
    effect: EffectCounter          # "GET /events/{event}/count", "app.db:count", or SQL
"""

from __future__ import annotations

import inspect
import re
import sqlite3
import string
from collections.abc import Callable, Mapping
from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import quote, urlsplit

import httpx
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    ValidationInfo,
    field_validator,
    model_validator,
)

from .errors import UserError
from .imports import import_extra, import_object

if TYPE_CHECKING:
    from .targets.base import Target

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_IMPORT_RE = re.compile(r"[A-Za-z_][\w.]*:[A-Za-z_][\w.]*")
_CALL_RE = re.compile(r"([A-Za-z]+)\s+(/\S*)")
_SQL_RE = re.compile(r"\s*(select|with)\b", re.IGNORECASE)
_DSN_SCHEMES = {"sqlite", "postgres", "postgresql"}


def _placeholders(path: str) -> tuple[str, ...]:
    names: list[str] = []
    try:
        parsed = list(string.Formatter().parse(path))
    except ValueError as exc:
        raise ValueError(f"has unbalanced braces ({exc})") from None
    for _, field, spec, conv in parsed:
        if field is None:
            continue
        if not field.isidentifier() or spec or conv:
            raise ValueError(
                f"placeholder {{{field}}} must be a plain name such as {{key}} or {{event_id}}"
            )
        if field not in names:
            names.append(field)
    return tuple(names)


class HttpCall(BaseModel):
    """One request template, written ``"METHOD /path/{key}"`` in a binding."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    method: str
    path: str

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, value: Any) -> Any:
        if isinstance(value, str):
            match = _CALL_RE.fullmatch(value.strip())
            if match is None:
                raise ValueError("must be 'METHOD /path', e.g. 'POST /events/{event}/tickets'")
            return {"method": match.group(1), "path": match.group(2)}
        return value

    @field_validator("method")
    @classmethod
    def _known_method(cls, value: str) -> str:
        upper = value.upper()
        if upper not in METHODS:
            raise ValueError(f"is not an HTTP method (use one of {', '.join(sorted(METHODS))})")
        return upper

    @field_validator("path")
    @classmethod
    def _relative_path(cls, value: str) -> str:
        if not value.startswith("/") or value.startswith("//") or urlsplit(value).netloc:
            raise ValueError("must be a path on the target starting with '/', not a URL")
        _placeholders(value)
        return value

    @property
    def placeholders(self) -> tuple[str, ...]:
        return _placeholders(self.path)

    def render(self, values: Mapping[str, object] | None = None) -> str:
        """The path with each ``{name}`` replaced by its value, percent-encoded."""
        values = values or {}
        missing = [n for n in self.placeholders if n not in values]
        if missing:
            raise KeyError(f"{self}: no value for {', '.join(missing)}")
        return self.path.format(**{n: quote(str(values[n]), safe="") for n in self.placeholders})

    def send(
        self, client: httpx.Client, values: Mapping[str, object] | None = None, **kwargs: Any
    ) -> httpx.Response:
        """Send it with `client`; `kwargs` go to `client.request` (json=, headers=...)."""
        return client.request(self.method, self.render(values), **kwargs)

    async def asend(
        self, client: httpx.AsyncClient, values: Mapping[str, object] | None = None, **kwargs: Any
    ) -> httpx.Response:
        return await client.request(self.method, self.render(values), **kwargs)

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


def _status_set(value: Any) -> frozenset[int]:
    """200 | "2xx" | [200, "4xx"] -> a frozenset of codes, each 100-599."""
    items = [value] if isinstance(value, int | str) else list(value)
    codes: set[int] = set()
    for item in items:
        if isinstance(item, bool):
            raise ValueError(f"{item!r} is not an HTTP status")
        if isinstance(item, str) and re.fullmatch(r"[1-5]xx", item.strip().lower()):
            base = int(item.strip()[0]) * 100
            codes.update(range(base, base + 100))
            continue
        try:
            code = int(item)
        except (TypeError, ValueError):
            raise ValueError(f"{item!r} is not an HTTP status (write 409, or '4xx')") from None
        if not 100 <= code <= 599:
            raise ValueError(f"{code} is not an HTTP status (use 100-599, e.g. 409 or '4xx')")
        codes.add(code)
    if not codes:
        raise ValueError("must name at least one status, e.g. [200, 201]")
    return frozenset(codes)


#: A set of status codes; a binding may write 201, "2xx" or [200, 201, "3xx"].
StatusSet = Annotated[frozenset[int], BeforeValidator(_status_set)]


#: What each of an effect's text fields must be: (the test it passes, the rule in words).
_EFFECT_RULES: dict[str, tuple[Callable[[str], object], str]] = {
    "call": (_IMPORT_RE.fullmatch, "must be an import string 'pkg.module:callable'"),
    "sql": (_SQL_RE.match, "must be a read-only query starting with SELECT or WITH"),
    "dsn": (
        lambda dsn: urlsplit(dsn).scheme in _DSN_SCHEMES,
        "must be 'sqlite:///path/to.db' or 'postgresql://...'",
    ),
}


class EffectCounter(BaseModel):
    """How to count a scenario's effects (rows created, charges made...). Exactly one of:

    - ``call``: ``"pkg.mod:callable"``, called with the target, returns an int;
    - ``http``: ``"GET /path"``; the JSON answer is an int, a list (its length) or an object
      (its ``field``, default ``"count"``);
    - ``sql``: a ``SELECT`` returning one number, run on ``dsn`` (``sqlite:///path`` or a
      PostgreSQL URL), or on the target's ``DATABASE_URL`` when no dsn is given.

    A plain string is read as whichever of the three it looks like.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    call: str | None = None
    http: HttpCall | None = None
    field: str = "count"
    sql: str | None = None
    dsn: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        text = value.strip()
        if _CALL_RE.fullmatch(text):
            return {"http": text}
        if _SQL_RE.match(text):
            return {"sql": text}
        if _IMPORT_RE.fullmatch(text):
            return {"call": text}
        raise ValueError(
            "must be 'pkg.mod:callable', 'GET /path' returning a count, or a SQL "
            "'SELECT count(*) FROM ...'"
        )

    @field_validator("call", "sql", "dsn")
    @classmethod
    def _well_formed(cls, value: str | None, info: ValidationInfo) -> str | None:
        holds, rule = _EFFECT_RULES[str(info.field_name)]
        if value is not None and not holds(value):
            raise ValueError(rule)
        return value

    @model_validator(mode="after")
    def _exactly_one(self) -> EffectCounter:
        chosen = [n for n in ("call", "http", "sql") if getattr(self, n) is not None]
        if len(chosen) != 1:
            raise ValueError(
                f"set exactly one of call, http or sql (got {', '.join(chosen) or 'none'})"
            )
        if self.dsn is not None and self.sql is None:
            raise ValueError("dsn is only used with sql")
        return self

    def count(self, target: Target, values: Mapping[str, Any] | None = None) -> int:
        """The current count, read from `target`.

        `values` are the attempt's ``{key}`` and friends: they fill the HTTP path's
        placeholders and the SQL's ``:name`` parameters, and a ``call`` receives the ones its
        signature names as keyword arguments.
        """
        values = dict(values or {})
        if self.call is not None:
            fn = import_object(self.call, field="binding.effect.call")
            try:
                params = inspect.signature(fn).parameters
            except (TypeError, ValueError):  # a builtin without a signature: the target only
                params = {}  # type: ignore[assignment]
            extra = {k: v for k, v in values.items() if k in params}
            return as_count(fn(target, **extra), f"{self.call}(target)")
        if self.http is not None:
            try:
                path = self.http.render(values)
            except KeyError as exc:
                raise UserError(
                    f"effect={str(self.http)!r}: {exc.args[0]}", where="binding.effect"
                ) from None
            with target.client() as client:
                response = client.request(self.http.method, path)
            if response.status_code >= 400:
                raise UserError(
                    f"effect={str(self.http)!r}: answered HTTP {response.status_code} for "
                    f"{path!r}, not a count",
                    where="binding.effect",
                )
            return _count_from_json(response.json(), self.field, str(self.http))
        assert self.sql is not None
        dsn = self.dsn or target.spec.env.get("DATABASE_URL")
        if not dsn:
            raise UserError(
                f"effect.sql={self.sql!r}: no database to run it on",
                where="binding.effect.dsn",
                hint="set effect.dsn, or DATABASE_URL in the target's env",
            )
        return _sql_count(self.sql, dsn if "://" in dsn else f"sqlite:///{dsn}", values)


#: A ``:name`` parameter of an effect query (not a ``::type`` cast).
_SQL_PARAM = re.compile(r"(?<!:):([A-Za-z_]\w*)")


def as_count(value: Any, what: str) -> int:
    """`value` as a count (an int, not a bool); a UserError naming the effect otherwise."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise UserError(f"effect={what!r}: returned {value!r}, not an int", where="binding.effect")
    return value


def _count_from_json(body: Any, field: str, what: str) -> int:
    if isinstance(body, list):
        return len(body)
    if isinstance(body, dict):
        if field not in body:
            raise UserError(
                f"effect={what!r}: the answer has no {field!r} key (keys: {sorted(body)})",
                where="binding.effect.field",
            )
        body = body[field]
    return as_count(body, what)


def _sql_count(sql: str, dsn: str, values: Mapping[str, Any]) -> int:
    """One number from a read-only query; ``:name`` parameters take the attempt's values."""
    names = set(_SQL_PARAM.findall(sql))
    params = {k: v for k, v in values.items() if k in names}
    missing = names - params.keys()
    if missing:
        raise UserError(
            f"effect.sql={sql!r}: no value for :{', :'.join(sorted(missing))} "
            f"(known: {', '.join(sorted(values)) or 'none'})",
            where="binding.effect.sql",
        )
    parts = urlsplit(dsn)
    if parts.scheme == "sqlite":
        path = dsn.split(":///", 1)[1] if ":///" in dsn else parts.path
        uri = f"file:{Path(path)}?mode=ro"
        with closing(sqlite3.connect(uri, uri=True, timeout=10)) as conn:
            row = conn.execute(sql, params).fetchone()  # sqlite3 reads :name itself
    else:
        psycopg = import_extra(
            "psycopg",
            needed_by=f"effect.dsn={dsn!r}: PostgreSQL",
            extra="postgres",
            field="binding.effect.dsn",
        )
        with psycopg.connect(dsn) as conn:
            if params:
                # psycopg's placeholders are %(name)s, so a literal % (LIKE 'A%') is doubled.
                query = _SQL_PARAM.sub(r"%(\1)s", sql.replace("%", "%%"))
                row = conn.execute(query, params).fetchone()
            else:
                row = conn.execute(sql).fetchone()
    if row is None or len(row) != 1:
        raise UserError(
            f"effect.sql={sql!r}: must return one row with one number", where="binding.effect.sql"
        )
    return as_count(row[0], sql)

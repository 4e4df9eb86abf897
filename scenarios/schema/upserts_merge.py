"""schema.upserts_merge: each INSERT … ON CONFLICT in the target's code runs on a fresh
PostgreSQL with the target's migrations applied, and a duplicate is merged into one row."""

from __future__ import annotations

import ast
import datetime as dt
import glob
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import Field

from harness.pack import Target, UserError, collect, conclude, report_finding, scenario
from scenarios.authz._pg import connect, psycopg

from ._database import MigrationsBinding, apply_migrations, fresh_database, migration_files, root_of

_UPSERT = re.compile(
    r"INSERT\s+INTO\s+([\w.\"]+)\s*\(([^)]*)\)\s*VALUES\s*\((.*?)\)\s*ON\s+CONFLICT\s*"
    r"(?:\(([^)]*)\))?",
    re.IGNORECASE | re.DOTALL,
)
_PLACEHOLDER = re.compile(r"^(\?|%s|%\((\w+)\)s|\$\d+)$")
CHECK = "schema.upserts_merge"
#: SQLSTATEs that refuse the values this check made up, not the statement: a data exception
#: (class 22: a uuid, json or enum column given text), a foreign key with no row to point at,
#: a CHECK constraint. The upsert was not judged; it is reported apart.
_SAMPLE_REFUSED = ("22", "23503", "23514")


class UpsertsBinding(MigrationsBinding):
    """Python sources whose SQL upserts to run, as globs relative to `root`."""

    sources: tuple[str, ...] = Field(min_length=1)


@dataclass(frozen=True)
class Upsert:
    where: str  # file:line
    sql: str
    table: str
    columns: tuple[str, ...]
    values: tuple[str, ...]
    conflict: tuple[str, ...]


def _split(text: str) -> tuple[str, ...]:
    return tuple(part.strip().strip('"') for part in text.split(",") if part.strip())


def find_upserts(root: Path, patterns: tuple[str, ...]) -> list[Upsert]:
    """Every string literal of the sources that holds an INSERT … ON CONFLICT."""
    found: list[Upsert] = []
    for pattern in patterns:
        for name in sorted(glob.glob(str(root / pattern), recursive=True)):
            path = Path(name)
            try:
                tree = ast.parse(path.read_text(encoding="utf-8"))
            except (OSError, SyntaxError) as exc:
                raise UserError(
                    f"binding.sources: {path} does not parse ({exc})", where="binding.sources"
                ) from None
            for node in ast.walk(tree):
                if not (isinstance(node, ast.Constant) and isinstance(node.value, str)):
                    continue
                match = _UPSERT.search(node.value)
                if match is None:
                    continue
                found.append(
                    Upsert(
                        f"{path.relative_to(root).as_posix()}:{node.lineno}",
                        node.value,
                        match.group(1).strip('"'),
                        _split(match.group(2)),
                        _split(match.group(3)),
                        _split(match.group(4) or ""),
                    )
                )
    return found


def _sample(data_type: str, index: int) -> Any:
    kind = data_type.lower()
    if "int" in kind:
        return 7 + index
    if kind in ("numeric", "real", "double precision", "decimal"):
        return 1.5 + index
    if kind == "boolean":
        return True
    if kind == "date":
        return dt.date(2026, 1, 1)
    if "timestamp" in kind:
        return dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    return f"fg-upsert-{index}"


def _params(upsert: Upsert, types: dict[str, str]) -> tuple[str, Any, dict[str, Any]]:
    """The SQL for psycopg, its parameters, and column -> value for the inserted columns."""
    positional: list[Any] = []
    named: dict[str, Any] = {}
    by_column: dict[str, Any] = {}
    for index, (column, item) in enumerate(zip(upsert.columns, upsert.values, strict=False)):
        match = _PLACEHOLDER.match(item)
        if match is None:
            continue
        value = _sample(types.get(column, "text"), index)
        by_column[column] = value
        if match.group(2):
            named[match.group(2)] = value
        else:
            positional.append(value)
    sql = re.sub(r"\$\d+", "%s", upsert.sql.replace("?", "%s"))
    return sql, (named or positional), by_column


def _run(dsn: str, upsert: Upsert) -> str | None:
    """None when it ran twice and left one row for its key, else what went wrong."""
    pg = psycopg()
    with connect(dsn) as conn:
        types = dict(
            conn.execute(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_name = %s",
                (upsert.table.rsplit(".", 1)[-1],),
            ).fetchall()
        )
        if not types:
            return f"table {upsert.table!r} does not exist after the migrations"
        sql, params, values = _params(upsert, types)
        for attempt in ("first", "duplicate"):
            try:
                conn.execute(sql, params)
            except pg.Error as exc:
                first = str(exc).strip().splitlines()[0]
                state = getattr(exc, "sqlstate", None) or ""
                if attempt == "first" and state.startswith(_SAMPLE_REFUSED):
                    report_finding(
                        CHECK,
                        f"{upsert.where}: INSERT INTO {upsert.table} could not "
                        f"be judged: PostgreSQL refused the check's sample values "
                        f"({state}: {first})",
                        f"{sql}  -- with {params!r}",
                    )
                    return None
                return f"the {attempt} run failed: {first}"
        key = [c for c in upsert.conflict if c in values]
        if not key:
            return None
        where = " AND ".join(f'"{c}" = %s' for c in key)
        (count,) = conn.execute(
            f'SELECT count(*) FROM "{upsert.table}" WHERE {where}', [values[c] for c in key]
        ).fetchone()
    if count != 1:
        return f"a duplicate was not merged: {count} rows for ({', '.join(key)})"
    return None


@scenario("schema.upserts_merge", binding=UpsertsBinding)
def every_upsert_runs_and_merges_a_duplicate(binding: UpsertsBinding, target: Target) -> None:
    """Each upsert in `sources` succeeds twice with the same key and leaves one row."""
    root = root_of(binding, target)
    upserts = find_upserts(root, binding.sources)
    if not upserts:
        raise UserError(
            f"binding.sources={list(binding.sources)!r}: no INSERT … ON CONFLICT found in them",
            where="binding.sources",
        )
    files = migration_files(binding, target)
    problems: list[str] = []
    with collect() as findings, fresh_database(binding) as db:
        apply_migrations(db, files)
        for upsert in upserts:
            problem = _run(db.dsn, upsert)
            if problem is not None:
                problems.append(
                    f"{upsert.where}: INSERT INTO {upsert.table} … ON CONFLICT "
                    f"({', '.join(upsert.conflict)}): {problem}"
                )
    migrations = ", ".join(f.name for f in files)
    conclude(
        CHECK,
        f"upserts that fail or duplicate on PostgreSQL (migrations: {migrations})",
        problems,
        findings,
        binding.server_errors,
    )

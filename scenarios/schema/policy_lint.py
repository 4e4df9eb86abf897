"""schema.policy_lint: RLS ``USING (true)`` for untrusted roles, and SECURITY DEFINER functions
granted to them without an ownership check, flagged in the migrations and confirmed on a real
PostgreSQL (a second role can read the rows, or execute the function)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from pydantic import Field

from harness.pack import Target, collect, fail_on, report_finding, scenario
from scenarios.authz._pg import connect, psycopg
from scenarios.injection._seed import run_statements

from ._database import (
    FreshDatabase,
    MigrationsBinding,
    apply_migrations,
    fresh_database,
    migration_files,
    query,
)

_POLICY = re.compile(
    r"CREATE\s+POLICY\s+\"?(\w+)\"?\s+ON\s+([\w.\"]+)(.*?);", re.IGNORECASE | re.DOTALL
)
_TO = re.compile(r"\bTO\s+(.+?)(?=\s+USING\b|\s+WITH\b|$)", re.IGNORECASE | re.DOTALL)
_USING_TRUE = re.compile(r"\bUSING\s*\(\s*true\s*\)", re.IGNORECASE)
_FUNCTION = re.compile(
    r"CREATE\s+(?:OR\s+REPLACE\s+)?FUNCTION\s+([\w.\"]+)\s*\((.*?)\)(.*?)"
    r"(\$\w*\$)(.*?)\4(.*?);",
    re.IGNORECASE | re.DOTALL,
)
_GRANT = re.compile(
    r"GRANT\s+EXECUTE\s+ON\s+FUNCTION\s+([\w.\"]+)\s*\(([^)]*)\)\s+TO\s+([^;]+);", re.IGNORECASE
)
_COMMENT = re.compile(r"--[^\n]*")
CHECK = "schema.policy_lint"


class PolicyLintBinding(MigrationsBinding):
    """Migrations to lint; what counts as an ownership check; rows to read back."""

    #: A definer function whose body matches one of these checks who the caller is.
    ownership_checks: tuple[str, ...] = (
        r"current_setting\s*\(",
        r"auth\.uid\s*\(",
        r"\bcurrent_user\b",
        r"\bsession_user\b",
    )
    #: Statements (as the superuser) that put rows in the policed tables, so a leak shows.
    seed_sql: tuple[str, ...] = ()
    #: Give the untrusted roles SELECT on every table first, as Supabase's default privileges
    #: do, so that only row level security stands between them and the rows.
    grant_tables: bool = True
    #: Reviewed exceptions: "policy:<name>" or "function:<name>".
    allow: tuple[str, ...] = ()
    schemas: tuple[str, ...] = Field(default=("public",), min_length=1)


@dataclass(frozen=True)
class Finding:
    kind: str  # "policy" | "function"
    name: str
    table_or_args: str
    roles: tuple[str, ...]
    where: str
    text: str


def _roles(text: str) -> tuple[str, ...]:
    return tuple(r.strip().strip('"').lower() for r in text.split(",") if r.strip())


def lint(files: list[Path], binding: PolicyLintBinding) -> list[Finding]:
    """The findings of the migration text (later definitions of a function replace earlier)."""
    untrusted = {r.lower() for r in binding.roles} | {"public"}
    findings: list[Finding] = []
    functions: dict[str, tuple[str, str, str]] = {}  # name -> (where, header+tail, body)
    grants: list[tuple[str, str, tuple[str, ...], str]] = []
    for path in files:
        sql = _COMMENT.sub("", path.read_text(encoding="utf-8"))

        def line(pos: int, sql: str = sql, path: Path = path) -> str:
            return f"{path.name}:{sql.count(chr(10), 0, pos) + 1}"

        for m in _POLICY.finditer(sql):
            to = _TO.search(m.group(3))
            roles = _roles(to.group(1)) if to else ("public",)
            if _USING_TRUE.search(m.group(3)) and untrusted & set(roles):
                findings.append(
                    Finding(
                        "policy",
                        m.group(1),
                        m.group(2).strip('"'),
                        tuple(sorted(untrusted & set(roles))),
                        line(m.start()),
                        " ".join(m.group(0).split()),
                    )
                )
        for m in _FUNCTION.finditer(sql):
            name = m.group(1).strip('"').rsplit(".", 1)[-1].lower()
            functions[name] = (line(m.start()), m.group(3) + m.group(6), m.group(5))
        for m in _GRANT.finditer(sql):
            name = m.group(1).strip('"').rsplit(".", 1)[-1].lower()
            grants.append((name, m.group(2), _roles(m.group(3)), line(m.start())))
    for name, args, roles, where in grants:
        if name not in functions or not untrusted & set(roles):
            continue
        defined, attributes, body = functions[name]
        if not re.search(r"SECURITY\s+DEFINER", attributes, re.IGNORECASE):
            continue
        if any(re.search(p, body, re.IGNORECASE) for p in binding.ownership_checks):
            continue
        findings.append(
            Finding(
                "function",
                name,
                args,
                tuple(sorted(untrusted & set(roles))),
                where,
                f"SECURITY DEFINER (defined at {defined}), no ownership check in its body",
            )
        )
    return [f for f in findings if f"{f.kind}:{f.name}" not in binding.allow]


def _confirm(db: FreshDatabase, finding: Finding, binding: PolicyLintBinding) -> str | None:
    """What a second role could do on the real database, or None when it could not."""
    pg = psycopg()
    results: list[str] = []
    for role in finding.roles:
        fresh = db.roles.get(role)
        if fresh is None:  # PUBLIC: any role; try the first one we made
            fresh = next(iter(db.roles.values()), None)
        if fresh is None:
            continue
        if finding.kind == "function":
            rows = query(
                db.dsn,
                "SELECT p.oid::regprocedure::text FROM pg_proc p JOIN "
                "pg_namespace n ON n.oid = p.pronamespace WHERE p.proname = %s AND "
                "p.prosecdef AND n.nspname = ANY(%s) AND "
                "has_function_privilege(%s, p.oid, 'EXECUTE')",
                (finding.name, list(binding.schemas), fresh),
            )
            if rows:
                results.append(f"role {role!r} can EXECUTE {rows[0][0]} (runs as its owner)")
            continue
        with connect(db.dsn) as conn:
            try:
                conn.execute("BEGIN")
                conn.execute(pg.sql.SQL("SET LOCAL ROLE {}").format(pg.sql.Identifier(fresh)))
                (count,) = conn.execute(
                    pg.sql.SQL("SELECT count(*) FROM {}").format(
                        pg.sql.Identifier(*finding.table_or_args.split("."))
                    )
                ).fetchone()
            except pg.Error as exc:
                results.append(f"(not confirmed: {str(exc).strip().splitlines()[0]})")
                continue
            finally:
                conn.execute("ROLLBACK")
        if count:
            results.append(
                f"role {role!r}, with no identity set, reads {count} row(s) of "
                f"{finding.table_or_args}"
            )
    confirmed = [r for r in results if not r.startswith("(not confirmed")]
    return "; ".join(confirmed) if confirmed else None


@scenario("schema.policy_lint", binding=PolicyLintBinding)
def untrusted_roles_get_no_blanket_access(binding: PolicyLintBinding, target: Target) -> None:
    """No policy gives `roles` every row, and no SECURITY DEFINER function they may execute
    skips checking who the caller is; each lint finding is tried on a real database."""
    files = migration_files(binding, target)
    findings = lint(files, binding)
    if not findings:
        return
    confirmed: list[str] = []
    unconfirmed: list[str] = []
    with collect() as reported, fresh_database(binding) as db:
        apply_migrations(db, files)
        pg = psycopg()
        if binding.seed_sql:
            run_statements(db.dsn, binding.seed_sql)
        if binding.grant_tables:
            with connect(db.dsn) as conn:
                for schema in binding.schemas:
                    for fresh in db.roles.values():
                        conn.execute(
                            pg.sql.SQL(
                                "GRANT USAGE ON SCHEMA {0} TO {1}; GRANT SELECT "
                                "ON ALL TABLES IN SCHEMA {0} TO {1}"
                            ).format(pg.sql.Identifier(schema), pg.sql.Identifier(fresh))
                        )
        for finding in findings:
            what = (
                f"{finding.where}: policy {finding.name} on {finding.table_or_args} is "
                f"USING (true) for {', '.join(finding.roles)}"
                if finding.kind == "policy"
                else f"{finding.where}: EXECUTE on {finding.name}({finding.table_or_args}) granted "
                f"to {', '.join(finding.roles)}; {finding.text}"
            )
            shown = _confirm(db, finding, binding)
            if shown is None:
                # The text looks wrong but the database let no second role in: not proven.
                unconfirmed.append(what)
                report_finding(
                    CHECK, f"lint only (not confirmed on the database): {what}", finding.where
                )
            else:
                confirmed.append(f"{what}\n    confirmed: {shown}")
    if confirmed:
        extra = (
            "\n  lint only (not confirmed on the database):\n    " + "\n    ".join(unconfirmed)
            if unconfirmed
            else ""
        )
        raise AssertionError(
            f"{CHECK}: untrusted roles get blanket access (confirmed on a fresh "
            "PostgreSQL with the migrations applied)\n  " + "\n  ".join(confirmed) + extra
        )
    fail_on(CHECK, reported, binding.server_errors)

"""authz.tenant_isolation: a tenant's session, under row level security, sees only its own rows."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from harness.pack import Target, scenario

from ._pg import connect, dsn_of, psycopg


class TenantIsolationBinding(BaseModel):
    """Act as ``role`` for each of ``tenants`` on ``dsn`` and read ``table``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: A DSN that may ``SET ROLE`` to `role` (the owner or a superuser); defaults to the
    #: target's DATABASE_URL.
    dsn: str | None = None
    role: str = "authenticated"
    table: str = Field(pattern=r"^[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)?$")
    tenant_column: str = Field(default="tenant_id", pattern=r"^[A-Za-z_]\w*$")
    tenants: tuple[str, ...] = Field(min_length=2)
    #: Makes the session one tenant; %(tenant)s is the tenant. A JWT-claims setting works too.
    as_tenant: str = "SELECT set_config('app.tenant_id', %(tenant)s, false)"
    #: Statements run first (as the dsn's user) that create rows for every tenant.
    setup_sql: tuple[str, ...] = ()
    #: Fail when a tenant sees none of its own rows (a deny-all policy is not isolation).
    require_own_rows: bool = True


def _policies(conn: object, table: str) -> list[str]:
    schema, _, name = table.rpartition(".")
    rows = conn.execute(  # type: ignore[attr-defined]
        "SELECT policyname, cmd, roles::text, coalesce(qual, '') FROM pg_policies"
        " WHERE tablename = %s AND schemaname = coalesce(nullif(%s, ''), current_schema())",
        (name, schema),
    ).fetchall()
    return [f"{p} FOR {cmd} TO {roles} USING ({qual})" for p, cmd, roles, qual in rows]


@scenario("authz.tenant_isolation", binding=TenantIsolationBinding)
def each_tenant_reads_only_its_own_rows(binding: TenantIsolationBinding, target: Target) -> None:
    """For every tenant: as `role` with that tenant set, no row of another tenant is readable."""
    dsn = dsn_of(binding.dsn, target)
    sql = psycopg().sql
    table = sql.Identifier(*binding.table.split("."))
    column = sql.Identifier(binding.tenant_column)
    problems: list[str] = []
    with connect(dsn) as conn:
        for statement in binding.setup_sql:
            conn.execute(statement)
        policies = _policies(conn, binding.table)
        for tenant in binding.tenants:
            with conn.transaction():
                conn.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(binding.role)))
                conn.execute(binding.as_tenant, {"tenant": tenant})
                rows = conn.execute(
                    sql.SQL("SELECT {c}::text, count(*) FROM {t} GROUP BY 1 ORDER BY 1").format(
                        c=column, t=table
                    )
                ).fetchall()
                conn.execute("RESET ROLE")
            seen = {owner: int(n) for owner, n in rows}
            foreign = {k: v for k, v in seen.items() if k != tenant}
            if foreign:
                spelled = ", ".join(f"{n} of {k!r}" for k, n in foreign.items())
                problems.append(f"as {binding.role!r} for tenant {tenant!r}: read {spelled}")
            elif binding.require_own_rows and not seen.get(tenant):
                problems.append(
                    f"as {binding.role!r} for tenant {tenant!r}: read none of its own rows "
                    "(seed rows for every tenant, or the policy denies everything)"
                )
    if problems:
        raise AssertionError(
            f"authz.tenant_isolation: {binding.table} leaks across tenants\n  "
            + "\n  ".join(problems)
            + "\n  policies: "
            + ("; ".join(policies) or "none (is RLS enabled?)")
        )

"""authz.definer_functions: no SECURITY DEFINER function is executable by an untrusted role."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from harness.pack import Target, UserError, scenario

from ._pg import connect, dsn_of

_QUERY = """
SELECT p.oid::regprocedure::text, r.rolname,
       EXISTS (SELECT 1 FROM aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
               WHERE a.grantee = 0 AND a.privilege_type = 'EXECUTE') AS via_public
FROM pg_proc p
JOIN pg_namespace n ON n.oid = p.pronamespace
JOIN pg_roles r ON r.rolname = ANY(%(roles)s)
WHERE p.prosecdef AND n.nspname = ANY(%(schemas)s)
  AND has_function_privilege(r.oid, p.oid, 'EXECUTE')
ORDER BY 1, 2
"""


class DefinerFunctionsBinding(BaseModel):
    """Which roles are untrusted, in which schemas, and which functions are allowed anyway."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    dsn: str | None = None
    roles: tuple[str, ...] = Field(default=("authenticated", "anon"), min_length=1)
    schemas: tuple[str, ...] = Field(default=("public",), min_length=1)
    #: Signatures reviewed and allowed, as ``regprocedure`` prints them: ``post_message(text)``.
    allow: tuple[str, ...] = ()


@scenario("authz.definer_functions", binding=DefinerFunctionsBinding)
def no_untrusted_role_can_execute_a_security_definer_function(
    binding: DefinerFunctionsBinding, target: Target
) -> None:
    """SECURITY DEFINER bypasses RLS: such functions must not be executable by `roles`."""
    dsn = dsn_of(binding.dsn, target)
    with connect(dsn) as conn:
        present = {
            r
            for (r,) in conn.execute(
                "SELECT rolname FROM pg_roles WHERE rolname = ANY(%s)", (list(binding.roles),)
            )
        }
        rows = conn.execute(
            _QUERY, {"roles": list(binding.roles), "schemas": list(binding.schemas)}
        ).fetchall()
    if not present:
        raise UserError(
            f"binding.roles={list(binding.roles)!r}: none of these roles exists",
            where="binding.roles",
            hint="name the roles your clients log in as",
        )
    flagged = [
        f"{fn} is SECURITY DEFINER and executable by {role!r}"
        + (" (through PUBLIC's default EXECUTE; REVOKE ... FROM PUBLIC)" if public else "")
        for fn, role, public in rows
        if fn not in binding.allow
    ]
    if flagged:
        raise AssertionError(
            "authz.definer_functions: functions that run with their owner's rights (and bypass "
            "row level security) are callable by untrusted roles\n  " + "\n  ".join(flagged)
        )

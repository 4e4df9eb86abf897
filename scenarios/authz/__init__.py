"""Authz: tenant isolation under RLS, SECURITY DEFINER grants, public endpoints, query tokens.

Importing this package registers its checks with ``harness.scenario``.
"""

from . import (
    definer_functions,
    public_endpoints_hide_internals,
    query_tokens_rejected,
    tenant_isolation,
)

__all__ = [
    "definer_functions",
    "public_endpoints_hide_internals",
    "query_tokens_rejected",
    "tenant_isolation",
]

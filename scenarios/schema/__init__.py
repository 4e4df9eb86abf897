"""Schema: upserts whose ON CONFLICT has a matching UNIQUE, and RLS/grant lint confirmed on a real
PostgreSQL.

Importing this package registers its checks with ``harness.scenario``.
"""

from . import policy_lint, upserts_merge

__all__ = ["policy_lint", "upserts_merge"]

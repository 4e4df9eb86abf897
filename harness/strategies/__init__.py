"""Reusable Hypothesis strategies for the scenario packs: traversal and SQL injection payloads.

    from harness.strategies import traversal_payloads, sql_payloads
    traversal_payloads(goals=("../canary.txt",), absolute=("/srv/canary.txt",))

Every strategy is an immutable value whose ``repr`` is the call that made it, and every value
it draws is a frozen payload whose ``repr`` shows the exact text sent and its family, so the
falsifying example Hypothesis prints can be pasted back.
"""

from ._probe import (
    Hit,
    ProbeResult,
    conclude_probe,
    curl,
    describe,
    probe,
    report_findings,
    send_twice,
)
from ._sql import SQL_ERROR_MARKERS, SQL_FAMILIES, SqlPayload, sql_corpus, sql_payloads
from ._traversal import (
    TRAVERSAL_FAMILIES,
    TraversalPayload,
    traversal_corpus,
    traversal_payloads,
)

__all__ = [
    "SQL_ERROR_MARKERS",
    "SQL_FAMILIES",
    "TRAVERSAL_FAMILIES",
    "Hit",
    "ProbeResult",
    "SqlPayload",
    "TraversalPayload",
    "conclude_probe",
    "curl",
    "describe",
    "probe",
    "report_findings",
    "send_twice",
    "sql_corpus",
    "sql_payloads",
    "traversal_corpus",
    "traversal_payloads",
]

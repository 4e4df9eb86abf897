"""What the checks on a target under the DB tracer share: its trace file, and seeding rows."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from harness.pack import UserError
from scenarios.injection._seed import run_statements

_HINT = (
    "command = '{python} -m scenarios.invariants.dbtrace -m uvicorn app:app "
    "--port {port}' with env FIXGUARD_DBTRACE=/path/to/trace"
)


def trace_file(trace: str | Path | None, problem: str, where: str) -> str:
    """The trace file the traced target writes; a UserError saying `problem` when there is none."""
    if not trace or not os.path.exists(trace):
        raise UserError(f"{problem}; the target must run under the tracer", where=where, hint=_HINT)
    return str(trace)


def seed_rows(setup_sql: Sequence[str], dsn: str | None) -> None:
    """Run the binding's setup statements (if any) on its database, before the call."""
    if setup_sql:
        if not dsn:
            raise UserError("binding.setup_sql needs binding.dsn", where="binding.dsn")
        run_statements(dsn, setup_sql)

"""fixguard_outcomes: a standalone pytest plugin that records each test's result as it happens.

It imports nothing from the harness (the project's interpreter may not have it). `run_pytest`
copies it into a temp dir on PYTHONPATH and loads it with `-p fixguard_outcomes`. Each line of
FIXGUARD_OUTCOMES_OUT is one JSON record, flushed at once, so the record survives whatever
happens next:

- `{"event": "start"}` when the session starts;
- `{"event": "report", "nodeid": ..., "when": "setup"|"call"|"teardown", "outcome": ...}`
  for every test phase, recorded before any other plugin renders the report (a test that fails
  and then crashes pytest's reporting still counts as a failure);
- `{"event": "finish", "exitstatus": N}` when the session ends (a test that calls `os._exit`
  leaves no such line).
"""

from __future__ import annotations

import json
import os

import pytest

_OUT = os.environ.get("FIXGUARD_OUTCOMES_OUT")


def _write(record: dict[str, object]) -> None:
    if not _OUT:
        return
    with open(_OUT, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(record) + "\n")
        handle.flush()


def pytest_sessionstart(session: pytest.Session) -> None:
    _write({"event": "start"})


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    _write(
        {"event": "report", "nodeid": report.nodeid, "when": report.when, "outcome": report.outcome}
    )


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    _write({"event": "finish", "exitstatus": int(exitstatus)})

"""fixguard_outcomes: a standalone pytest plugin that records each test's result as it happens.

It imports nothing from the harness (the project's interpreter may not have it). `run_pytest`
copies it into a temp dir on PYTHONPATH and loads it with `-p fixguard_outcomes`. Each line of
FIXGUARD_OUTCOMES_OUT is one JSON record, flushed at once, so the record survives whatever
happens next:

- `{"event": "start"}` when the session starts;
- `{"event": "begin", "nodeid": ...}` when a test starts, so a run cut short (a timeout, a
  crash) tells the test it was in from the tests it never reached;
- `{"event": "report", "nodeid": ..., "when": "setup"|"call"|"teardown", "outcome": ...}`
  for every test phase, recorded before any other plugin renders the report (a test that fails
  and then crashes pytest's reporting still counts as a failure);
- `{"event": "finding", "nodeid": ..., "message": ...}` for every `CheckFinding` warning (a
  scenario check's finding, see harness.findings; matched by the category's name, which must
  equal harness.findings.CATEGORY_NAME), with the warning's text as `message`;
- `{"event": "finish", "exitstatus": N}` when the session ends (a test that calls `os._exit`
  leaves no such line).
"""

from __future__ import annotations

import json
import os
import warnings

import pytest

_OUT = os.environ.get("FIXGUARD_OUTCOMES_OUT")
#: harness.findings.CATEGORY_NAME, by value: this plugin imports nothing from the harness.
FINDING_CATEGORY = "CheckFinding"


def _write(record: dict[str, object]) -> None:
    if not _OUT:
        return
    with open(_OUT, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(record) + "\n")
        handle.flush()


def pytest_sessionstart(session: pytest.Session) -> None:
    _write({"event": "start"})


def pytest_runtest_logstart(nodeid: str, location: object) -> None:
    _write({"event": "begin", "nodeid": nodeid})


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    _write(
        {"event": "report", "nodeid": report.nodeid, "when": report.when, "outcome": report.outcome}
    )


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    _write({"event": "finish", "exitstatus": int(exitstatus)})


# optionalhook: pytest before 6.0 has no such hook, and must still load this plugin.
@pytest.hookimpl(optionalhook=True)
def pytest_warning_recorded(
    warning_message: warnings.WarningMessage, when: str, nodeid: str, location: object
) -> None:
    if warning_message.category.__name__ == FINDING_CATEGORY:
        _write({"event": "finding", "nodeid": nodeid, "message": str(warning_message.message)})

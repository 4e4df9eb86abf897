"""What a scenario pack may use: the one public surface for checks.

Packs under ``scenarios/`` (and a project's own packs) import from here and nowhere else in the
harness; an import-linter contract in ``pyproject.toml`` enforces it. Everything behind this
module may be rearranged without touching a pack.

    from harness.pack import Target, Violation, contend, fail_on, scenario

The groups:

- registration: `scenario`, and the findings a check reports and fails on (`Finding`,
  `fail_on`, `conclude`, ...);
- targets: `Target`, `import_object`/`import_owner` for ``"pkg.mod:attr"`` bindings,
  `is_loopback_host`;
- HTTP calls and answers: `HttpCall`, `HttpOrMethod`, `StatusSet`, `HttpRequest`, `send_raw`;
- contention: `contend`, `Round`, `Violation`, `RaceResult`, thread, asyncio and explored
  races, preemption, effect counting;
- leaks and blocking: counters, `measure`, fault injection, the stub upstream, loop lag;
- strategies: the traversal and SQL payload corpora, `probe`, and `conclude_probe` to judge it.
"""

from __future__ import annotations

from .bindings import HttpCall, StatusSet
from .blocking import LatencyReport, LoopLagMeter, loop_of, percentile, probe_latency
from .concurrency.aio import AsyncRace, ExplorerScheduler, race_async
from .concurrency.answers import Round, curl_command
from .concurrency.attempts import Budget, run_sequence
from .concurrency.calls import (
    ContentionBinding,
    Effect,
    HttpOrMethod,
    ObjectEffect,
    http_or_method,
    render,
)
from .concurrency.contend import contend
from .concurrency.contend_http import preflight as contention_preflight
from .concurrency.contend_inprocess import fresh_subject
from .concurrency.effects import count_effect
from .concurrency.lastbyte import HttpRequest, send_raw
from .concurrency.preempt import Preemption, TargetFiles
from .concurrency.report import assert_holds, format_failure
from .concurrency.result import Mode, RaceResult, Violation, WorkerResult
from .concurrency.threads import ThreadRace, race_threads
from .errors import UserError
from .findings import (
    Finding,
    FindingMode,
    FindingPolicy,
    collect,
    conclude,
    fail_on,
    fail_with,
    report_finding,
)
from .imports import import_object, import_owner
from .leaks import (
    CallableCounter,
    Counter,
    FdCounter,
    LeakReport,
    PgConnectionCounter,
    SocketCounter,
    StubUpstream,
    TaskCounter,
    ThreadCounter,
    answer_status,
    injected,
    measure,
    raise_error,
    slow_by,
)
from .leaks.inject import Behaviour
from .leaks.probe import rerun_command
from .scenario import scenario
from .strategies import (
    SQL_ERROR_MARKERS,
    SQL_FAMILIES,
    TRAVERSAL_FAMILIES,
    Hit,
    ProbeResult,
    SqlPayload,
    TraversalPayload,
    conclude_probe,
    curl,
    describe,
    probe,
    report_findings,
    send_twice,
    sql_corpus,
    sql_payloads,
    traversal_corpus,
    traversal_payloads,
)
from .targets.base import Target
from .targets.ports import is_loopback_host

__all__ = [
    "SQL_ERROR_MARKERS",
    "SQL_FAMILIES",
    "TRAVERSAL_FAMILIES",
    "AsyncRace",
    "Behaviour",
    "Budget",
    "CallableCounter",
    "ContentionBinding",
    "Counter",
    "Effect",
    "ExplorerScheduler",
    "FdCounter",
    "Finding",
    "FindingMode",
    "FindingPolicy",
    "Hit",
    "HttpCall",
    "HttpOrMethod",
    "HttpRequest",
    "LatencyReport",
    "LeakReport",
    "LoopLagMeter",
    "Mode",
    "ObjectEffect",
    "PgConnectionCounter",
    "Preemption",
    "ProbeResult",
    "RaceResult",
    "Round",
    "SocketCounter",
    "SqlPayload",
    "StatusSet",
    "StubUpstream",
    "Target",
    "TargetFiles",
    "TaskCounter",
    "ThreadCounter",
    "ThreadRace",
    "TraversalPayload",
    "UserError",
    "Violation",
    "WorkerResult",
    "answer_status",
    "assert_holds",
    "collect",
    "conclude",
    "conclude_probe",
    "contend",
    "contention_preflight",
    "count_effect",
    "curl",
    "curl_command",
    "describe",
    "fail_on",
    "fail_with",
    "format_failure",
    "fresh_subject",
    "http_or_method",
    "import_object",
    "import_owner",
    "injected",
    "is_loopback_host",
    "loop_of",
    "measure",
    "percentile",
    "probe",
    "probe_latency",
    "race_async",
    "race_threads",
    "raise_error",
    "render",
    "report_finding",
    "report_findings",
    "rerun_command",
    "run_sequence",
    "scenario",
    "send_raw",
    "send_twice",
    "slow_by",
    "sql_corpus",
    "sql_payloads",
    "traversal_corpus",
    "traversal_payloads",
]

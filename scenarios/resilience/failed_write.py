"""resilience.failed_write: when the upstream answers 5xx to a write, the target neither
reports success nor stays silent: it answers an error and logs one."""

from __future__ import annotations

import logging
import time

from pydantic import Field, field_validator

from harness.pack import (
    FindingMode,
    StatusSet,
    Target,
    fail_on,
    report_finding,
    rerun_command,
    scenario,
)

from ._common import ERROR_WORDS, UpstreamRequest, curl_of, error_lines

CHECK = "resilience.failed_write"


class FailedWriteBinding(UpstreamRequest):
    """The stub at ``upstream`` answers ``upstream_status`` to ``upstream_method``."""

    upstream_method: str = "PATCH"
    upstream_status: int = Field(default=503, ge=400, le=599)
    #: Answers that would report the write as done.
    success: StatusSet = frozenset(range(200, 300))
    #: A new line of the target's log (stdout+stderr) must match this regex.
    error_log: str = ERROR_WORDS
    #: Seconds to wait for the log line to be flushed.
    log_wait: float = Field(default=1.0, ge=0, le=30)
    #: "report": a 500 (the upstream's failure escaped as an unhandled error, where a 502 or
    #: 503 says what happened) is a finding; "fail": it fails the check too.
    server_errors: FindingMode = "report"

    @field_validator("upstream_method")
    @classmethod
    def _upper(cls, value: str) -> str:
        return value.upper()


class _Records(logging.Handler):
    """Formats WARNING-and-above records of this process (for in-process targets)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.levelname} {record.name}: {record.getMessage()}")


@scenario("resilience.failed_write", binding=FailedWriteBinding)
def failed_upstream_write_is_not_reported_as_success(
    binding: FailedWriteBinding, target: Target
) -> None:
    """The upstream rejects the write with a 5xx; the call must not answer a success and the
    target's log must gain an error line."""
    with binding.stub(statuses={binding.upstream_method: binding.upstream_status}) as stub:
        before = len(target.logs())
        records = _Records()  # an in-process target logs here, not to a captured stream
        root = logging.getLogger()
        root.addHandler(records)
        try:
            with target.client() as client:
                response = binding.call.send(client, binding.values, **binding.kwargs())
            rejected = stub.requests_for(binding.upstream_method)
            if not rejected:
                # A target that pools connections may first try one left over from an earlier
                # stub on this port (closed since); a second call, on a fresh connection to the
                # target (it may have dropped ours after a 500), reaches this stub.
                with target.client() as client:
                    response = binding.call.send(client, binding.values, **binding.kwargs())
                rejected = stub.requests_for(binding.upstream_method)

            def new_log() -> str:
                return target.logs()[before:] + "\n".join(records.lines)

            deadline = time.monotonic() + binding.log_wait
            logged = error_lines(new_log(), binding.error_log)
            while not logged and time.monotonic() < deadline:
                time.sleep(0.05)
                logged = error_lines(new_log(), binding.error_log)
        finally:
            root.removeHandler(records)
    if not rejected:
        raise AssertionError(
            f"{CHECK}: {binding.call} answered {response.status_code} but the "
            f"stub at {binding.upstream} received no {binding.upstream_method} (it saw "
            f"{[f'{r.method} {r.path}' for r in stub.requests]}): the target is not configured "
            "to call it, so this run proves nothing"
        )
    problems = []
    if response.status_code in binding.success:
        problems.append(
            f"answered {response.status_code} (a success: {response.text[:120]!r}) although the "
            f"upstream answered {binding.upstream_status} to {binding.upstream_method} "
            f"{rejected[0].path}: the upstream's status is never checked"
        )
    if not logged:
        captured = "" if target.logs() or records.lines else " (nothing was captured at all)"
        problems.append(
            f"nothing matching {binding.error_log!r} was logged{captured}: the "
            "failure is invisible to operators"
        )
    findings = []
    if response.status_code == 500:
        # Not a success and (with the traceback) logged: the sentence holds, but the caller
        # learns "internal error" where a 502/503 would name the upstream.
        findings.append(
            report_finding(
                CHECK,
                f"{binding.call} answered 500 when the upstream answered "
                f"{binding.upstream_status} to {binding.upstream_method}: an unhandled error, not "
                "a deliberate error answer",
                curl_of(response),
            )
        )
    if problems:
        raise AssertionError(
            f"{CHECK}: {binding.call}: "
            + "; and ".join(problems)
            + "".join(f"\n  finding: {f.problem}" for f in findings)
            + f"\n  repro: {rerun_command()}"
        )
    fail_on(CHECK, findings, binding.server_errors)

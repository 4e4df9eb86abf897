"""The idempotency binding and a sender that speaks to HTTP targets and in-process services."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import Field, model_validator

from harness.pack import (
    ContentionBinding,
    Effect,
    FindingMode,
    HttpCall,
    HttpRequest,
    RaceResult,
    StatusSet,
    Target,
    UserError,
    count_effect,
    curl_command,
    fail_on,
    fail_with,
    format_failure,
    fresh_subject,
    render,
    report_finding,
    send_raw,
)
from harness.pack import contention_preflight as preflight
from scenarios._shared import ContendedCall


class IdempotencyBinding(ContendedCall):
    """How to send one request with an Idempotency-Key (IETF draft), and what each answer means.

    ``call`` is ``"POST /backups"`` (HTTP: ``json`` is the body, the key goes in ``header``) or a
    method of the python target's service (``args`` default to ``["{idempotency_key}",
    "{payload}"]``; it returns ``(status, body)`` or raises an exception carrying
    ``status_code`` (FastAPI's ``HTTPException``), and a missing key is passed as None).
    """

    #: A payload different from ``json`` (the 422 check needs it).
    other_json: Any = None
    args: list[Any] = Field(default_factory=lambda: ["{idempotency_key}", "{payload}"])
    header: str = "Idempotency-Key"
    success: StatusSet = frozenset({200, 201})
    missing_key: StatusSet = frozenset({400})
    mismatch: StatusSet = frozenset({422})
    in_flight: StatusSet = frozenset({409})
    max_key_length: int = Field(default=255, ge=1)
    effect: Effect
    #: In process: the attribute holding the step that runs after the claim (a callable); the
    #: rollback checks replace it with a failing or a blocking step.
    fault_attr: str | None = None
    #: A 5xx or an unlisted 429 is a finding, never a duplicate or a stored answer; "fail" fails
    #: the check on it too.
    server_errors: FindingMode = "report"

    @model_validator(mode="after")
    def _disjoint(self) -> IdempotencyBinding:
        sets = {
            "success": self.success,
            "missing_key": self.missing_key,
            "mismatch": self.mismatch,
            "in_flight": self.in_flight,
        }
        names = list(sets)
        for i, a in enumerate(names):
            for b in names[i + 1 :]:
                both = sets[a] & sets[b]
                if both:
                    raise ValueError(f"{a} and {b} share {sorted(both)}: a status means one thing")
        return self

    def contention(self) -> ContentionBinding:
        """The same request as a contention binding (the key header carries ``{key}``)."""
        payload = self.json_body
        data: dict[str, Any] = {
            **self.race_fields(),
            "success": self.success,
            "conflict": self.in_flight,
            "effect": self.effect,
            "false_is_conflict": False,
        }
        if self.is_http:
            data["json"] = payload
            data["headers"] = {**self.headers, self.header: "{key}"}
        else:
            data["args"] = render(self.args, {"idempotency_key": "{key}", "payload": payload})
        return ContentionBinding.model_validate(data)


@dataclass(frozen=True)
class Reply:
    status: int
    body: Any
    #: How to send the request again (a curl line, or the in-process call); not compared.
    repro: str = field(default="", compare=False)

    def show(self) -> str:
        return f"{self.status} {str(self.body)[:160]}"


class Sender:
    """Sends one request to the target; in process it keeps one service for the whole check."""

    def __init__(self, binding: IdempotencyBinding, target: Target):
        self.binding = binding
        self.target = target
        self.run = uuid.uuid4().hex[:10]
        #: Out-of-class replies met so far: (what was sent, the reply).
        self.odd: list[tuple[str, Reply]] = []
        if binding.is_http:
            preflight(target)
            self.service: Any = None
        else:
            self.service = fresh_subject(target)
            binding.check_method(self.service)

    def key(self, label: str) -> str:
        return f"{self.run}-{label}"

    def payload(self, key: str, other: bool = False) -> Any:
        template = self.binding.other_json if other else self.binding.json_body
        return render(template, {"key": key, "run": self.run})

    def send(self, idem_key: str | None, payload: Any) -> Reply:
        b = self.binding
        if b.is_http:
            assert isinstance(b.call, HttpCall)
            headers = dict(b.headers)
            if idem_key is not None:
                headers[b.header] = idem_key
            request = HttpRequest(b.call.method, b.call.path, headers=headers, json=payload)
            reply = send_raw(self.target.base_url, request)  # raw: httpx refuses blank values
            try:
                body = reply.json()
            except ValueError:
                body = reply.text
            return Reply(reply.status, body, curl_command(self.target.base_url, request))
        args = render(b.args, {"idempotency_key": idem_key, "payload": payload})
        shown = f"{type(self.service).__name__}.{b.call}({', '.join(map(repr, args))})"
        try:
            result = getattr(self.service, str(b.call))(*args)
        except Exception as exc:
            status = getattr(exc, "status_code", None)
            if isinstance(status, int) and 100 <= status <= 599:  # an HTTPException and kin
                return Reply(status, {"detail": getattr(exc, "detail", str(exc))}, shown)
            return Reply(500, f"raised {type(exc).__name__}: {exc}", shown)
        if isinstance(result, tuple) and len(result) == 2 and isinstance(result[0], int):
            return Reply(result[0], result[1], shown)
        status = getattr(result, "status_code", None)
        if isinstance(status, int):
            return Reply(status, getattr(result, "body", None), shown)
        raise UserError(
            f"binding.call={b.call!r}: returned {result!r}; an in-process idempotent call must "
            "return (status, body)",
            where="binding.call",
        )

    def effects(self, key: str) -> int:
        return count_effect(
            self.binding.effect, self.target, self.service, {"key": key, "run": self.run}
        )

    def require_fault_attr(self) -> tuple[str, Callable[..., Any]]:
        b = self.binding
        if b.is_http or b.fault_attr is None:
            raise UserError(
                "binding.fault_attr: missing; the rollback checks run in process and replace "
                "the step after the claim (write fault_attr = 'runner' with a python target)",
                where="binding.fault_attr",
            )
        original = getattr(self.service, b.fault_attr, None)
        if not callable(original):
            raise UserError(
                f"binding.fault_attr={b.fault_attr!r}: {type(self.service).__name__} has no "
                "callable attribute of that name",
                where="binding.fault_attr",
            )
        return b.fault_attr, original

    def out_of_class(self, what: str, reply: Reply) -> bool:
        """True (and noted) for a reply outside the idempotency contract: a 5xx or a 429 that
        no status set of the binding lists. It is neither a duplicate nor a stored answer."""
        b = self.binding
        listed = b.success | b.missing_key | b.mismatch | b.in_flight
        if reply.status in listed or not (reply.status >= 500 or reply.status == 429):
            return False
        self.odd.append((what, reply))
        return True

    def verdict(self, check: str, result: RaceResult) -> None:
        """Report the out-of-class replies as findings, then fail on a violation (its report
        first) or, when the binding asks for it, on the findings."""
        __tracebackhide__ = True
        findings = [
            report_finding(
                check,
                f"{what} got {reply.show()}: not this check's bug class (a server error or an "
                "overload, not a duplicate effect), so it was left out of the verdict",
                reply.repro,
            )
            for what, reply in self.odd
        ]
        self.odd.clear()
        if result.failure is not None:
            fail_with(format_failure(result), findings)
        fail_on(check, findings, self.binding.server_errors)

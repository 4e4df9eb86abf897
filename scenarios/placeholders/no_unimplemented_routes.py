"""placeholders.no_unimplemented_routes: no route of the OpenAPI schema answers 501 or raises
NotImplementedError."""

from __future__ import annotations

import builtins
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from pydantic import Field

from harness.pack import (
    FindingPolicy,
    Target,
    UserError,
    collect,
    conclude,
    curl,
    report_finding,
    scenario,
)

CHECK = "placeholders.no_unimplemented_routes"

_METHODS = ("get", "head", "post", "put", "patch", "delete", "options")
_PARAM = re.compile(r"\{([^}/]+)\}")
_NOT_IMPLEMENTED = "NotImplementedError"


class UnimplementedRoutesBinding(FindingPolicy):
    """Where the schema is, what to put in path parameters, and which routes to leave out."""

    openapi: str = "/openapi.json"
    #: Path parameter values by name; any other parameter gets `default_value`.
    values: dict[str, str] = Field(default_factory=dict)
    default_value: str = "fixguard-probe"
    #: Methods to send, lower case.
    methods: tuple[str, ...] = _METHODS[:6]
    #: Routes to leave out, ``"METHOD /path/{param}"`` or ``"/path/{param}"`` (every method).
    exclude: tuple[str, ...] = ()
    #: Routes allowed to answer 501 (documented as unimplemented).
    allow: tuple[str, ...] = ()
    timeout: float = Field(default=10.0, gt=0)


def routes(
    schema: dict[str, Any], binding: UnimplementedRoutesBinding
) -> list[tuple[str, str, bool]]:
    """(METHOD, path template, has a request body) for every operation of the schema."""
    found: list[tuple[str, str, bool]] = []
    for path, item in sorted((schema.get("paths") or {}).items()):
        for method, operation in sorted(item.items()):
            if method not in binding.methods or not isinstance(operation, dict):
                continue
            label = f"{method.upper()} {path}"
            if path in binding.exclude or label in binding.exclude:
                continue
            found.append((method.upper(), path, "requestBody" in operation))
    return found


_swap_lock = threading.Lock()


@contextmanager
def _recording_not_implemented(target: Target) -> Iterator[list[BaseException]]:
    """In-process targets: ``raise NotImplementedError(...)`` resolves the name through
    builtins, so for the duration a recording subclass stands in for it; a raise that the
    framework turns into a 500 is still seen. Process targets: nothing to swap (their log)."""
    raised: list[BaseException] = []
    if target.pid is not None or target.spec.kind not in ("asgi", "python"):
        yield raised
        return
    original = builtins.NotImplementedError

    class RecordedNotImplementedError(original):  # type: ignore[valid-type,misc]
        def __init__(self, *args: Any) -> None:
            super().__init__(*args)
            raised.append(self)

    RecordedNotImplementedError.__name__ = "NotImplementedError"
    with _swap_lock:
        builtins.NotImplementedError = RecordedNotImplementedError  # type: ignore[misc]
        try:
            yield raised
        finally:
            builtins.NotImplementedError = original  # type: ignore[misc]


def _fill(path: str, binding: UnimplementedRoutesBinding) -> str:
    return _PARAM.sub(lambda m: binding.values.get(m.group(1), binding.default_value), path)


def _repro(target: Target, method: str, url: str, has_body: bool) -> str:
    body = " -H 'content-type: application/json' --data-binary '{}'" if has_body else ""
    return f"curl -s -X {method}{body} {target.base_url.rstrip('/')}{url}"


@scenario("placeholders.no_unimplemented_routes", binding=UnimplementedRoutesBinding)
def no_exposed_route_is_a_placeholder(binding: UnimplementedRoutesBinding, target: Target) -> None:
    """Every route the schema exposes answers something other than 501 and never lets a
    NotImplementedError out (in-process: the exception; a process: its log)."""
    flagged: list[str] = []
    with collect() as findings, target.client(timeout=binding.timeout) as client:
        answer = client.get(binding.openapi)
        if answer.status_code != 200:
            raise UserError(
                f"binding.openapi={binding.openapi!r}: answered {answer.status_code}",
                where="binding.openapi",
                hint="the path of the app's OpenAPI JSON",
            )
        listed = routes(answer.json(), binding)
        if not listed:
            raise UserError(
                f"binding.openapi={binding.openapi!r}: the schema lists no route",
                where="binding.openapi",
            )
        for method, path, has_body in listed:
            label = f"{method} {path}"
            url = _fill(path, binding)
            repro = _repro(target, method, url, has_body)
            log_before = len(target.logs())
            kwargs: dict[str, Any] = {"json": {}} if has_body else {}
            try:
                with _recording_not_implemented(target) as raised:
                    try:
                        response = client.request(method, url, **kwargs)
                    except httpx.TransportError as exc:
                        if isinstance(exc, httpx.TimeoutException):
                            raise
                        # The server closes a keep-alive connection after a 500; the next
                        # route must still be probed, on a fresh connection.
                        response = client.request(method, url, **kwargs)
            except NotImplementedError as exc:
                flagged.append(f"{label} raised NotImplementedError: {exc}\n    repro: {repro}")
                continue
            except httpx.TimeoutException:
                # Slow is not unimplemented; the blocking and resilience packs bound latency.
                report_finding(CHECK, f"{label} did not answer within {binding.timeout:g}s", repro)
                continue
            except Exception as exc:
                if any(_NOT_IMPLEMENTED == c.__name__ for c in type(exc).__mro__):
                    flagged.append(
                        f"{label} raised {type(exc).__name__}: {exc}\n    repro: {repro}"
                    )
                else:  # an in-process app's own error, or a dropped connection: not a stub
                    report_finding(CHECK, f"{label} raised {type(exc).__name__}: {exc}", repro)
                continue
            repro = curl(response.request)
            status = response.status_code
            logged = target.logs()[log_before:]
            # A NotImplementedError the route itself caught (a backend probe with a fallback)
            # left a working route: only one that reached the framework, a 5xx, is a stub.
            seen = (
                "raised NotImplementedError: " + str(raised[0])
                if raised
                else "raised NotImplementedError (seen in the target's log)"
                if _NOT_IMPLEMENTED in logged or _NOT_IMPLEMENTED in response.text
                else ""
            )
            if status == 501 and label not in binding.allow and path not in binding.allow:
                flagged.append(f"{label} answered 501: {response.text[:160]!r}\n    repro: {repro}")
            elif seen and status >= 500:
                flagged.append(f"{label} answered {status} and {seen}\n    repro: {repro}")
            elif seen:
                report_finding(
                    CHECK, f"{label} answered {status} but {seen}, handled inside the route", repro
                )
            elif status >= 500 and status != 501:
                report_finding(
                    CHECK,
                    f"{label} answered {status} to a probe with "
                    f"{binding.default_value!r} in its path parameters"
                    + (" and an empty JSON body" if has_body else ""),
                    repro,
                )
    conclude(
        CHECK,
        "exposed routes that are placeholders (remove them from the API, or implement them)",
        flagged,
        findings,
        binding.server_errors,
    )

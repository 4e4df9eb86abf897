"""authz.public_endpoints_hide_internals: /health and /metrics without credentials reveal nothing inside."""

from __future__ import annotations

import re
import sys

import httpx
from pydantic import Field

from harness.pack import FindingPolicy, Target, collect, conclude, curl, report_finding, scenario

from ._http import request

CHECK = "authz.public_endpoints_hide_internals"

#: What internals look like in a body, whatever the service: (label, pattern).
INTERNAL_PATTERNS: tuple[tuple[str, str], ...] = (
    ("a Python version string", r"\b3\.\d{1,2}\.\d{1,2}\s*\((?:main|default|tags)"),
    ("a platform string", r"\b(?:Linux|Darwin|Windows)-\d[\w.-]*"),
    ("a database URL", r"\b(?:postgres(?:ql)?|mysql|sqlite|redis|mongodb)(?:\+\w+)?://"),
    ("a filesystem path", r"(?<![\w:/])/(?:tmp|home|root|srv|var|opt|usr|etc|work|app)/[\w.-]+"),
    (
        "an environment dump",
        r"\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*_(?:DB|URL|DIR|KEY|SECRET|TOKEN|PASSWORD|ENV)\b",
    ),
    ("a stack trace", r"Traceback \(most recent call last\)"),
)

#: Configuration words that say nothing about the inside: a body holding ``true`` or ``info``
#: does not leak ``DEBUG=true`` or ``LOG_LEVEL=info``.
COMMON_VALUES = frozenset(
    {
        "true",
        "false",
        "yes",
        "none",
        "null",
        "info",
        "debug",
        "warn",
        "warning",
        "error",
        "critical",
        "json",
        "text",
        "http",
        "https",
        "prod",
        "production",
        "dev",
        "development",
        "test",
        "testing",
        "stage",
        "staging",
        "local",
        "localhost",
        "utf-8",
        "auto",
        "default",
    }
)


class PublicEndpointsBinding(FindingPolicy):
    """The endpoints reachable without credentials, and what must never appear in them."""

    paths: tuple[str, ...] = ("/health", "/metrics")
    #: Extra strings that must not appear (a planted secret, the data dir...).
    secrets: tuple[str, ...] = ()
    #: Treat every value of the target's configured env (4+ characters, not a plain number or
    #: a common configuration word such as ``true``) as a secret too.
    env_values: bool = True
    #: Built-in patterns to skip by label, e.g. ["a filesystem path"] for a path-shaped status.
    ignore: tuple[str, ...] = ()
    timeout: float = Field(default=10.0, gt=0)


def _secrets(binding: PublicEndpointsBinding, target: Target) -> list[str]:
    found = list(binding.secrets)
    if binding.env_values:
        found += [
            v
            for v in target.spec.env.values()
            if len(v) >= 4 and not v.isdigit() and v.lower() not in COMMON_VALUES
        ]
    found.append(sys.version.split()[0] + " (")  # this interpreter's version, as sys.version
    return [s for s in dict.fromkeys(found) if s]


def _shown(secret: str, body: str) -> bool:
    """`secret` appears in `body` as a whole value: where it starts or ends with a word
    character, not inside a longer word (a value ``prod1`` is not shown by ``prod12``)."""
    before = r"(?<![\w-])" if re.match(r"\w", secret) else ""
    after = r"(?![\w-])" if re.search(r"\w$", secret) else ""
    return re.search(before + re.escape(secret) + after, body) is not None


@scenario("authz.public_endpoints_hide_internals", binding=PublicEndpointsBinding)
def unauthenticated_health_and_metrics_expose_no_internals(
    binding: PublicEndpointsBinding, target: Target
) -> None:
    """Each path, fetched with no credentials, answers without versions, paths, URLs or env."""
    secrets = _secrets(binding, target)
    patterns = [
        (label, re.compile(p)) for label, p in INTERNAL_PATTERNS if label not in binding.ignore
    ]
    problems: list[str] = []
    with collect() as findings, target.client(timeout=binding.timeout) as client:
        for path in binding.paths:
            try:
                response = request(client, "GET", path)
            except httpx.HTTPError as exc:
                report_finding(
                    CHECK,
                    f"GET {path}: {type(exc).__name__}: {exc}",
                    f"curl -s {target.base_url}{path}",
                )
                continue
            body = response.text
            hits = [f"{label} ({m.group(0)!r})" for label, rx in patterns if (m := rx.search(body))]
            hits += [f"the configured value {s!r}" for s in secrets if _shown(s, body)]
            if hits:
                problems.append(
                    f"GET {path} (no credentials) -> {response.status_code} shows "
                    + "; ".join(hits)
                )
            elif response.status_code >= 500:
                # A failing health check shows nothing inside by failing; it is reported apart.
                report_finding(
                    CHECK,
                    f"GET {path} (no credentials) answered "
                    f"{response.status_code}, revealing nothing inside",
                    curl(response.request),
                )
    conclude(
        CHECK,
        "unauthenticated endpoints expose internals",
        problems,
        findings,
        binding.server_errors,
    )

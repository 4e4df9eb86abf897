"""authz.public_endpoints_hide_internals: /health and /metrics without credentials reveal nothing inside."""

from __future__ import annotations

import re
import sys

from pydantic import BaseModel, ConfigDict, Field

from harness.scenario import scenario
from harness.targets.base import Target

#: What internals look like in a body, whatever the service: (label, pattern).
INTERNAL_PATTERNS: tuple[tuple[str, str], ...] = (
    ("a Python version string", r"\b3\.\d{1,2}\.\d{1,2}\s*\((?:main|default|tags)"),
    ("a platform string", r"\b(?:Linux|Darwin|Windows)-\d[\w.-]*"),
    ("a database URL", r"\b(?:postgres(?:ql)?|mysql|sqlite|redis|mongodb)(?:\+\w+)?://"),
    ("a filesystem path", r"(?<![\w:/])/(?:tmp|home|root|srv|var|opt|usr|etc|work|app)/[\w.-]+"),
    ("an environment dump", r"\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*_(?:DB|URL|DIR|KEY|SECRET|TOKEN|PASSWORD|ENV)\b"),
    ("a stack trace", r"Traceback \(most recent call last\)"),
)


class PublicEndpointsBinding(BaseModel):
    """The endpoints reachable without credentials, and what must never appear in them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    paths: tuple[str, ...] = ("/health", "/metrics")
    #: Extra strings that must not appear (a planted secret, the data dir...).
    secrets: tuple[str, ...] = ()
    #: Treat every value of the target's configured env (4+ characters) as a secret too.
    env_values: bool = True
    #: Built-in patterns to skip by label, e.g. ["a filesystem path"] for a path-shaped status.
    ignore: tuple[str, ...] = ()
    timeout: float = Field(default=10.0, gt=0)


def _secrets(binding: PublicEndpointsBinding, target: Target) -> list[str]:
    found = list(binding.secrets)
    if binding.env_values:
        found += [v for v in target.spec.env.values() if len(v) >= 4 and not v.isdigit()]
    found.append(sys.version.split()[0] + " (")  # this interpreter's version, as sys.version
    return [s for s in dict.fromkeys(found) if s]


@scenario("authz.public_endpoints_hide_internals", binding=PublicEndpointsBinding)
def unauthenticated_health_and_metrics_expose_no_internals(
    binding: PublicEndpointsBinding, target: Target
) -> None:
    """Each path, fetched with no credentials, answers without versions, paths, URLs or env."""
    secrets = _secrets(binding, target)
    patterns = [(label, re.compile(p)) for label, p in INTERNAL_PATTERNS
                if label not in binding.ignore]
    problems: list[str] = []
    with target.client(timeout=binding.timeout) as client:
        for path in binding.paths:
            response = client.get(path)
            body = response.text
            if response.status_code >= 500:
                problems.append(f"GET {path}: answered {response.status_code}")
            hits = [f"{label} ({m.group(0)!r})" for label, rx in patterns
                    if (m := rx.search(body))]
            hits += [f"the configured value {s!r}" for s in secrets if s in body]
            if hits:
                problems.append(f"GET {path} (no credentials) -> {response.status_code} shows "
                                + "; ".join(hits))
    if problems:
        raise AssertionError(
            "authz.public_endpoints_hide_internals: unauthenticated endpoints expose internals"
            "\n  " + "\n  ".join(problems)
        )

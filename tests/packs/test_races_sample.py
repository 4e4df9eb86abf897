"""The races pack against the sample service: each check fails on the buggy base and passes on
the fixed head, over HTTP through the real `process` launcher (uvicorn) or in process."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

import scenarios.races  # noqa: F401 - registers the checks
from harness.scenario import run
from harness.targets import TargetSpec, launch
from harness.targets.base import Target

pytestmark = pytest.mark.slow

Served = Callable[[str], tuple[Target, Path]]


@pytest.fixture(scope="module")
def served(
    checkout: Callable[[str], Path],
    sample_spec: Callable[..., dict[str, Any]],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Served]:
    """`served(rev)` -> (a uvicorn process serving the sample at `rev`, its data dir)."""
    with ExitStack() as stack:
        running: dict[str, tuple[Target, Path]] = {}

        def get(rev: str) -> tuple[Target, Path]:
            if rev not in running:
                data = tmp_path_factory.mktemp(f"races-{rev}")
                target = stack.enter_context(launch(TargetSpec(**sample_spec(checkout(rev), data))))
                running[rev] = (target, data)
            return running[rev]

        yield get


def failure_of(name: str, binding: dict[str, Any], target: Target) -> str | None:
    try:
        run(name, binding, target)
    except AssertionError as exc:
        return str(exc)
    return None


def sql(data: Path, query: str) -> dict[str, str]:
    return {"sql": query, "dsn": f"sqlite:///{data / 'shopapp.sqlite3'}"}


def ticket_cap(data: Path) -> dict[str, Any]:
    return {
        "call": "POST /tickets",
        "json": {"user_id": "{key}"},
        "cap": 5,
        "workers": 12,
        "success": [201],
        "conflict": [429],
        "effect": sql(data, "SELECT count(*) FROM tickets WHERE user_id = :key AND used = 0"),
    }


def ticket_consume(data: Path) -> dict[str, Any]:
    return {
        "call": "POST /tickets/{resource}/consume",
        "setup": {"call": "POST /tickets", "json": {"user_id": "{key}"}},
        "setup_field": "ticket",
        "success": [200],
        "conflict": [409],
        "effect": sql(data, "SELECT count(*) FROM tickets WHERE user_id = :key AND used = 1"),
    }


def simulation_register(data: Path) -> dict[str, Any]:
    return {
        "call": "POST /simulations",
        "json": {"simulation_id": "{key}", "client_id": "client-{worker}"},
        "success": [201],
        "conflict": [409],
        "effect": sql(data, "SELECT count(*) FROM simulations WHERE simulation_id = :key"),
    }


@pytest.mark.parametrize(
    ("name", "finding", "make", "says"),
    [
        ("races.capacity_limit", "ticket-cap", ticket_cap, "but the cap is 5"),
        ("races.single_consumer", "ticket-consume", ticket_consume, "consumed the same resource"),
        (
            "races.exclusive_create",
            "simulation-register",
            simulation_register,
            "creates of the same key succeeded",
        ),
    ],
)
def test_http_race_fails_on_the_base_and_passes_on_the_fixed_head(
    served: Served,
    fixed: Callable[[str], None],
    name: str,
    finding: str,
    make: Callable[[Path], dict[str, Any]],
    says: str,
) -> None:
    fixed(finding)
    base, base_data = served("base")
    failure = failure_of(name, make(base_data), base)
    assert failure is not None, f"{name} did not catch {finding} on the sample's base"
    assert says in failure and "mode=last-byte" in failure, failure
    head, head_data = served("head")
    assert failure_of(name, make(head_data), head) is None


def test_shared_cache_fails_on_the_base_and_passes_on_the_fixed_head(
    checkout: Callable[[str], Path],
    fixed: Callable[[str], None],
    sample_modules: Callable[[Path], Any],
) -> None:
    fixed("cache-lock")
    results = {}
    for rev in ("base", "head"):
        with sample_modules(checkout(rev)):
            spec = TargetSpec(
                kind="python", factory="shopapp.cache:LRUCache", kwargs={"max_size": 8}
            )
            with launch(spec) as target:
                results[rev] = failure_of("races.shared_cache", {}, target)
    assert results["base"] is not None and "races.shared_cache: " in results["base"]
    assert results["head"] is None, results["head"]

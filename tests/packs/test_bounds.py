"""The bounds pack on the sample through uvicorn: order-sync-retries (a stub upstream that always
answers 503, attempts counted on loopback), orders-pagination (rows traced in the DB driver) and
search-rate-limit (a burst past the limit while another client is served)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from harness.errors import UserError
from harness.scenario import run
from harness.targets import free_port, launch
from tests.packs.support import failure, findings_apart, serve_app

ORDERS = 230
SEED_ORDERS = (
    "INSERT INTO orders (id, customer, total_cents, created_at) WITH RECURSIVE n(i) AS "
    f"(SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {ORDERS}) "
    "SELECT printf('fg-page-%05d', i), 'c', i, 0 FROM n"
)
RATE = {"call": "GET /search", "params": {"q": "mug"}, "limit": 5, "burst": 9}


def _retry_binding(port: int) -> dict[str, Any]:
    return {
        "call": "POST /orders/{order}/sync",
        "values": {"order": "o-1"},
        "upstream": f"http://127.0.0.1:{port}",
        "max_attempts": 4,
        "bound": 2.5,
        "methods": ["POST"],
        "expect": [502],
    }


def _retry_target(
    tree: Path, data: Path, sample_spec: Callable[..., dict[str, Any]], port: int
) -> Any:
    return launch(sample_spec(tree, data, SHOPAPP_UPSTREAM_URL=f"http://127.0.0.1:{port}"))


def test_retries_never_end_on_the_base(
    checkout: Any, sample_spec: Callable[..., dict[str, Any]], tmp_path: Path
) -> None:
    port = free_port()
    with _retry_target(checkout("base"), tmp_path / "data", sample_spec, port) as target:
        with pytest.raises(AssertionError) as caught:
            run("bounds.retries_terminate", _retry_binding(port), target)
    message = str(caught.value)
    assert "POST /orders/{order}/sync was still retrying after " in message
    assert "against an upstream that always answers 503 (at most 4 allowed)" in message
    made = int(message.split("s: ", 1)[1].split(" attempts", 1)[0])
    assert made > 4, message


def test_retries_end_after_the_configured_attempts_at_the_head(
    checkout: Any,
    sample_spec: Callable[..., dict[str, Any]],
    tmp_path: Path,
    fixed: Callable[[str], None],
) -> None:
    fixed("order-sync-retries")
    port = free_port()
    with _retry_target(checkout("head"), tmp_path / "data", sample_spec, port) as target:
        run("bounds.retries_terminate", _retry_binding(port), target)
        with pytest.raises(
            AssertionError, match=r"made 4 attempts in .*more than the configured 3"
        ):
            run("bounds.retries_terminate", {**_retry_binding(port), "max_attempts": 3}, target)
        with pytest.raises(AssertionError, match="never called the upstream"):
            run("bounds.retries_terminate", {**_retry_binding(free_port()), "expect": None}, target)


def _pagination(shared: Any) -> dict[str, Any]:
    return {
        "call": "GET /orders",
        "page_size": 100,
        "setup_sql": [SEED_ORDERS],
        "dsn": shared.sqlite_dsn,
    }


def test_pagination_fails_on_the_base(shared_sample: Any) -> None:
    shared = shared_sample("base")
    with pytest.raises(AssertionError) as caught:
        run("bounds.list_is_paginated", _pagination(shared), shared.target)
    message = str(caught.value)
    assert f"answered {ORDERS} items, more than the page size 100" in message
    assert f"fetched {ORDERS} rows" in message and "more than 101" in message


def test_pagination_passes_at_the_head(shared_sample: Any, fixed: Callable[[str], None]) -> None:
    fixed("orders-pagination")
    shared = shared_sample("head")
    binding = _pagination(shared)
    run("bounds.list_is_paginated", binding, shared.target)
    # the default page is 20: asking for the whole table is refused, not served
    run(
        "bounds.list_is_paginated",
        {**binding, "setup_sql": [], "page_size": 20, "max_rows": 20},
        shared.target,
    )
    # Asking for the whole table is refused (422): bounded, so the call without the
    # oversized ask is judged instead, and it pages.
    run(
        "bounds.list_is_paginated",
        {**binding, "setup_sql": [], "params": {"limit": "100000"}},
        shared.target,
    )
    # A refusal does not prove a bound by itself: the plain call is judged too.
    with pytest.raises(AssertionError, match="answered 404"):
        run(
            "bounds.list_is_paginated",
            {
                **binding,
                "setup_sql": [],
                "params": {"limit": "100000"},
                "call": "GET /orders/absent",
            },
            shared.target,
        )


def test_rate_limit_fails_on_the_base(shared_sample: Any) -> None:
    with pytest.raises(AssertionError) as caught:
        run("bounds.rate_limited", RATE, shared_sample("base").target)
    message = str(caught.value)
    assert (
        "4 of the 4 requests past the limit were not limited (answers [200], want [429])" in message
    )
    assert "answers in order: [200, 200, 200, 200, 200, 200, 200, 200, 200]" in message


def test_rate_limit_holds_at_the_head(shared_sample: Any, fixed: Callable[[str], None]) -> None:
    fixed("search-rate-limit")
    target = shared_sample("head").target
    run("bounds.rate_limited", RATE, target)
    with pytest.raises(AssertionError, match="within the limit it already answered"):
        run("bounds.rate_limited", {**RATE, "limit": 6, "burst": 10}, target)


def test_bindings_are_checked(shared_sample: Any) -> None:
    target = shared_sample("head").target
    with pytest.raises(UserError, match="burst must be larger"):
        run("bounds.rate_limited", {**RATE, "burst": 5}, target)
    with pytest.raises(UserError, match="loopback"):
        run(
            "bounds.retries_terminate",
            {**_retry_binding(1), "upstream": "http://10.0.0.1:80"},
            target,
        )


# --- precision: a 5xx is neither served nor limited --------------------------------------------

FLAKY_SEARCH_APP = """
import os
from collections import Counter

LIMITED = os.environ.get("APP_LIMIT") == "1"
SEEN = Counter()


async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    headers = dict(scope["headers"])
    client = headers.get(b"x-client-id", b"").decode()
    SEEN[client] += 1
    if SEEN[client] == 3:  # one failing backend call, limiter or not
        status = 500
    elif LIMITED and SEEN[client] > 5:
        status = 429
    else:
        status = 200
    await send({"type": "http.response.start", "status": status, "headers": []})
    await send({"type": "http.response.body", "body": b"{}"})
"""


@pytest.fixture(params=["limited", "unlimited"])
def flaky_search(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    env = {"APP_LIMIT": "1" if request.param == "limited" else "0"}
    with serve_app(tmp_path, "flaky_search", FLAKY_SEARCH_APP, health="/", env=env) as target:
        yield request.param, target


def test_a_500_within_the_limit_is_a_finding_not_a_broken_limit(flaky_search: Any) -> None:
    from harness.findings import collect

    variant, target = flaky_search
    binding = {**RATE, "call": "GET /search"}
    if variant == "unlimited":  # the 500 does not hide the missing limit
        with collect() as seen:
            message = failure("bounds.rate_limited", binding, target)
        assert "4 of the 4 requests past the limit were not limited" in message
        findings = message.split("findings (1, not this check's bug class):")[1]
        assert "1 of 10 requests got a server error" in findings
    else:
        seen = findings_apart("bounds.rate_limited", binding, target)
    assert len(seen) == 1 and "([500])" in seen[0].problem, [str(f) for f in seen]
    assert seen[0].repro.startswith("curl -s -i -X GET -H 'X-Client-Id: fg-greedy-")

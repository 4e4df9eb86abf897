"""The resilience pack against the sample: the pricing call with no timeout (upstream-timeout),
the unchecked PATCH (patch-unchecked), over HTTP with stub upstreams on loopback and in-process
with a fault injected into httpx."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import pytest

from harness.errors import UserError
from harness.scenario import run
from harness.targets import free_port, launch
from harness.targets.base import Target
from tests.packs.support import failure, failure_of, findings_apart

Checkout = Callable[[str], Path]


@pytest.fixture(scope="module")
def served(
    checkout: Checkout, sample_spec: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[[str], tuple[Target, str]]]:
    """`served(rev)` -> (the sample served by uvicorn from `rev`, its upstream URL); one
    process per revision for this module, its upstream pointed at a port no one listens on
    until a check starts its stub there, its pricing timeout 1 s (the fix reads it)."""
    started: dict[str, tuple[Target, str]] = {}
    with ExitStack() as stack:

        def get(rev: str) -> tuple[Target, str]:
            if rev not in started:
                upstream = f"http://127.0.0.1:{free_port()}"
                spec = sample_spec(
                    checkout(rev),
                    tmp_path_factory.mktemp(f"data-{rev}"),
                    SHOPAPP_UPSTREAM_URL=upstream,
                    SHOPAPP_PRICING_TIMEOUT="1",
                )
                started[rev] = (stack.enter_context(launch(spec)), upstream)
            return started[rev]

        yield get


def hung(upstream: str) -> dict[str, Any]:
    return {
        "call": "GET /prices/{sku}",
        "values": {"sku": "abc"},
        "upstream": upstream,
        "bound": 3.0,
    }


def failed_write(upstream: str) -> dict[str, Any]:
    return {
        "call": "PATCH /inventory/{sku}",
        "values": {"sku": "abc"},
        "json": {"quantity": 3},
        "upstream": upstream,
    }


def outcome(
    served: Any, rev: str, name: str, binding: Callable[[str], dict[str, Any]]
) -> str | None:
    """The failure of check `name` on the module's server at `rev`, `binding` given its stub's
    upstream URL; None when it passed."""
    target, upstream = served(rev)
    return failure_of(name, binding(upstream), target)


@pytest.mark.timeout(60)
def test_hung_upstream_fails_on_base_because_the_call_waits_forever(served: Any) -> None:
    started = time.perf_counter()
    message = outcome(served, "base", "resilience.hung_upstream", hung)
    assert message is not None and message.startswith(
        "resilience.hung_upstream: GET /prices/{sku} did not answer within 3s"
    )
    assert "accepted 1 connection(s), received 1 request(s) and never replied" in message
    assert "the outbound call has no timeout" in message
    assert time.perf_counter() - started < 30


@pytest.mark.timeout(60)
def test_hung_upstream_refuses_a_target_that_never_calls_the_stub(served: Any) -> None:
    target, _ = served("base")
    elsewhere = f"http://127.0.0.1:{free_port()}"  # the target is not told about this one
    with pytest.raises(AssertionError, match="without ever connecting to the stub"):
        run(
            "resilience.hung_upstream",
            {"call": "GET /healthz", "upstream": elsewhere, "bound": 3.0, "expect": [200]},
            target,
        )


@pytest.mark.timeout(60)
def test_failed_write_fails_on_base_reporting_success_in_silence(served: Any) -> None:
    message = outcome(served, "base", "resilience.failed_write", failed_write)
    assert message is not None and message.startswith(
        "resilience.failed_write: PATCH /inventory/{sku}: answered 200 (a success: "
    )
    assert "although the upstream answered 503 to PATCH /items/abc" in message
    assert "the upstream's status is never checked" in message
    assert "; and nothing matching " in message and "was logged" in message


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    ("name", "finding", "binding"),
    [
        ("resilience.hung_upstream", "upstream-timeout", hung),
        ("resilience.failed_write", "patch-unchecked", failed_write),
    ],
    ids=["hung-upstream-gets-a-504", "failed-write"],
)
def test_passes_on_the_fixed_head(
    served: Any,
    fixed: Callable[[str], None],
    name: str,
    finding: str,
    binding: Callable[[str], dict[str, Any]],
) -> None:
    fixed(finding)
    assert outcome(served, "head", name, binding) is None


def _inventory_sync() -> Any:
    """The sample's InventorySync on a started UpstreamClient (no network: the fault answers)."""
    from shopapp.inventory import InventorySync
    from shopapp.upstream import UpstreamClient

    upstream = UpstreamClient("http://catalogue.invalid")
    asyncio.run(upstream.startup())
    return InventorySync(upstream)


INVENTORY = {"kind": "python", "factory": _inventory_sync}
SWALLOW = "resilience.swallowed_errors"
PUSH = {"call": "push_stock", "args": ["sku-1", 3]}
UPSTREAM_503 = {"at": "httpx:AsyncClient.send", "status": 503}


def test_swallowed_error_fails_on_base_when_the_upstream_answers_503(sample_target: Any) -> None:
    with sample_target("base", INVENTORY) as target:
        message = failure(SWALLOW, {"call": PUSH, "fault": UPSTREAM_503}, target)
    assert message.startswith(
        "resilience.swallowed_errors: the fault (httpx:AsyncClient.send answering 503, reached "
        "1 time(s)) was swallowed: push_stock('sku-1', 3) returned True and nothing was logged "
        "at WARNING or above"
    )


def test_swallowed_error_passes_on_the_fixed_head(
    sample_target: Any, fixed: Callable[[str], None]
) -> None:
    fixed("patch-unchecked")
    with sample_target("head", INVENTORY) as target:
        run(SWALLOW, {"call": PUSH, "fault": UPSTREAM_503}, target)


def test_a_raised_fault_that_propagates_is_not_swallowed(sample_target: Any) -> None:
    # Even the base propagates a transport error: the check tells the two apart.
    fault = {"at": "httpx:AsyncClient.send", "raises": "httpx:ConnectError"}
    with sample_target("base", INVENTORY) as target:
        run(SWALLOW, {"call": PUSH, "fault": fault}, target)


def test_a_fault_the_call_never_reaches_is_a_user_error(sample_target: Any) -> None:
    fault = {"at": "shopapp.settings:load_settings_file", "raises": "OSError"}
    with sample_target("base", INVENTORY) as target:
        with pytest.raises(UserError, match="never reached it"):
            run(SWALLOW, {"call": PUSH, "fault": fault}, target)


def test_fault_binding_takes_exactly_one_kind() -> None:
    with pytest.raises(UserError, match=r"binding\.fault"):
        run("resilience.swallowed_errors", {"call": "x", "fault": {"at": "m:f"}}, None)  # type: ignore[arg-type]


@contextmanager
def _in_process(sample_app: Any, rev: str) -> Iterator[tuple[Target, str]]:
    upstream = f"http://127.0.0.1:{free_port()}"
    with sample_app(rev, SHOPAPP_UPSTREAM_URL=upstream, SHOPAPP_PRICING_TIMEOUT="1") as target:
        yield target, upstream


@pytest.mark.timeout(60)
def test_hung_upstream_in_process_fails_within_the_bound_instead_of_hanging(
    sample_app: Any,
) -> None:
    started = time.perf_counter()
    with _in_process(sample_app, "base") as (target, up):
        with pytest.raises(AssertionError, match=r"did not answer within 2s"):
            run(
                "resilience.hung_upstream",
                {"call": "GET /prices/abc", "upstream": up, "bound": 2.0},
                target,
            )
    assert time.perf_counter() - started < 20


@pytest.mark.timeout(60)
def test_failed_write_in_process_reads_the_log_records(
    sample_app: Any, fixed: Callable[[str], None]
) -> None:
    fixed("patch-unchecked")
    with _in_process(sample_app, "head") as (target, up):
        assert target.logs() == ""  # nothing is captured from an in-process app's streams
        run(
            "resilience.failed_write",
            {"call": "PATCH /inventory/abc", "json": {"quantity": 3}, "upstream": up},
            target,
        )


# --- precision: slow but bounded is not a hang; a 500 is not a success ---------------------------


def _gateway(upstream: str, timeout: float) -> Any:
    """An app with an outbound timeout (so it never hangs) that answers less tidily than a 504."""
    import logging

    import httpx
    from fastapi import FastAPI
    from fastapi.responses import JSONResponse

    app = FastAPI()
    log = logging.getLogger("gateway")

    @app.get("/slow-504")
    async def slow_504() -> Any:
        try:
            async with httpx.AsyncClient(timeout=timeout) as client:
                await client.get(f"{upstream}/price")
        except httpx.TimeoutException:
            return JSONResponse({"detail": "upstream timed out"}, status_code=504)
        return {"price": 1}

    @app.get("/crash")
    async def crash() -> Any:
        async with httpx.AsyncClient(timeout=timeout) as client:
            await client.get(f"{upstream}/price")  # the timeout escapes: a 500, in time
        return {"price": 1}

    @app.patch("/write")
    async def write() -> Any:
        async with httpx.AsyncClient(timeout=timeout) as client:
            answer = await client.patch(f"{upstream}/items/1", json={"quantity": 3})
        if answer.status_code >= 400:
            log.error("upstream rejected the write: %s", answer.status_code)
            return JSONResponse({"detail": "internal error"}, status_code=500)
        return {"synced": True}

    return app


@pytest.mark.timeout(60)
def test_a_slow_but_bounded_answer_and_a_500_in_time_are_findings_not_hangs() -> None:
    from harness.findings import collect

    upstream = f"http://127.0.0.1:{free_port()}"
    with launch({"kind": "asgi", "factory": lambda: _gateway(upstream, 1.5)}) as target:
        slow = {"call": "GET /slow-504", "upstream": upstream, "bound": 0.5, "grace": 3.0}
        seen = findings_apart("resilience.hung_upstream", slow, target)
        assert len(seen) == 1 and seen[0].problem.startswith("GET /slow-504 answered 504 after ")
        assert "past the bound of 0.5s" in seen[0].problem
        crash = {"call": "GET /crash", "upstream": upstream, "bound": 3.0}
        with collect() as seen:
            run("resilience.hung_upstream", crash, target)
        assert len(seen) == 1 and seen[0].problem.startswith("GET /crash answered 500 in ")
        assert "not one of [504]" in seen[0].problem


@pytest.mark.timeout(60)
def test_a_500_for_a_failed_write_is_a_finding_not_a_success() -> None:

    upstream = f"http://127.0.0.1:{free_port()}"
    binding = {"call": "PATCH /write", "upstream": upstream}
    with launch({"kind": "asgi", "factory": lambda: _gateway(upstream, 2.0)}) as target:
        seen = findings_apart("resilience.failed_write", binding, target)
    assert [f.problem for f in seen] == [
        "PATCH /write answered 500 when the upstream answered 503 to PATCH: an unhandled "
        "error, not a deliberate error answer"
    ]


class _Syncer:
    """Propagates nothing it should swallow, but breaks elsewhere after its dependency fails."""

    def fetch(self) -> dict[str, int]:
        return {"stock": 3}

    def push(self) -> int:
        try:
            data = self.fetch()
        except OSError:
            data = None  # handled: pushed as "unknown" below
        return data["stock"]  # type: ignore[index]  # TypeError when the fetch failed


def test_an_exception_unrelated_to_the_fault_is_a_finding() -> None:

    binding = {
        "call": {"call": "push"},
        "fault": {"at": f"{__name__}:_Syncer.fetch", "raises": "OSError"},
    }
    with launch({"kind": "python", "factory": _Syncer}) as target:
        seen = findings_apart("resilience.swallowed_errors", binding, target)
    assert len(seen) == 1 and seen[0].problem.startswith(
        "push() raised TypeError: 'NoneType' object is not subscriptable, which is neither "
        "the injected OSError nor raised while handling it"
    ), seen

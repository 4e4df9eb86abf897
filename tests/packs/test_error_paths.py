"""The error_paths pack on the sample's publisher-import finding: ruff F821 over the checkout, and
faults injected into `httpx.post` so the dead-letter except branch runs (python and asgi targets)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pytest

from harness.errors import UserError
from harness.scenario import run
from harness.targets import launch
from harness.targets.base import Target
from tests.packs.support import failure, findings_apart, launch_in

STATIC = {"paths": ["shopapp"]}
FAULTS = {
    "functions": ["shopapp.publisher:Publisher.publish"],
    "dependencies": ["shopapp.publisher:httpx.post"],
    "invoke": "publish",
    "args": ["order-1", "paid"],
}
PUBLISHER = {
    "kind": "python",
    "factory": "shopapp.publisher:Publisher",
    "kwargs": {"upstream_url": "http://127.0.0.1:9"},
}


@pytest.fixture
def publisher(checkout: Any) -> Callable[[str], AbstractContextManager[Target]]:
    """`with publisher(rev) as target:` a `python` target whose object is a `Publisher`
    imported from the checkout of `rev` (its folder is the target's cwd)."""
    return lambda rev: launch_in(checkout(rev), {**PUBLISHER, "cwd": str(checkout(rev))})


def test_static_check_lists_the_undefined_names_on_the_base(
    publisher: Any,
) -> None:
    with publisher("base") as target:
        message = failure("error_paths.no_undefined_names", STATIC, target)
    assert (
        "shopapp/publisher.py:30:30: undefined name 'datetime' (on the except branch at "
        "line 25)" in message
    )
    assert "shopapp/publisher.py:30:43: undefined name 'timezone'" in message
    assert message.count("undefined name") == 2, message


def test_static_check_passes_on_the_head(publisher: Any, fixed: Callable[[str], None]) -> None:
    fixed("publisher-import")
    with publisher("head") as target:
        run("error_paths.no_undefined_names", STATIC, target)


def test_static_check_honours_reviewed_exceptions(publisher: Any) -> None:
    allow = ["shopapp/publisher.py:datetime", "shopapp/publisher.py:timezone"]
    with publisher("base") as target:
        run("error_paths.no_undefined_names", {**STATIC, "allow": allow}, target)


def test_injected_fault_drives_the_handler_into_a_name_error_on_the_base(
    publisher: Any,
) -> None:
    with publisher("base") as target:
        message = failure("error_paths.handlers_survive_faults", FAULTS, target)
    assert "faults tried: HTTPError" in message
    assert "NameError: name 'datetime' is not defined escaped from " in message
    assert (
        "publisher.py:25 `except httpx.HTTPError as exc` in "
        "shopapp.publisher:Publisher.publish, raised at " in message
    )
    assert "never reached" not in message


def test_injected_faults_pass_on_the_head(publisher: Any, fixed: Callable[[str], None]) -> None:
    fixed("publisher-import")
    with publisher("head") as target:
        run("error_paths.handlers_survive_faults", FAULTS, target)
        # the dependency is restored after the check
        assert target.obj.publish.__func__.__globals__["httpx"].post.__name__ == "post"


def test_a_handler_no_fault_reaches_is_reported(
    publisher: Any, fixed: Callable[[str], None]
) -> None:
    fixed("publisher-import")
    binding = {**FAULTS, "dependencies": ["shopapp.publisher:httpx.get"]}
    with publisher("head") as target:
        message = failure("error_paths.handlers_survive_faults", binding, target)
    assert "never reached: " in message and "`except httpx.HTTPError as exc`" in message
    assert "dependencies never called by the driver: shopapp.publisher:httpx.get" in message
    with publisher("head") as target:
        run(
            "error_paths.handlers_survive_faults",
            {**binding, "allow_unreached": ["publisher.py:27"]},
            target,
        )


@pytest.mark.parametrize(("rev", "fails"), [("base", True), ("head", False)])
def test_faults_through_http_on_an_asgi_target(
    rev: str,
    fails: bool,
    checkout: Any,
    sample_target: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SHOPAPP_DATA_DIR", str(tmp_path))
    binding: dict[str, Any] = {k: v for k, v in FAULTS.items() if k not in ("invoke", "args")}
    binding.update(
        call="POST /orders/{order}/events/{event}",
        values={"order": "o-9", "event": "paid"},
        raises=["httpx.ConnectError"],
    )
    app = {"kind": "asgi", "app": "shopapp.app:app", "cwd": str(checkout(rev))}
    with sample_target(rev, app) as target:
        if fails:
            with pytest.raises(
                AssertionError,
                match="ConnectError from shopapp.publisher:httpx"
                r".post: NameError",
            ):
                run("error_paths.handlers_survive_faults", binding, target)
        else:
            run("error_paths.handlers_survive_faults", binding, target)


def test_bindings_are_checked() -> None:
    with launch(
        {"kind": "python", "factory": "importlib:import_module", "kwargs": {"name": "json"}}
    ) as target:
        with pytest.raises(UserError, match="exactly one of call"):
            run("error_paths.handlers_survive_faults", {**FAULTS, "call": "POST /x"}, target)
        with pytest.raises(UserError, match="no except clause"):
            run(
                "error_paths.handlers_survive_faults",
                {**FAULTS, "functions": ["json:dumps"], "invoke": "dumps"},
                target,
            )
        with pytest.raises(UserError, match=r"binding\.root"):
            run("error_paths.no_undefined_names", STATIC, target)


# --- precision: an accident of another type on the except branch is a finding -------------------


class _Fetcher:
    """Its except branch names nothing undefined, but indexes a dict that lacks the key."""

    def download(self) -> bytes:
        return b"data"

    def fetch(self) -> bytes | None:
        try:
            return self.download()
        except OSError:
            return {"cached": b""}["fallback"]  # KeyError while handling the OSError


def test_another_exception_raised_on_the_except_branch_is_a_finding() -> None:
    binding = {
        "functions": [f"{__name__}:_Fetcher.fetch"],
        "dependencies": [f"{__name__}:_Fetcher.download"],
        "invoke": "fetch",
    }
    with launch({"kind": "python", "factory": _Fetcher}) as target:
        seen = findings_apart("error_paths.handlers_survive_faults", binding, target)
    assert len(seen) == 1, seen
    assert seen[0].problem.startswith(
        f"OSError from {__name__}:_Fetcher.download: "
        "KeyError: 'fallback' was raised while handling it "
        "in "
    ), seen[0].problem
    assert "`except OSError` in " in seen[0].problem

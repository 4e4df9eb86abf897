"""The `url` kind: loopback only, health wait, and no teardown of a service it did not start."""

from __future__ import annotations

import pytest
from target_helpers import alive, uvicorn_spec

from harness.errors import TargetError, UserError
from harness.targets import TargetSpec, launch


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com",
        "http://10.0.0.1:8000",
        "http://0.0.0.0:8000",
        "https://[2001:db8::1]:443",
        "http://127.0.0.1.nip.io:80",
    ],
)
def test_non_loopback_url_is_refused_naming_the_field(url: str) -> None:
    with pytest.raises(UserError) as info:
        TargetSpec(kind="url", url=url)
    assert info.value.where == "url"
    assert info.value.message.startswith(f"url={url!r}: is not a loopback host")


def test_manifest_table_error_names_the_target() -> None:
    with pytest.raises(UserError) as info:
        TargetSpec.parse({"kind": "url", "url": "http://example.com"}, where="targets.shop")
    assert info.value.where == "targets.shop.url"
    assert "targets.shop.url='http://example.com'" in info.value.message


@pytest.mark.parametrize("url", ["http://127.0.0.1:1", "http://localhost:8000/", "http://[::1]:9"])
def test_loopback_urls_are_accepted(url: str) -> None:
    assert TargetSpec(kind="url", url=url).url == url.rstrip("/")


def test_reaches_a_running_service_and_leaves_it_running() -> None:
    with launch(uvicorn_spec("hello")) as server:
        spec = TargetSpec(kind="url", url=server.base_url, health="/healthz")
        with launch(spec) as target:
            assert target.base_url == server.base_url
            assert target.pid == server.pid  # found through its listening socket
            with target.client() as client:
                assert client.get("/").json() == {"pid": server.pid}
        assert server.pid is not None and alive(server.pid)


def test_unreachable_url_is_a_target_error_within_the_timeout(free_port: int) -> None:
    spec = TargetSpec(kind="url", url=f"http://127.0.0.1:{free_port}", startup_timeout=0.5)
    with pytest.raises(TargetError, match=r"not reachable within 0.5s \(connect: connection"):
        launch(spec).start()

"""Docker target errors that need no engine: daemon down, bad mounts. Run even without dockerd."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("docker", reason="the Docker SDK is not installed (fixguard[docker])")

from harness.errors import TargetError, UserError
from harness.targets import launch
from harness.targets.docker import mount_cwd, parse_mounts
from harness.targets.procnet import listening_inside


def test_daemon_down_is_a_one_line_target_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-dockerd.sock")
    spec = {"kind": "docker", "image": "fixguard/python:local", "health": "/healthz"}
    with pytest.raises(TargetError) as info:
        launch(spec).start()
    line = info.value.one_line()
    assert line.startswith(f"kind: docker engine at unix://{tmp_path}/no-dockerd.sock is not")
    assert "docker-setup" in line and "\n" not in line


def test_mounts_resolve_relative_host_paths_and_take_a_mode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "src").mkdir()
    monkeypatch.chdir(tmp_path)
    assert parse_mounts({"src": "/src:ro", ".": "/w"}) == {
        str(tmp_path / "src"): {"bind": "/src", "mode": "ro"},
        str(tmp_path): {"bind": "/w", "mode": "rw"},
    }


@pytest.mark.parametrize(
    ("container_side", "message"),
    [("src", "must be an absolute path"), ("/src:rx", "must be an absolute path")],
)
def test_a_bad_container_path_is_a_user_error(
    tmp_path: Path, container_side: str, message: str
) -> None:
    with pytest.raises(UserError, match=message):
        parse_mounts({str(tmp_path): container_side})


def test_a_missing_host_path_is_a_user_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"host path '.*/nope' does not exist") as info:
        parse_mounts({str(tmp_path / "nope"): "/src"})
    assert info.value.where == f"mounts.{tmp_path / 'nope'}"


def test_listening_inside_reads_this_process_namespace() -> None:
    import os
    import socket

    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        assert listening_inside(os.getpid(), port) == {"127.0.0.1"}
    assert listening_inside(os.getpid(), port) == set()


def test_a_host_cwd_that_no_mount_covers_is_mounted_at_the_same_path(tmp_path: Path) -> None:
    src = {str(tmp_path): {"bind": "/src", "mode": "ro"}}
    assert mount_cwd({}, tmp_path) == {str(tmp_path): {"bind": str(tmp_path), "mode": "rw"}}
    assert mount_cwd(src, "/src") == src  # the container path is a mount
    assert mount_cwd(src, "/src/pkg") == src  # inside one
    assert mount_cwd({}, "/no/such/host/dir") == {}  # a container-only path: left alone
    assert mount_cwd(src, None) == src

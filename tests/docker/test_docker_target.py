"""The `docker` kind against a real engine: serve, observe, always tear down, clear errors."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import docker.errors
import psutil
import pytest

from harness.errors import TargetError, UserError
from harness.targets import TargetSpec, launch
from harness.targets.docker import DockerTarget
from harness.targets.docker_engine import LABEL, LABEL_OWNER_HOST, LABEL_OWNER_PID, reap

pytestmark = [pytest.mark.docker, pytest.mark.usefixtures("docker_client")]

MakeSpec = Callable[..., dict[str, Any]]
APPS = Path(__file__).parent / "apps"


def assert_removed(client: Any, target: DockerTarget) -> None:
    __tracebackhide__ = True
    with pytest.raises(docker.errors.NotFound):
        client.containers.get(target.container_name)
    with pytest.raises(docker.errors.NotFound):
        client.networks.get(target.network_name)


def gone(pid: int, within: float = 5.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.05)
    return False


def test_serves_a_mounted_asgi_app_on_loopback_with_logs_env_and_pid(
    docker_client: Any, make_spec: MakeSpec
) -> None:
    with launch(make_spec(env={"GREETING": "hi from {port}"})) as target:
        assert isinstance(target, DockerTarget)
        assert target.base_url == f"http://127.0.0.1:{target.port}"
        with target.client() as client:
            assert client.get("/healthz").text == "ok"
            container_pid, greeting = client.get("/").text.split(" ", 1)
        # The server is pid 1 in its namespace; env values are rendered with the inner port.
        assert (container_pid, greeting) == ("1", "hi from 8000")

        # The host pid is the server itself, and psutil can count its resources.
        assert target.pid is not None
        proc = psutil.Process(target.pid)
        assert "uvicorn" in proc.cmdline()
        assert proc.num_fds() > 0 and proc.num_threads() >= 1
        assert target.pid in target.container_pids()

        # Published on 127.0.0.1 only, on the target's own labelled network.
        attrs = docker_client.containers.get(target.container_name).attrs
        bindings = attrs["NetworkSettings"]["Ports"]["8000/tcp"]
        assert {b["HostIp"] for b in bindings} == {"127.0.0.1"}
        assert list(attrs["NetworkSettings"]["Networks"]) == [target.network_name]
        assert attrs["Config"]["Labels"][LABEL] == "1"
        assert attrs["Config"]["Labels"][LABEL_OWNER_PID] == str(os.getpid())

        logs = target.logs()
        assert "hello-app: imported" in logs
        assert "hello-app: a line on stderr" in logs
        assert "Uvicorn running on http://0.0.0.0:8000" in logs
        assert '"GET / HTTP/1.1" 200' in logs
        pid = target.pid

    assert_removed(docker_client, target)
    assert gone(pid), f"server pid {pid} outlived its container"
    assert "hello-app: imported" in target.logs()  # kept after removal


def test_a_mounted_tree_is_live_so_a_mutant_runs_inside(
    docker_client: Any, make_spec: MakeSpec, tmp_path: Any
) -> None:
    (tmp_path / "mut.py").write_text(
        "async def app(scope, receive, send):\n"
        "    if scope['type'] != 'http':\n"
        "        return\n"
        "    await send({'type': 'http.response.start', 'status': 200, 'headers': []})\n"
        "    await send({'type': 'http.response.body', 'body': b'MUTANT-42'})\n"
    )
    spec = make_spec(
        command=["python3", "-m", "uvicorn", "mut:app", "--host", "{host}", "--port", "{port}"],
        mounts={str(tmp_path): "/work"},
        cwd="/work",
        health=None,
        log_file=str(tmp_path / "logs" / "target.log"),
    )
    with launch(spec) as target, target.client() as client:
        assert client.get("/").text == "MUTANT-42"
    assert "Uvicorn running" in (tmp_path / "logs" / "target.log").read_text()
    assert not list(tmp_path.rglob("__pycache__"))  # PYTHONDONTWRITEBYTECODE: no stale .pyc


def test_with_an_init_the_pid_is_still_the_server(make_spec: MakeSpec) -> None:
    with launch(make_spec(options={"init": True})) as target:
        assert target.pid is not None
        server = psutil.Process(target.pid)
        assert "uvicorn" in server.cmdline()
        assert server.parent().name() == "docker-init"
        assert isinstance(target, DockerTarget)
        assert sorted(target.container_pids()) == sorted([server.ppid(), target.pid])


def test_a_spec_with_only_a_host_cwd_serves_that_tree(make_spec: MakeSpec) -> None:
    """What the verify pipeline does: no mounts, `cwd` set to the checkout it runs in."""
    spec = make_spec()
    del spec["mounts"]
    spec["cwd"] = spec_cwd = str(APPS)
    with launch(spec) as target, target.client() as client:
        assert client.get("/healthz").text == "ok"
        assert target.pid is not None
        assert psutil.Process(target.pid).cwd().endswith(spec_cwd)


def test_teardown_removes_container_and_network_after_an_exception_inside_with(
    docker_client: Any, make_spec: MakeSpec
) -> None:
    target = launch(make_spec())
    assert isinstance(target, DockerTarget)
    with pytest.raises(RuntimeError, match="boom"), target:
        assert docker_client.containers.get(target.container_name).status == "running"
        raise RuntimeError("boom")
    assert_removed(docker_client, target)


@pytest.mark.usefixtures("ctrl_c")
def test_ctrl_c_in_a_real_process_removes_container_and_network(
    docker_client: Any, make_spec: MakeSpec
) -> None:
    script = textwrap.dedent(
        f"""
        import sys, time
        from harness.targets import launch
        with launch({make_spec()!r}) as target:
            print(target.container_name, target.network_name, flush=True)
            time.sleep(60)
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    container_name, network_name = proc.stdout.readline().split()
    assert docker_client.containers.get(container_name).status == "running"
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=30)
    assert "KeyboardInterrupt" in stderr
    with pytest.raises(docker.errors.NotFound):
        docker_client.containers.get(container_name)
    with pytest.raises(docker.errors.NotFound):
        docker_client.networks.get(network_name)


def test_a_container_that_exits_early_is_a_target_error_with_its_log(
    docker_client: Any, make_spec: MakeSpec
) -> None:
    spec = make_spec(command=["python3", "-c", "print('boom: no config'); raise SystemExit(3)"])
    target = DockerTarget(TargetSpec(**spec))
    with pytest.raises(TargetError, match="exited with code 3") as info:
        target.start()
    assert "boom: no config" in info.value.log_tail
    assert_removed(docker_client, target)


def test_a_server_bound_to_loopback_inside_gets_a_message_that_says_so(
    docker_client: Any, make_spec: MakeSpec
) -> None:
    spec = make_spec(
        command="python3 -m uvicorn hello:app --host 127.0.0.1 --port {port}", startup_timeout=30
    )
    started = time.monotonic()
    with pytest.raises(TargetError, match=r"listens on 127\.0\.0\.1:8000 inside.*bind 0\.0\.0\.0"):
        launch(spec).start()
    assert time.monotonic() - started < 20  # said at once, not after the startup timeout


def test_a_missing_image_is_a_one_line_user_error(docker_client: Any, make_spec: MakeSpec) -> None:
    target = DockerTarget(TargetSpec(**make_spec(image="fixguard/no-such-image:missing")))
    with pytest.raises(UserError) as info:
        target.start()
    line = info.value.one_line()
    assert line.startswith("image: image='fixguard/no-such-image:missing': not on the docker")
    assert "never pulls" in line and "\n" not in line
    assert_removed(docker_client, target)


def test_a_taken_fixed_port_is_a_one_line_target_error(
    docker_client: Any, make_spec: MakeSpec
) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        target = DockerTarget(TargetSpec(**make_spec(port=port)))
        with pytest.raises(TargetError) as info:
            target.start()
    line = info.value.one_line()
    assert line.startswith(f"port: port={port}: 127.0.0.1:{port} is already in use")
    assert "\n" not in str(info.value)
    assert_removed(docker_client, target)


def test_a_free_port_taken_before_the_engine_binds_it_is_retried_with_another(
    docker_client: Any, make_spec: MakeSpec, monkeypatch: pytest.MonkeyPatch
) -> None:
    from harness.targets import docker as docker_kind
    from harness.targets.ports import free_port

    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        offered = iter([taken])
        monkeypatch.setattr(docker_kind, "free_port", lambda: next(offered, None) or free_port())
        with launch(make_spec()) as target, target.client() as client:
            assert isinstance(target, DockerTarget) and target.port != taken
            assert client.get("/healthz").text == "ok"
            assert "address already in use" not in target.logs()


def test_reap_removes_leftovers_of_dead_owners_only(docker_client: Any) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    host = socket.gethostname()
    orphan = docker_client.networks.create(
        f"fixguard-test-orphan-{os.getpid()}",
        labels={LABEL: "1", LABEL_OWNER_PID: dead.stdout.strip(), LABEL_OWNER_HOST: host},
    )
    mine = docker_client.networks.create(
        f"fixguard-test-mine-{os.getpid()}",
        labels={LABEL: "1", LABEL_OWNER_PID: str(os.getpid()), LABEL_OWNER_HOST: host},
    )
    try:
        removed = reap(docker_client)
        assert orphan.name in removed and mine.name not in removed
        docker_client.networks.get(mine.name)
    finally:
        mine.remove()
        for network in (orphan,):
            try:
                network.remove()
            except docker.errors.NotFound:
                pass


def test_options_that_the_launcher_owns_are_refused(
    docker_client: Any, make_spec: MakeSpec
) -> None:
    with pytest.raises(UserError, match=r"options\.ports=.*set by the docker target itself"):
        launch(make_spec(options={"ports": {"8000/tcp": 80}})).start()


def test_the_mutation_baseline_line_probe_records_fix_lines_run_inside_the_container(
    make_spec: MakeSpec, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Set up like `harness.mutation.lab` does: a probe sitecustomize on PYTHONPATH, the
    workspace beside it, FIXGUARD_PROBE_OUT/FILES; the server in the container reports hits."""
    import json
    import shutil

    import harness.mutation

    probe_dir, space = tmp_path / "probe", tmp_path / "w0"
    probe_dir.mkdir()
    space.mkdir()
    sitecustomize = Path(harness.mutation.__file__).with_name("probe_sitecustomize.py")
    shutil.copyfile(sitecustomize, probe_dir / "sitecustomize.py")
    shutil.copyfile(APPS / "hello.py", space / "hello.py")
    out = tmp_path / "probe-w0.json"
    monkeypatch.setenv("FIXGUARD_PROBE_OUT", str(out))
    monkeypatch.setenv("FIXGUARD_PROBE_FILES", json.dumps([str(space / "hello.py")]))
    monkeypatch.setenv("PYTHONPATH", f"{space}:{probe_dir}")
    spec = make_spec()
    del spec["mounts"]
    spec["cwd"] = str(space)  # what the verify pipeline sets: the workspace it runs in
    with launch(spec) as target, target.client() as client:
        assert client.get("/").status_code == 200
    written = sorted(tmp_path.glob(out.name + ".sub-*.json"))  # what the lab reads
    assert len(written) == 1, sorted(p.name for p in tmp_path.iterdir())
    lines = json.loads(written[0].read_text())["lines"][str(space / "hello.py")]
    assert "19" in lines  # `body = f"{os.getpid()} ..."`, run only when a request is served

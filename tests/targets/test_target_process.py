"""The `process` kind against real uvicorn servers: health wait, errors, teardown, ports."""

from __future__ import annotations

import http.server
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
from target_helpers import alive, assert_gone, tree, uvicorn_spec

from harness.errors import TargetError, UserError
from harness.targets import TargetSpec, launch
from harness.targets import process as process_mod
from harness.targets.process import ProcessTarget


def test_waits_for_health_then_serves_and_captures_logs() -> None:
    with launch(uvicorn_spec("hello", env={"HELLO_READY_AFTER": "0.8"})) as target:
        assert isinstance(target, ProcessTarget)
        assert target.base_url == f"http://127.0.0.1:{target.port}"
        with target.client() as client:
            # /healthz answers 503 for the first 0.8 s; launch returned only after it said 200.
            assert client.get("/uptime").json()["uptime"] >= 0.8
            assert client.get("/healthz").status_code == 200
            assert client.get("/").json() == {"pid": target.pid}
        assert target.pid is not None and alive(target.pid)
        assert psutil.Process(target.pid).cwd() == str(uvicorn_spec("hello")["cwd"])
        pid = target.pid
    assert_gone([pid])
    logs = target.logs()
    assert "hello app: booting" in logs  # stdout
    assert "hello app: to stderr" in logs  # stderr, same log
    assert "Application startup complete" in logs


def failed_launch(spec: dict[str, Any]) -> tuple[TargetError, float]:
    """Launch `spec`, which must fail: its error, and the seconds that took."""
    started = time.monotonic()
    with pytest.raises(TargetError) as info:
        with launch(spec):
            pytest.fail("launch must not succeed")
    return info.value, time.monotonic() - started


def test_never_healthy_raises_target_error_with_command_and_log_tail() -> None:
    error, elapsed = failed_launch(uvicorn_spec("never_healthy", startup_timeout=1.5))
    assert elapsed < 1.5 + 3.5, elapsed  # the timeout, plus teardown grace
    assert "uvicorn never_healthy:app" in error.message
    assert "did not become healthy within 1.5s" in error.message
    assert "HTTP 503" in error.message
    assert "waiting for a database that never comes" in error.log_tail
    assert "waiting for a database that never comes" in str(error)
    assert error.where == "command"


def test_crash_at_start_is_reported_early_with_the_traceback() -> None:
    error, elapsed = failed_launch(uvicorn_spec("crash", startup_timeout=15))
    assert elapsed < 8, "early exit must not wait for the whole timeout"
    assert "uvicorn crash:app" in error.message
    assert "exited with code" in error.message
    assert "RuntimeError: boom at startup: DATABASE_URL is not set" in error.log_tail


def test_missing_executable_is_a_target_error() -> None:
    spec = {"kind": "process", "command": "/nonexistent/fixguard-server --port {port}"}
    with pytest.raises(TargetError, match="could not be started"):
        launch(spec).start()


def test_named_target_error_points_at_the_manifest_field() -> None:
    spec = uvicorn_spec("crash", name="sample")
    with pytest.raises(TargetError) as info:
        launch(spec).start()
    assert info.value.where == "targets.sample.command"
    assert "target 'sample'" in info.value.message


def test_exception_inside_with_still_tears_down() -> None:
    pids: list[int] = []
    with pytest.raises(ValueError, match="test failed"):
        with launch(uvicorn_spec("hello")) as target:
            assert target.pid is not None
            pids = tree(target.pid)
            raise ValueError("test failed")
    assert pids
    assert_gone(pids)


@pytest.mark.usefixtures("ctrl_c")
def test_ctrl_c_inside_with_tears_down() -> None:
    pids: list[int] = []
    with pytest.raises(KeyboardInterrupt):
        with launch(uvicorn_spec("hello")) as target:
            assert target.pid is not None
            pids = tree(target.pid)
            os.kill(os.getpid(), signal.SIGINT)  # a real Ctrl-C, delivered to the main thread
            time.sleep(5)
            pytest.fail("SIGINT was not delivered")
    assert_gone(pids)


def test_process_group_kill_reaches_children_and_a_setsid_grandchild() -> None:
    with launch(uvicorn_spec("spawner")) as target:
        with target.client() as client:
            children = client.get("/children").json()
        assert len(children) == 2 and all(alive(p) for p in children)
        assert target.pid is not None
        server = target.pid
    assert_gone([server, *children])


def test_sigterm_ignoring_server_is_killed_after_the_grace_period() -> None:
    with launch(uvicorn_spec("stubborn", stop_timeout=0.5)) as target:
        assert target.pid is not None
        pid = target.pid
        started = time.monotonic()
    assert time.monotonic() - started < 4
    assert_gone([pid])
    assert "ignoring SIGTERM" in target.logs()


def test_two_targets_started_at_once_get_different_ports() -> None:
    targets = [launch(uvicorn_spec("hello")) for _ in range(2)]
    errors: list[BaseException] = []

    def start(t: object) -> None:
        try:
            assert isinstance(t, ProcessTarget)
            t.start()
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=start, args=(t,)) for t in targets]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert not errors, errors
        ports = {t.base_url for t in targets}
        assert len(ports) == 2
        for t in targets:
            with t.client() as client:
                assert client.get("/").json() == {"pid": t.pid}
    finally:
        for t in targets:
            t.stop()
    assert_gone([t.pid for t in targets if t.pid is not None])


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A loopback port held by a plain listening socket."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def test_port_taken_between_pick_and_bind_is_retried(
    taken_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_free_port = process_mod.free_port
    handed: list[int] = []

    def first_taken() -> int:
        port = taken_port if not handed else real_free_port()
        handed.append(port)
        return port

    monkeypatch.setattr(process_mod, "free_port", first_taken)
    with launch(uvicorn_spec("hello", startup_timeout=5)) as target:
        assert isinstance(target, ProcessTarget)
        assert target.port != taken_port
        assert handed[0] == taken_port and len(handed) == 2
    log = target.logs()
    assert "address already in use" in log.lower()
    assert log.count("$ ") == 2  # both attempts are in the log


class _Impostor(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args: object) -> None:
        pass


def test_another_server_answering_on_the_port_is_not_mistaken_for_ours(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    impostor = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Impostor)
    thread = threading.Thread(target=impostor.serve_forever, daemon=True)
    thread.start()
    try:
        port = impostor.server_address[1]
        real_free_port = process_mod.free_port
        handed: list[int] = []

        def first_taken() -> int:
            handed.append(port if not handed else real_free_port())
            return handed[-1]

        monkeypatch.setattr(process_mod, "free_port", first_taken)
        with launch(uvicorn_spec("hello")) as target:
            with target.client() as client:
                assert client.get("/").json() == {"pid": target.pid}
            assert isinstance(target, ProcessTarget) and target.port != port
    finally:
        impostor.shutdown()
        impostor.server_close()


def test_fixed_port_is_not_retried(taken_port: int) -> None:
    with pytest.raises(TargetError, match="exited with code"):
        launch(uvicorn_spec("hello", port=taken_port)).start()


def test_command_list_env_and_python_placeholders(tmp_path: object) -> None:
    spec = TargetSpec(
        kind="process",
        command=["{python}", "-c", SERVE_ENV, "{port}"],
        env={"GREETING": "hi on {port}"},
        inherit_env=True,
        health="/",
        startup_timeout=10,
    )
    with launch(spec) as target:
        assert isinstance(target, ProcessTarget)
        with target.client() as client:
            body = client.get("/").json()
    assert body == {"greeting": f"hi on {target.port}", "port_env": str(target.port)}


SERVE_ENV = """
import http.server, json, os, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"greeting": os.environ["GREETING"], "port_env": os.environ["PORT"]})
        self.send_response(200); self.end_headers(); self.wfile.write(body.encode())
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
"""


def test_spec_without_port_placeholder_is_a_user_error() -> None:
    with pytest.raises(UserError) as info:
        TargetSpec(kind="process", command="{python} -m uvicorn app:app")
    assert info.value.where == "command"
    assert "{port}" in info.value.message


def interrupted(call: Callable[[], object], after: float) -> float:
    """Run `call`, with a real SIGINT (Ctrl-C) to the main thread `after` seconds in; it must
    raise KeyboardInterrupt. Returns the seconds it took."""
    timer = threading.Timer(after, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    started = time.monotonic()
    try:
        with pytest.raises(KeyboardInterrupt):
            call()
    finally:
        timer.cancel()
    return time.monotonic() - started


@pytest.mark.usefixtures("ctrl_c")
def test_ctrl_c_during_the_health_wait_tears_down() -> None:
    target = launch(uvicorn_spec("never_healthy", startup_timeout=20))
    assert interrupted(target.start, after=1.0) < 8
    assert target.pid is not None
    assert_gone([target.pid])


@pytest.mark.usefixtures("ctrl_c")
def test_ctrl_c_during_the_grace_period_kills_at_once() -> None:
    target = launch(uvicorn_spec("stubborn", stop_timeout=20))
    target.start()
    assert target.pid is not None
    assert interrupted(target.stop, after=0.5) < 5, "Ctrl-C must cut the 20 s grace period short"
    assert_gone([target.pid])


LAUNCHER = """
import json, os, signal, sys
from harness.targets import launch
target = launch(json.loads(sys.argv[1]))
target.start()
print(target.pid, flush=True)
"""


def run_launcher(app: str, ending: str) -> subprocess.CompletedProcess[str]:
    """Another Python process starts the app's target, prints its pid, then runs `ending`."""
    spec = {**uvicorn_spec(app), "cwd": str(uvicorn_spec(app)["cwd"])}
    repo = Path(__file__).resolve().parents[2]
    return subprocess.run(
        [sys.executable, "-c", LAUNCHER + ending, json.dumps(spec)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=repo,
        env={**os.environ, "PYTHONPATH": str(repo)},
    )


def test_a_target_never_stopped_is_stopped_at_interpreter_exit() -> None:
    proc = run_launcher(
        "hello", "# exits without stopping the target: the atexit hook must stop it"
    )
    assert proc.returncode == 0, proc.stderr
    assert_gone([int(proc.stdout.split()[0])])


def test_groups_of_a_sigkilled_run_are_reaped_by_the_next_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FIXGUARD_LEDGER_DIR", str(tmp_path / "ledger"))
    # No teardown, no atexit: the server is orphaned.
    proc = run_launcher("spawner", "os.kill(os.getpid(), signal.SIGKILL)")
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    orphan = int(proc.stdout.split()[0])
    assert alive(orphan)
    group = tree(orphan)
    with launch(uvicorn_spec("hello")) as target:  # a later start reaps the orphaned group
        assert target.pid is not None and alive(target.pid)
        assert_gone(group)
        assert len(list((tmp_path / "ledger").glob("*.json"))) == 1  # only the live one
    assert not list((tmp_path / "ledger").glob("*.json"))

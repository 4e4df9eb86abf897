"""The `process` kind: a server subprocess on a free loopback port, in its own process group."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psutil

from ..errors import TargetError
from ..testrun import tail
from . import ledger
from .ports import LOOPBACK, free_port, port_is_open
from .server import ServerTarget, StartFailed, answer_of, live
from .spec import TargetSpec, render

#: Lines of the log a TargetError shows.
#: What a failed bind looks like in a server's log (uvicorn, gunicorn, aiohttp, node...).
_BIND_FAILURES = ("address already in use", "errno 98", "eaddrinuse", "[errno 48]")


def build_argv(spec: TargetSpec, port: int) -> list[str]:
    """The command line for `port`: the template split like a shell would, then rendered."""
    assert spec.command is not None
    words = shlex.split(spec.command) if isinstance(spec.command, str) else list(spec.command)
    python = spec.python or sys.executable
    return [render(w, port=port, python=python, host=LOOPBACK) for w in words]


def build_env(spec: TargetSpec, port: int, base: dict[str, str] | None = None) -> dict[str, str]:
    """The child's environment: ours (unless `inherit_env=false`), then `env`, rendered."""
    python = spec.python or sys.executable
    env = dict(os.environ if base is None else base) if spec.inherit_env else {}
    env.update({k: render(v, port=port, python=python, host=LOOPBACK) for k, v in spec.env.items()})
    env.setdefault("PYTHONUNBUFFERED", "1")
    if "PORT" not in spec.env:  # many servers read $PORT; an inherited one would be stale
        env["PORT"] = str(port)
    return env


def looks_like_bind_failure(log: str) -> bool:
    lowered = log.lower()
    return any(marker in lowered for marker in _BIND_FAILURES)


def kill_process_group(
    proc: subprocess.Popen[bytes], grace: float, extra: list[psutil.Process] | None = None
) -> None:
    """SIGTERM the group of `proc`, wait up to `grace` s, then SIGKILL whatever is left.

    `extra` are processes found in the tree beforehand that may have left the group (a
    grandchild that called setsid); they get the same treatment. A Ctrl-C while waiting
    skips the grace period, kills, and is re-raised.
    """
    pgid = proc.pid  # start_new_session=True: the leader's pid is the group id
    others = [p for p in (extra or []) if p.pid != proc.pid]
    _signal_group(pgid, signal.SIGTERM)
    for p in others:
        _signal_process(p, signal.SIGTERM)
    interrupted: BaseException | None = None
    try:
        _wait_all(proc, others, grace)
    except KeyboardInterrupt as exc:
        interrupted = exc
    _signal_group(pgid, signal.SIGKILL)
    for p in others:
        _signal_process(p, signal.SIGKILL)
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:  # pragma: no cover - SIGKILL cannot be ignored
        pass
    psutil.wait_procs([p for p in others if _alive(p)], timeout=2)
    deadline = time.monotonic() + 2
    while _group_alive(pgid) and time.monotonic() < deadline:
        time.sleep(0.02)
    if interrupted is not None:
        raise interrupted


def _wait_all(proc: subprocess.Popen[bytes], others: list[psutil.Process], grace: float) -> None:
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if proc.poll() is not None and not any(map(_alive, others)):
            return
        time.sleep(0.02)


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _signal_process(proc: psutil.Process, sig: signal.Signals) -> None:
    try:
        proc.send_signal(sig)
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        pass


def _alive(proc: psutil.Process) -> bool:
    try:
        return bool(proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return False


def _group_alive(pgid: int) -> bool:
    """True while a non-zombie process is left in group `pgid` (signal 0 also sees zombies)."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover
        return True
    for p in psutil.process_iter(["pid"]):
        try:
            if os.getpgid(p.pid) == pgid and _alive(p):
                return True
        except (ProcessLookupError, psutil.NoSuchProcess):
            continue
    return False


def _tree(pid: int) -> list[psutil.Process]:
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def _listens_on(procs: list[psutil.Process], port: int) -> bool | None:
    """True if one of `procs` has a LISTEN socket on `port`; None when we may not look."""
    for p in procs:
        try:
            # psutil >= 6 names it net_connections; 5.9 only has connections.
            conns = getattr(p, "net_connections", p.connections)(kind="inet")
        except psutil.NoSuchProcess:
            continue
        except psutil.AccessDenied:
            return None
        if any(c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port == port for c in conns):
            return True
    return False


class ProcessTarget(ServerTarget):
    """A server subprocess: `{port}` is a free loopback port, stdout+stderr go to a log file."""

    kind = "process"

    def __init__(self, spec: TargetSpec) -> None:
        super().__init__(spec)
        self._proc: subprocess.Popen[bytes] | None = None
        self._argv: list[str] = []
        self._log_dir: tempfile.TemporaryDirectory[str] | None = None
        self._log_path: Path | None = None
        self._final_log: str | None = None
        self._ledger: Path | None = None

    @property
    def argv(self) -> list[str]:
        return list(self._argv)

    @property
    def log_path(self) -> Path | None:
        return self._log_path

    def logs(self) -> str:
        if self._final_log is not None:
            return self._final_log
        if self._log_path is None or not self._log_path.exists():
            return ""
        return self._log_path.read_text(errors="replace")

    # --- start ---------------------------------------------------------------------------

    def _start(self) -> None:
        spec = self.spec
        ledger.reap()  # groups a SIGKILLed earlier run left behind
        if spec.log_file is not None:
            self._log_path = Path(spec.log_file)
            self._log_path.parent.mkdir(parents=True, exist_ok=True)
        else:
            self._log_dir = tempfile.TemporaryDirectory(prefix="fixguard-target-")
            self._log_path = Path(self._log_dir.name) / "target.log"
        attempts = 1 if spec.port is not None else spec.port_retries + 1
        for attempt in range(attempts):
            port = spec.port if spec.port is not None else free_port()
            try:
                self._spawn_and_wait(port)
                return
            except StartFailed as failure:
                log = self.logs()
                self._kill()
                if failure.retry and attempt + 1 < attempts:
                    continue  # someone took the port between free_port() and the bind
                raise TargetError(
                    f"target {spec.label!r}: command {shlex.join(self._argv)!r}"
                    f"{f' (cwd={str(spec.cwd)!r})' if spec.cwd else ''} {failure.reason}",
                    where=f"targets.{spec.name}.command" if spec.name else "command",
                    hint=f"full log: {self._log_path}" if spec.log_file else None,
                    log_tail=tail(log) or "(the target wrote nothing)",
                ) from None

    def _spawn_and_wait(self, port: int) -> None:
        spec = self.spec
        self._port = port
        self._argv = build_argv(spec, port)
        assert self._log_path is not None
        with open(self._log_path, "ab") as log:  # the child keeps its own descriptor
            log.write(f"$ {shlex.join(self._argv)}\n".encode())
            log.flush()
            try:
                self._proc = subprocess.Popen(
                    self._argv,
                    cwd=spec.cwd,
                    env=build_env(spec, port),
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            except OSError as exc:
                raise StartFailed(f"could not be started: {exc}") from None
        self._pid = self._proc.pid
        self._ledger = ledger.record(self._pid, shlex.join(self._argv))
        live.add(self)
        self._wait_healthy(port)

    def _wait_healthy(self, port: int) -> None:
        proc = self._proc
        assert proc is not None
        url = self.health_url(port)
        what = f"health check GET {url}" if self.spec.health else f"a listener on {LOOPBACK}:{port}"

        def check(client: httpx.Client) -> tuple[bool, str]:
            code = proc.poll()
            if code is not None:
                raise StartFailed(
                    f"exited with code {code} before {what} succeeded",
                    retry=looks_like_bind_failure(self.logs()),
                )
            ok, last = self._probe(client, url, port)
            if ok and _listens_on(_tree(proc.pid), port) is False:
                # Something else answers on this port; ours will fail to bind.
                return False, f"port {port} answers, but not from pid {proc.pid}"
            return ok, last

        self.poll_until_healthy(check, what, first_delay=0.02)

    def _probe(self, client: httpx.Client, url: str, port: int) -> tuple[bool, str]:
        if self.spec.health is None:
            return (True, "open") if port_is_open(LOOPBACK, port) else (False, "connection refused")
        return answer_of(client, url)

    # --- stop ----------------------------------------------------------------------------

    def _stop(self) -> None:
        try:
            self._kill()
        finally:
            self._final_log = self.logs()
            if self._log_dir is not None:
                self._log_dir.cleanup()
                self._log_dir = None

    def _kill(self) -> None:
        proc = self._proc
        if proc is None:
            return
        self._proc = None
        live.discard(self)
        tree = _tree(proc.pid) if proc.poll() is None else []
        try:
            kill_process_group(proc, self.spec.stop_timeout, extra=tree)
        finally:
            ledger.forget(self._ledger)
            self._ledger = None

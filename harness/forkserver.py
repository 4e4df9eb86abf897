"""A warm pytest launcher: one forked child per test run instead of a new interpreter.

Starting Python, pytest, its plugins and the project's third-party imports costs about a second
per run; the fork server (`forkserver_main.py`, run with the project's interpreter in the work
tree) pays it once. Each run forks a child that imports the project's own modules fresh from the
files on disk. Anything unexpected (the server does not start, warming imported a module of the
project, the server dies) raises WarmUnavailable, and the caller runs a new interpreter instead.

Two callers: the claims' base and head runs (`ServerPool`: one server per work tree,
interpreter, env and hash seed, shared by every claim that runs there) and the mutation lab
(`harness.mutation.warm`: one per worker copy). With `preload` (the pytest args of the tests to
collect) a server also keeps a copy of the project collected once, and a run may ask to fork
from it with the mutated file's functions patched in (`forkserver_main.py` says when that is
exact; it answers from a fresh child when it is not, and says so).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import queue
import shutil
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from . import cleanup
from .outcomes import RunOutcome
from .paths import bytecode_env
from .testrun import (
    Launch,
    LaunchUnavailable,
    TestRun,
    _read_junit,
    check_interrupted,
    classify,
    kill_group,
    session_args,
    tail,
    tracked,
)

log = logging.getLogger(__name__)

#: The server's module name wherever it is copied (a name no project uses).
FORKSERVER_MODULE = "fixguard_forkserver"
SERVER_SOURCE = Path(__file__).with_name("forkserver_main.py")

READY_TIMEOUT = 120.0


class WarmUnavailable(LaunchUnavailable):
    """The fork server cannot serve this work tree; use plain subprocess runs."""


class WarmRunner:
    def __init__(self, cwd: Path, script: Path, python: str, env: Mapping[str, str]):
        """Start `script` (a copy of forkserver_main.py) with `python` in `cwd`, with `env` on
        top of this process's environment; raise WarmUnavailable if it does not get ready."""
        #: Set by the lab once the server failed; later runs use plain subprocesses.
        self.broken = False
        #: Whether runs may fork from the collected project (the lab turns it off on doubt).
        self.preloaded = False
        #: Why the preloaded copy is not there, when it was asked for.
        self.preload_note = ""
        #: Modules this server was asked to import (`warm`), whether or not they imported.
        self.warmed: set[str] = set()
        run_env = dict(os.environ)
        run_env.update(env)
        run_env.pop("FIXGUARD_PROBE_OUT", None)
        self._proc = subprocess.Popen(
            [python, str(script)],
            cwd=cwd,
            env=run_env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            start_new_session=True,
        )
        self._lines: queue.Queue[dict[str, object] | None] = queue.Queue()
        threading.Thread(target=self._read, name="fixguard-warm-reader", daemon=True).start()
        self._expect_ready(self._ask(None))

    def _ask(self, request: dict[str, object] | None) -> dict[str, object]:
        """Send a control request (None: just read the greeting) and return its answer."""
        try:
            if request is not None:
                assert self._proc.stdin is not None
                self._proc.stdin.write(json.dumps(request) + "\n")
                self._proc.stdin.flush()
            return self._next(READY_TIMEOUT)
        except (TimeoutError, BrokenPipeError, OSError) as exc:
            self.close()
            raise WarmUnavailable(f"the fork server did not answer: {exc}") from exc

    def _expect_ready(self, answer: dict[str, object]) -> None:
        if not answer.get("ready"):
            self.close()
            stale, threads = answer.get("project_modules"), answer.get("threads", 1)
            raise WarmUnavailable(
                f"warming imported project modules: {stale}"
                if stale
                else f"warming started threads ({threads} running): a fork could hang on a lock"
            )

    def warm(self, modules: Sequence[str]) -> None:
        """Also import these third-party modules (what the baseline loaded) once, for every run.

        Only the ones not asked for before are sent: a server lent to another claim, or
        learning after each run, is asked for mostly what it has.
        """
        new = [name for name in modules if name not in self.warmed]
        if new:
            self._expect_ready(self._ask({"warm": new}))
            self.warmed.update(new)

    def preload(self, pytest_args: Sequence[str]) -> bool:
        """Collect these tests once in a server of their own; whether that worked."""
        answer = self._ask({"preload": list(pytest_args)})
        self.preloaded = bool(answer.get("preloaded"))
        self.preload_note = str(answer.get("why") or "")
        return self.preloaded

    def _read(self) -> None:
        assert self._proc.stdout is not None
        for line in self._proc.stdout:
            try:
                self._lines.put(json.loads(line))
            except ValueError:
                continue
        self._lines.put(None)

    def _next(self, timeout: float) -> dict[str, object]:
        try:
            item = self._lines.get(timeout=timeout)
        except queue.Empty as exc:
            raise TimeoutError(f"no answer from the fork server in {timeout:.1f}s") from exc
        if item is None:
            raise WarmUnavailable("the fork server exited")
        return item

    def launch(
        self,
        args: Sequence[str],
        env: Mapping[str, str],
        log: Path,
        timeout: float,
        *,
        path: Sequence[str] = (),
        modules: Path | None = None,
        preloaded: bool = False,
        patch: str | None = None,
    ) -> tuple[int | None, bool]:
        """Run `pytest args` in a forked child: (its exit code, or None past `timeout`; whether
        it forked from the preloaded project). Its output goes to `log`.

        `env` is applied on top of the server's, `path` goes on sys.path after the work tree.
        With `modules`, a child that finishes writes there the installed modules it imported.
        A timed-out child has its whole process group killed, as a subprocess run's would.
        """
        check_interrupted()
        request: dict[str, object] = {
            "args": list(args),
            "env": dict(env),
            "log": str(log),
            "path": list(path),
            "modules": str(modules) if modules else None,
            "preloaded": preloaded and self.preloaded,
            "patch": patch,
        }
        try:
            assert self._proc.stdin is not None
            self._proc.stdin.write(json.dumps(request) + "\n")
            self._proc.stdin.flush()
        except (BrokenPipeError, OSError) as exc:
            raise WarmUnavailable("the fork server is gone") from exc
        try:
            hello = self._next(READY_TIMEOUT)
        except TimeoutError as exc:
            raise WarmUnavailable(str(exc)) from exc
        pid = int(hello["pid"])  # type: ignore[call-overload]
        from_preload = hello.get("mode") == "preloaded"
        with tracked(pid):
            try:
                done = self._next(timeout)
            except WarmUnavailable:
                kill_group(pid)  # the server died under its child: nothing of it may go on
                raise
            except TimeoutError:
                kill_group(pid)
                try:
                    self._next(READY_TIMEOUT)  # the server's word that the child is gone
                except TimeoutError as exc:
                    raise WarmUnavailable(str(exc)) from exc
                return None, from_preload
        return int(done["exit"]), from_preload  # type: ignore[call-overload]

    def run(
        self,
        nodeids: Sequence[str],
        *,
        pytest_args: Sequence[str],
        env: Mapping[str, str],
        timeout: float,
        preloaded: bool = False,
        patch: str | None = None,
    ) -> tuple[TestRun, bool]:
        """A mutant's run in a forked child; also whether it forked from the preloaded project.

        `preloaded` asks for the collected copy, `patch` names the mutated file (relative to the
        copy) whose functions it swaps in; the server runs the request fresh where it cannot.
        """
        with cleanup.temp_dir("fixguard-warm-") as tmp:  # on the ledger (harness.cleanup)
            junit = Path(tmp) / "junit.xml"
            log = Path(tmp) / "log.txt"
            args = session_args(nodeids, junit, pytest_args)
            started = time.monotonic()
            exit_code, from_preload = self.launch(
                args, env, log, timeout, preloaded=preloaded, patch=patch
            )
            duration = time.monotonic() - started
            timed_out = exit_code is None
            # pytest writes the JUnit file as its session ends: without one, the child died
            # before that (`os._exit(0)` in the code under test), whatever its exit code says.
            finished = junit.exists()
            failed, passed, collection_errors = _read_junit(junit)
            output = log.read_text(errors="replace") if log.exists() else ""
        outcome: RunOutcome = classify(
            exit_code, timed_out=timed_out, collection_errors=collection_errors
        )
        if outcome is RunOutcome.PASSED and not finished:
            outcome = RunOutcome.CRASHED
        run = TestRun(
            outcome=outcome,
            exit_code=exit_code,
            duration=duration,
            failed=tuple(failed),
            passed=tuple(passed),
            log_tail=tail(output),
            command=("fork", *args),
        )
        return run, from_preload

    def close(self) -> None:
        try:
            if self._proc.stdin:
                self._proc.stdin.close()
        except OSError:
            pass
        try:
            self._proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            kill_group(self._proc.pid)
            self._proc.wait()


class ServerPool:
    """Fork servers for the claims' base and head runs, started on first use.

    One kind of server per (work tree, interpreter, env): every claim that runs there with the
    same settings forks from it. A server serves one run at a time, so two threads that want
    the same kind at once get two servers. After each run the server imports the installed
    modules that run imported (never a file of the work tree), so the next runs skip them. A
    kind whose server would not start (or died) is not tried again: its runs start new
    interpreters, judged the same way.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._idle: dict[tuple[object, ...], list[WarmRunner]] = {}
        self._started: list[WarmRunner] = []
        self._failed: set[tuple[object, ...]] = set()
        #: Kinds whose warming pulled in a file of the work tree (or started a thread): their
        #: servers stay cold.
        self._cold: set[tuple[object, ...]] = set()
        self._stack = contextlib.ExitStack()
        self._folder: Path | None = None
        #: Runs served by a forked child (the rest started new interpreters).
        self.forked = 0

    def __enter__(self) -> ServerPool:
        # The script runs from a folder of its own: a script's folder goes on sys.path.
        self._folder = Path(self._stack.enter_context(cleanup.temp_dir("fixguard-forkserver-")))
        shutil.copyfile(SERVER_SOURCE, self._folder / f"{FORKSERVER_MODULE}.py")
        return self

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            servers, self._started, self._idle = self._started, [], {}
        for server in servers:
            server.close()
        self._stack.close()

    def launcher(self, cwd: Path, python: str, env: Mapping[str, str]) -> Launch:
        """A `run_pytest(launch=...)` for runs in `cwd` with `python` and `env`.

        What takes effect at start-up (PYTHONHASHSEED, say) is in `env`, so runs that differ
        there get servers of their own. Without PYTHONHASHSEED all of a server's runs share its
        random hash seed.
        """
        server_env = {**bytecode_env(), **env}
        key = self._key(cwd, python, env)

        def launch(
            args: Sequence[str],
            extra: Mapping[str, str],
            log: Path,
            path: Sequence[str],
            timeout: float,
        ) -> int | None:
            server = self._acquire(key, cwd, python, server_env)
            modules = log.with_name("modules.json")
            try:
                code, _ = server.launch(args, extra, log, timeout, path=path, modules=modules)
            except WarmUnavailable:
                self._discard(server, key, failed=True)
                raise
            with self._lock:
                self.forked += 1
            self._release(server, key, modules)
            return code

        return launch

    def distrust(self, cwd: Path, python: str, env: Mapping[str, str]) -> None:
        """Runs of this kind start new interpreters from now on (a fork ended otherwise)."""
        log.warning("a forked run in %s ended unlike a new interpreter's: no more forks there", cwd)
        with self._lock:
            self._failed.add(self._key(cwd, python, env))

    @staticmethod
    def _key(cwd: Path, python: str, env: Mapping[str, str]) -> tuple[object, ...]:
        return (str(cwd), python, tuple(sorted({**bytecode_env(), **env}.items())))

    def _acquire(
        self, key: tuple[object, ...], cwd: Path, python: str, env: Mapping[str, str]
    ) -> WarmRunner:
        with self._lock:
            if key in self._failed or self._folder is None:
                raise WarmUnavailable("no fork server for these runs")
            idle = self._idle.get(key)
            if idle:
                return idle.pop()
            script = self._folder / f"{FORKSERVER_MODULE}.py"
        try:
            server = WarmRunner(cwd, script, python, env)
        except (WarmUnavailable, OSError) as exc:
            with self._lock:
                self._failed.add(key)
            log.info("no fork server for %s with %s (%s): new interpreters", cwd, python, exc)
            raise WarmUnavailable(f"the fork server did not start: {exc}") from exc
        log.debug("fork server started for %s with %s", cwd, python)
        with self._lock:
            self._started.append(server)
        return server

    def _release(self, server: WarmRunner, key: tuple[object, ...], modules: Path) -> None:
        """Back to the idle list, first importing what the run imported that it has not."""
        try:
            names = sorted(set(json.loads(modules.read_text(encoding="utf-8"))))
        except (OSError, ValueError, TypeError):
            names = []  # the run did not finish: nothing learned
        with self._lock:
            cold = key in self._cold
        if not cold:
            try:
                server.warm(names)
            except WarmUnavailable:  # an import pulled in a file of the tree, or a thread
                with self._lock:
                    self._cold.add(key)
                self._discard(server, key, failed=False)
                return
        with self._lock:
            self._idle.setdefault(key, []).append(server)

    def _discard(self, server: WarmRunner, key: tuple[object, ...], *, failed: bool) -> None:
        server.close()
        with self._lock:
            if failed:
                self._failed.add(key)
            if server in self._started:
                self._started.remove(server)

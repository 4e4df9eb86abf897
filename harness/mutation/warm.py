"""A warm launcher per worker: one forked pytest per mutant run instead of a new interpreter.

Starting Python, pytest, its plugins and the project's third-party imports costs about a second
per run; the fork server (`forkserver_main.py`, run with the project's interpreter in the
worker's copy) pays it once. Each run forks a child that imports the project's own modules fresh
from the mutated files. The result is classified exactly as `harness.testrun` does (same exit
code rules, same JUnit reading). Anything unexpected (the server does not start, warming
imported a module of the project, the server dies) raises WarmUnavailable and the lab falls
back to one subprocess per run.

With `preload` (the pytest args of the tests to collect) the server also keeps a copy of the
project collected once, and a run may ask to fork from it with the mutated file's functions
patched in (`forkserver_main.py` says when that is exact; it answers from a fresh child when
it is not, and says so).
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from .. import cleanup
from ..outcomes import RunOutcome
from ..testrun import (
    TestRun,
    _read_junit,
    check_interrupted,
    classify,
    kill_group,
    tail,
    tracked,
)
from .workspace import FORKSERVER_MODULE, Workspace

READY_TIMEOUT = 120.0


class WarmUnavailable(Exception):
    """The fork server cannot serve this workspace; use plain subprocess runs."""


class WarmRunner:
    def __init__(self, space: Workspace, python: str, env: Mapping[str, str]):
        self.space = space
        #: Set by the lab once the server failed; later runs use plain subprocesses.
        self.broken = False
        #: Whether runs may fork from the collected project (the lab turns it off on doubt).
        self.preloaded = False
        #: Why the preloaded copy is not there, when it was asked for.
        self.preload_note = ""
        run_env = dict(os.environ)
        run_env.update(env)
        run_env.pop("FIXGUARD_PROBE_OUT", None)
        self._proc = subprocess.Popen(
            [python, str(space.probe_dir / f"{FORKSERVER_MODULE}.py")],
            cwd=space.root,
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
            raise WarmUnavailable(
                f"warming imported project modules: {answer.get('project_modules')}"
            )

    def warm(self, modules: Sequence[str]) -> None:
        """Also import these third-party modules (what the baseline loaded) once, for every run."""
        if modules:
            self._expect_ready(self._ask({"warm": list(modules)}))

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
        """Run pytest in a forked child; also whether it forked from the preloaded project.

        `preloaded` asks for the collected copy, `patch` names the mutated file (relative to the
        copy) whose functions it swaps in; the server runs the request fresh where it cannot.
        """
        with cleanup.temp_dir("fixguard-warm-") as tmp:  # on the ledger (harness.cleanup)
            junit = Path(tmp) / "junit.xml"
            log = Path(tmp) / "log.txt"
            args = [
                *nodeids,
                "-p",
                "no:cacheprovider",
                "-q",
                f"--junitxml={junit}",
                "-o",
                "junit_family=xunit1",
                *pytest_args,
            ]
            check_interrupted()
            request: dict[str, object] = {
                "args": args,
                "env": dict(env),
                "log": str(log),
                "preloaded": preloaded and self.preloaded,
                "patch": patch,
            }
            started = time.monotonic()
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
            timed_out = False
            with tracked(pid):
                try:
                    done = self._next(timeout)
                except TimeoutError:
                    timed_out = True
                    kill_group(pid)
                    try:
                        done = self._next(READY_TIMEOUT)
                    except TimeoutError as exc:
                        raise WarmUnavailable(str(exc)) from exc
            duration = time.monotonic() - started
            exit_code = None if timed_out else int(done["exit"])  # type: ignore[call-overload]
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


class ForkServers:
    """The fork servers of one run's worker copies, one per (copy, hash seed), started on first
    use. The baseline runs in the copy's server too, which the mutants then keep using."""

    def __init__(self, python: str, env: Mapping[str, str]):
        self._python = python
        self._env = dict(env)
        self._lock = threading.Lock()
        self._servers: dict[tuple[Path, int | None], WarmRunner | None] = {}
        #: Servers the lab has made ready for mutants (warm modules, preloaded copy).
        self.ready: set[tuple[Path, int | None]] = set()

    def get(self, space: Workspace, seed: int | None = None) -> WarmRunner | None:
        """The server for runs in `space` with this hash seed (None: the interpreter's own).

        Only the thread holding `space` asks for its servers, so a start never races itself.
        """
        key = (space.root, seed)
        with self._lock:
            known = key in self._servers
        if not known:
            env = space.env(self._env)
            if seed is not None:
                # A hash seed takes effect at start-up: each of k-of-n's seeds has its server.
                env["PYTHONHASHSEED"] = str(seed)
            runner: WarmRunner | None
            try:
                runner = WarmRunner(space, self._python, env)
            except (WarmUnavailable, OSError):
                runner = None
            with self._lock:
                self._servers[key] = runner
        with self._lock:
            runner = self._servers[key]
        return None if runner is None or runner.broken else runner

    def close(self) -> None:
        with self._lock:
            servers = [s for s in self._servers.values() if s is not None]
            self._servers.clear()
        for server in servers:
            server.close()

"""A warm launcher per worker: one forked pytest per mutant run instead of a new interpreter.

Starting Python, pytest, its plugins and the project's third-party imports costs about a second
per run; the fork server (`forkserver_main.py`, run with the project's interpreter in the
worker's copy) pays it once. Each run forks a child that imports the project's own modules fresh
from the mutated files. The result is classified exactly as `harness.testrun` does (same exit
code rules, same JUnit reading). Anything unexpected (the server does not start, warming
imported a module of the project, the server dies) raises WarmUnavailable and the lab falls
back to one subprocess per run.
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
    def __init__(
        self, space: Workspace, python: str, env: Mapping[str, str], warm_modules: Sequence[str]
    ):
        self.space = space
        #: Set by the lab once the server failed; later runs use plain subprocesses.
        self.broken = False
        run_env = dict(os.environ)
        run_env.update(env)
        run_env["FIXGUARD_WARM_MODULES"] = json.dumps(list(warm_modules))
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
        try:
            hello = self._next(READY_TIMEOUT)
        except TimeoutError as exc:
            self.close()
            raise WarmUnavailable("the fork server did not start in time") from exc
        if not hello.get("ready"):
            self.close()
            raise WarmUnavailable(
                f"warming imported project modules: {hello.get('project_modules')}"
            )

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
    ) -> TestRun:
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
            request = {"args": args, "env": dict(env), "log": str(log)}
            started = time.monotonic()
            try:
                assert self._proc.stdin is not None
                self._proc.stdin.write(json.dumps(request) + "\n")
                self._proc.stdin.flush()
            except (BrokenPipeError, OSError) as exc:
                raise WarmUnavailable("the fork server is gone") from exc
            try:
                pid = int(self._next(READY_TIMEOUT)["pid"])  # type: ignore[call-overload]
            except TimeoutError as exc:
                raise WarmUnavailable(str(exc)) from exc
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
            failed, passed, collection_errors = _read_junit(junit)
            output = log.read_text(errors="replace") if log.exists() else ""
        outcome: RunOutcome = classify(
            exit_code, timed_out=timed_out, collection_errors=collection_errors
        )
        return TestRun(
            outcome=outcome,
            exit_code=exit_code,
            duration=duration,
            failed=tuple(failed),
            passed=tuple(passed),
            log_tail=tail(output),
            command=("fork", *args),
        )

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

"""Run a project's pytest selection in a subprocess and classify how it ended.

The project's own interpreter runs the tests (`python=`), so a project that pins an old pytest
works. Nothing from the harness has to be importable there: the result is read from pytest's
exit code and its JUnit XML, both stable across pytest versions since 5.x.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import re
import shlex
import shutil
import signal
import subprocess
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from . import cleanup
from .outcomes import TARGET_EXIT_CODE, RunOutcome
from .paths import bytecode_env

log = logging.getLogger(__name__)

LOG_TAIL_LINES = 40

# Test processes run in their own sessions (a timeout kills the whole group), so Ctrl-C does not
# reach them: `interrupt_all` (the CLI's SIGINT handler) kills every running group at once, and
# runs end with KeyboardInterrupt instead of a result, so an interrupted run is never recorded
# as a failure or a kill.
_running: set[int] = set()
_running_lock = threading.Lock()
_interrupted = threading.Event()


@contextmanager
def tracked(pid: int) -> Iterator[None]:
    """Register a test process group for `interrupt_all` while it runs."""
    with _running_lock:
        _running.add(pid)
    try:
        yield
    finally:
        with _running_lock:
            _running.discard(pid)
    check_interrupted()


def check_interrupted() -> None:
    """Raise KeyboardInterrupt once `interrupt_all` was called (no new run starts)."""
    if _interrupted.is_set():
        raise KeyboardInterrupt("interrupted")


def interrupt_all() -> None:
    """Kill every running test process group; later runs raise KeyboardInterrupt."""
    _interrupted.set()
    with _running_lock:
        pids = list(_running)
    for pid in pids:
        kill_group(pid)


def reset_interrupt() -> None:
    """A new command starts uninterrupted (the CLI can be called more than once in-process)."""
    _interrupted.clear()


@dataclass(frozen=True)
class TestRun:
    """One pytest invocation: how it ended, and the evidence to show for it."""

    __test__ = False  # not a pytest test class, despite the name

    outcome: RunOutcome
    exit_code: int | None
    duration: float
    #: Node ids (as pytest reports them) that failed or errored.
    failed: tuple[str, ...] = ()
    passed: tuple[str, ...] = ()
    log_tail: str = ""
    command: tuple[str, ...] = field(default=())
    #: pytest's own reason when the run did not get to judge the tests (not collected,
    #: internal error): its first error line.
    error_line: str = ""
    #: Findings the run's scenario checks reported (harness.findings), each once, in order.
    #: They never change the outcome: a check fails on them only when its binding asks.
    findings: tuple[str, ...] = ()
    #: When the run was cut short (timed out, crashed): the test it was in. The tests it
    #: never reached are in neither `failed` nor `passed`.
    cut_short: str = ""
    #: The perturbation the run asked for (`--harness-perturb` spec), "" for a plain run.
    perturb: str = ""
    #: Per perturbed test, what ran: `nodeid: seed=N: preempt (sys.settrace) — 12 forced switches, 0 awaits`.
    perturbed: tuple[str, ...] = ()
    #: A replay command per failing perturbed test (same seed, same files).
    replays: tuple[str, ...] = ()
    #: True when the run forked from a warm server instead of starting a new interpreter.
    forked: bool = False

    @property
    def ok(self) -> bool:
        return self.outcome is RunOutcome.PASSED


def classify(exit_code: int | None, *, timed_out: bool, collection_errors: int) -> RunOutcome:
    """Turn a pytest exit status into a RunOutcome. The one place this mapping lives.

    pytest exit codes: 0 ok, 1 tests failed, 2 interrupted (collection errors end here),
    3 internal error, 4 usage error (a node id that does not exist), 5 nothing collected.
    """
    if timed_out:
        return RunOutcome.TIMED_OUT
    if exit_code == TARGET_EXIT_CODE:
        return RunOutcome.TARGET_ERROR
    if exit_code == 0:
        return RunOutcome.PASSED
    if collection_errors:
        return RunOutcome.NOT_COLLECTED
    if exit_code == 1:
        return RunOutcome.FAILED
    if exit_code in (2, 4):
        # Interrupted or usage error: a missing file/node id or an import error at collection.
        return RunOutcome.NOT_COLLECTED
    if exit_code == 5:
        return RunOutcome.NO_TESTS
    return RunOutcome.INTERNAL_ERROR


def _node_id(case: ET.Element) -> str:
    """Rebuild a pasteable node id (`file::Class::name`) from an xunit1 testcase."""
    classname = case.get("classname", "")
    name = case.get("name", "")
    file = case.get("file")
    if not file:
        return f"{classname}::{name}" if classname else name
    module = file[:-3].replace("/", ".") if file.endswith(".py") else file
    inner = classname[len(module) + 1 :] if classname.startswith(module + ".") else ""
    return "::".join(part for part in (file, *inner.split("."), name) if part)


def _read_junit(path: Path) -> tuple[list[str], list[str], int]:
    """Return (failed node ids, passed node ids, collection error count) from a JUnit file."""
    if not path.exists() or path.stat().st_size == 0:
        return [], [], 0
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError:
        return [], [], 0
    failed: list[str] = []
    passed: list[str] = []
    collection_errors = 0
    for case in root.iter("testcase"):
        error = case.find("error")
        if error is not None and error.get("message") == "collection failure":
            collection_errors += 1
            failed.append(case.get("file") or case.get("name") or "")
        elif error is not None or case.find("failure") is not None:
            failed.append(_node_id(case))
        elif case.find("skipped") is None:
            passed.append(_node_id(case))
    return failed, passed, collection_errors


OUTCOMES_MODULE = "fixguard_outcomes"
PERTURB_MODULE = "fixguard_perturb"


def perturb_args(spec: str | None) -> list[str]:
    """pytest arguments that load the perturbation plugin (a copy named PERTURB_MODULE on the
    run's PYTHONPATH) and give it `spec`; none for a plain run."""
    return ["-p", PERTURB_MODULE, f"--harness-perturb={spec}"] if spec else []


@functools.cache
def perturb_plugin_digest() -> str:
    """The plugin's content hash: a stored result of a perturbed run is reused only as long as
    the perturbation that produced it is the same code."""
    source = Path(__file__).with_name("perturb_plugin.py").read_bytes()
    return hashlib.sha256(source).hexdigest()[:16]


def copy_perturb_plugin(folder: Path) -> None:
    """Put the standalone perturbation plugin in `folder`, importable as PERTURB_MODULE."""
    shutil.copyfile(Path(__file__).with_name("perturb_plugin.py"), folder / f"{PERTURB_MODULE}.py")


#: How a replay command loads the plugin: by module, so it works with plugin autoload off.
REPLAY_PLUGIN = "harness.perturb_plugin"


def perturbation_evidence(
    seen: Outcomes, python: str, pytest_args: Sequence[str]
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(what ran per test, replay commands of the failing ones) from the plugin's records.

    A replay names the interpreter, loads the plugin explicitly and keeps the run's own pytest
    arguments (`-p anyio`, say), so it reruns the test as the run did.
    """
    ran = tuple(f"{r.get('nodeid', '')}: {r.get('ran', '')}" for r in seen.perturbed)
    prefix = "python -m pytest "
    extra = f" {shlex.join(pytest_args)}" if pytest_args else ""
    replays = tuple(
        f"{shlex.quote(python)} -m pytest -p {REPLAY_PLUGIN} "
        + r["replay"].removeprefix(prefix)
        + extra
        for r in seen.perturbed
        if r.get("outcome") == "failed" and r.get("replay", "").startswith(prefix)
    )
    return ran, replays


_ERROR_LINE = re.compile(
    r"^(?:E\s{2,}(?P<e>\S.*)|ERROR: (?P<usage>.+)|INTERNALERROR> (?P<internal>\w*(?:Error|Exception)\b.*))$"
)


@dataclass
class Outcomes:
    """What the fixguard_outcomes plugin saw: failed tests by phase, whether pytest finished,
    and the findings the checks reported."""

    started: bool = False
    finished: bool = False
    failed: list[str] = field(default_factory=list)
    passed: list[str] = field(default_factory=list)
    findings: list[str] = field(default_factory=list)
    #: Tests that started, and tests that got to the end of their teardown.
    begun: list[str] = field(default_factory=list)
    reported: set[str] = field(default_factory=set)
    #: harness.perturb_plugin's records: one per perturbed test call.
    perturbed: list[dict[str, str]] = field(default_factory=list)

    @property
    def cut_short(self) -> str:
        """The test that started and never finished: the one a killed run was in."""
        open_ = [n for n in self.begun if n not in self.reported]
        return open_[-1] if open_ else ""


def read_outcomes(path: Path) -> Outcomes:
    seen = Outcomes()
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return seen
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            continue
        event = record.get("event")
        if event == "start":
            seen.started = True
        elif event == "finish":
            seen.finished = True
        elif event == "begin":
            seen.begun.append(str(record.get("nodeid", "")))
        elif event == "report":
            nodeid = str(record.get("nodeid", ""))
            if record.get("when") == "teardown":  # the last phase: the test is over
                seen.reported.add(nodeid)
            if record.get("outcome") == "failed" and nodeid not in seen.failed:
                seen.failed.append(nodeid)
            elif record.get("when") == "call" and record.get("outcome") == "passed":
                seen.passed.append(nodeid)
        elif event == "perturb":
            seen.perturbed.append({k: str(v) for k, v in record.items()})
        elif event == "finding":
            # A check that meets the same problem in every example reports it each time.
            message = str(record.get("message", ""))
            if message and message not in seen.findings:
                seen.findings.append(message)
    return seen


def first_error_line(output: str) -> str:
    """pytest's own first error line (`E   ImportError: ...`, `ERROR: not found: ...`)."""
    for line in output.splitlines():
        match = _ERROR_LINE.match(line.rstrip())
        if match:
            return next(g for g in match.groups() if g).strip()
    return ""


def crash_reason(exit_code: int | None, output: str) -> str:
    """Why a run that never finished ended: the exit code or signal, and its last output line."""
    if exit_code is not None and exit_code < 0:
        try:
            how = f"killed by {signal.Signals(-exit_code).name}"
        except ValueError:
            how = f"killed by signal {-exit_code}"
    else:
        how = f"exited with code {exit_code} (os._exit or a crash in a test?)"
    last = next((line.strip() for line in reversed(output.splitlines()) if line.strip()), "")
    return f"pytest did not finish: {how}" + (f"; last output: {last[:160]}" if last else "")


def deselect_args(nodeids: Sequence[str]) -> list[str]:
    """`--deselect NODEID` for each node id: pytest runs the rest of its selection."""
    args: list[str] = []
    for nodeid in nodeids:
        args += ["--deselect", nodeid]
    return args


def tail(text: str, lines: int = LOG_TAIL_LINES) -> str:
    """The last `lines` lines of `text`, trailing blank lines left out (one rule for logs)."""
    return "\n".join(text.rstrip("\n").splitlines()[-lines:])


def session_args(nodeids: Sequence[str], junit: Path, extra: Sequence[str]) -> list[str]:
    """pytest's arguments for one judged run: quiet, no cache, xunit1 JUnit to `junit`."""
    return [
        *nodeids,
        "-p",
        "no:cacheprovider",
        "-q",
        f"--junitxml={junit}",
        "-o",
        "junit_family=xunit1",
        *extra,
    ]


class LaunchUnavailable(Exception):
    """A forked launcher cannot run this (its server is gone): run a new interpreter instead."""


#: Runs `pytest ARGS` in a forked child of a warm server (harness.forkserver.ServerPool):
#: (args, env on top of the server's, log file, sys.path entries after the work tree,
#: timeout) -> the exit code, or None when the run timed out and its group was killed.
#: Raises LaunchUnavailable when it cannot.
Launch = Callable[[Sequence[str], Mapping[str, str], Path, Sequence[str], float], "int | None"]


def run_pytest(
    cwd: Path,
    nodeids: Sequence[str],
    *,
    python: str,
    pytest_args: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    timeout: float = 120.0,
    perturb: str | None = None,
    launch: Launch | None = None,
) -> TestRun:
    """Run `python -m pytest nodeids…` in `cwd` and classify the result.

    A run past `timeout` has its whole process group killed and counts as TIMED_OUT. `perturb`
    is a `--harness-perturb` spec: the run perturbs scheduling in the files it names. `launch`
    runs the same pytest arguments in a forked child of a warm server started with `python`,
    `env` and this process's environment in `cwd`; the evidence is read and judged the same way.
    """
    # On the run ledger, so a killed run's dir is removed by the next run (harness.cleanup).
    with cleanup.temp_dir("fixguard-junit-") as tmp_dir:
        tmp = str(tmp_dir)
        junit = Path(tmp) / "junit.xml"
        outcomes_file = Path(tmp) / "outcomes.jsonl"
        shutil.copyfile(
            Path(__file__).with_name("outcome_plugin.py"), Path(tmp) / f"{OUTCOMES_MODULE}.py"
        )
        if perturb:
            copy_perturb_plugin(Path(tmp))
        args = session_args(
            nodeids, junit, ["-p", OUTCOMES_MODULE, *perturb_args(perturb), *pytest_args]
        )
        command = [python, "-m", "pytest", *args]
        # Compiled modules go to the harness's cache; the manifest's env may turn that off.
        run_env = {**os.environ, **bytecode_env(), **(env or {})}
        run_env["FIXGUARD_OUTCOMES_OUT"] = str(outcomes_file)
        run_env["PYTHONPATH"] = os.pathsep.join(filter(None, [tmp, run_env.get("PYTHONPATH", "")]))
        started = time.monotonic()
        check_interrupted()
        ended = None
        if launch is not None:
            ended = _forked(launch, args, env or {}, run_env, timeout, junit, outcomes_file)
        forked = ended is not None
        if ended is None:
            started = time.monotonic()
            ended = _spawned(command, cwd, run_env, timeout)
        exit_code, output = ended
        timed_out = exit_code is None
        duration = time.monotonic() - started
        failed, passed, collection_errors = _read_junit(junit)
        seen = read_outcomes(outcomes_file)
    outcome = classify(exit_code, timed_out=timed_out, collection_errors=collection_errors)
    log.debug(
        "pytest in %s (%s): exit %s in %.2fs, %d failed",
        cwd,
        "forked" if forked else "new interpreter",
        exit_code,
        duration,
        len(failed),
    )
    error_line = ""
    unfinished = seen.started and not seen.finished and not timed_out
    if seen.failed and (outcome is RunOutcome.INTERNAL_ERROR or unfinished):
        # A test failed, then pytest crashed (rendering the failure, say) or the process died:
        # the test did fail.
        outcome = RunOutcome.FAILED
        failed = failed or list(seen.failed)
    elif unfinished and outcome is not RunOutcome.TARGET_ERROR:
        # No session-finished record and no failed test: whatever the exit code says (0 from
        # `os._exit(0)`, 1 from `os._exit(1)`), this run judged nothing.
        outcome = RunOutcome.CRASHED
        error_line = crash_reason(exit_code, output or "")
    if timed_out or unfinished:
        # No JUnit file from a run that was cut short: the outcome plugin's records say which
        # tests passed or failed before it ended.
        passed = passed or list(seen.passed)
        failed = failed or list(seen.failed)
    perturbed, replays = perturbation_evidence(seen, python, pytest_args)
    if outcome in (RunOutcome.NOT_COLLECTED, RunOutcome.INTERNAL_ERROR) and not error_line:
        error_line = first_error_line(output or "") or f"pytest exit code {exit_code}"
    return TestRun(
        outcome=outcome,
        exit_code=exit_code,
        duration=duration,
        failed=tuple(failed),
        passed=tuple(passed),
        log_tail=tail(output or ""),
        command=tuple(command),
        error_line=error_line,
        findings=tuple(seen.findings),
        cut_short=seen.cut_short if (timed_out or unfinished) else "",
        perturb=perturb or "",
        perturbed=perturbed,
        replays=replays,
        forked=forked,
    )


def _forked(
    launch: Launch,
    args: Sequence[str],
    env: Mapping[str, str],
    run_env: Mapping[str, str],
    timeout: float,
    *evidence: Path,
) -> tuple[int | None, str] | None:
    """(exit code or None on timeout, output) of a forked run; None when it could not run.

    The child gets the env a subprocess would have on top of the server's (the server started
    with the same base env), and the run's plugin folder on sys.path as PYTHONPATH puts it.
    """
    folder = evidence[0].parent
    log = folder / "log.txt"
    extra = {**env, **{k: run_env[k] for k in ("FIXGUARD_OUTCOMES_OUT", "PYTHONPATH")}}
    try:
        code = launch(args, extra, log, [str(folder)], timeout)
    except LaunchUnavailable:
        for leftover in (*evidence, log):
            leftover.unlink(missing_ok=True)  # a half-run's evidence is not the new run's
        return None
    output = log.read_text(errors="replace") if log.exists() else ""
    return code, output


def _spawned(
    command: Sequence[str], cwd: Path, run_env: Mapping[str, str], timeout: float
) -> tuple[int | None, str]:
    """(exit code or None on timeout, output) of a run in a new interpreter."""
    proc = subprocess.Popen(
        command,
        cwd=cwd,
        env=run_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
        start_new_session=True,
    )
    timed_out = False
    try:
        with tracked(proc.pid):
            try:
                output, _ = proc.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                timed_out = True
                kill_group(proc.pid)
                output, _ = proc.communicate()
    except BaseException:
        kill_group(proc.pid)
        proc.communicate()
        raise
    return (None if timed_out else proc.returncode), output


def kill_group(pid: int) -> None:
    """SIGKILL the process group `pid` leads (a test run and whatever it started), if any."""
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass

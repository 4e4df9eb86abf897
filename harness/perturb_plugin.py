"""fixguard_perturb: seeded schedule perturbation for a project's own tests, scoped to named files.

A narrow race window (a check and an act with no GIL release or suspension between them) almost
never shows in a plain run of a ThreadPoolExecutor or ``asyncio.gather`` test. This plugin makes
such a test fail on the buggy code without changing it, by perturbing only the files named:

- **threads** (``preempt``): every line event inside those files may call ``time.sleep(0)``
  (seeded, probability ``p``), handing the GIL to another thread at that exact spot. Uses
  ``sys.monitoring`` where the interpreter has it (3.12+), ``sys.settrace`` otherwise.
- **hot lines** (``files=pkg/store.py@12-18``): the lines a fix changed. Threads pause there,
  inside the window the fix closes, until the others have run a few lines (at most 5 ms): odd
  seeds at every hot line event and nowhere else, even seeds at half of them plus the random
  hand-offs.
- **threads** (``pct``): a PCT-like mode: a few (``points``) forced pauses per thread, at line
  events drawn from the first ``horizon`` of that thread, each long enough for the others to run.
- **asyncio** (``explore``): an ``async def`` test runs on the harness's controlled event loop,
  one seeded random schedule per run. A test that needs threads or real sockets there is refused
  by the loop, and runs on a plain loop instead (the report says so).
- **await points**, in every mode: each ``await`` inside those files first yields once
  (``asyncio.sleep(0)``; probability ``await_p``, 1 by default), as the awaited call would if it
  went to the network. The files are compiled with that yield when imported, so this covers
  ``asyncio.run`` in a sync test too. (``pct`` yields at ``points`` chosen awaits instead.)

``auto`` picks ``explore`` for ``async def`` tests and ``preempt`` for the rest.

    pytest --harness-perturb=preempt:seed=7 --harness-perturb-files=pkg/store.py --count-rounds 50

Every test's perturbation is described in its report; a failing one gets a replay line,
``python -m pytest NODEID --harness-perturb=MODE:seed=N:files=...``, that reruns it with the
same seed. Under ``verify`` the same records also go to FIXGUARD_OUTCOMES_OUT.

Standalone (pytest >= 7): nothing from the harness is imported at load time (``run_pytest`` copies this file
into a temp dir as ``fixguard_perturb`` for the project's interpreter). The ``explore`` mode
imports the harness's explorer when the test needs it, and falls back to ``preempt`` when the
project's interpreter does not have it.
"""

from __future__ import annotations

import ast
import functools
import importlib.machinery
import inspect
import json
import os
import random
import re
import shlex
import sys
import threading
import time
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass, field, replace
from types import CodeType, FrameType
from typing import Any

import pytest

MODES = ("off", "auto", "preempt", "pct", "explore")
PLUGIN_NAME = "fixguard_perturb"
OPTION = "--harness-perturb"
#: Defaults, documented in docs/perturbation.md.
DEFAULT_P = 0.5
#: Every await in the files yields once, as the awaited call would if it did real I/O; the
#: seed still varies the schedule around it (the explorer's choices, the threads' switches).
DEFAULT_AWAIT_P = 1.0
DEFAULT_POINTS = 3
DEFAULT_HORIZON = 64
#: A PCT pause: long enough that the other runnable threads get the GIL and run a while.
PCT_PAUSE = 0.001
#: A pause at a hot line (one the fix changed): the thread stalls inside the window the fix
#: closes while the others run through it. Odd seeds pause at every hot line event and leave
#: the other lines alone; even seeds pause at half of them and add the random hand-offs. A pause
#: lasts until the other threads have run HOT_PROGRESS line events of the files (they did get
#: the CPU), or HOT_WAIT seconds: a fixed time would be too short on a loaded machine, where the
#: others may not run at all meanwhile. The pauses of one test stop after HOT_BUDGET seconds (a
#: hot loop would otherwise crawl).
HOT_SLICE = 0.0005
HOT_PROGRESS = 5
HOT_WAIT = 0.005
HOT_BUDGET = 0.25
_TOOL_NAME = "fixguard-perturb"
_AWAIT_HOOK = "__fixguard_await_point__"
_ROUND_FIXTURE = "_harness_perturb_round"


class SpecError(ValueError):
    """A perturbation spec that cannot be read; the message names the field."""


@dataclass(frozen=True)
class Spec:
    """``MODE[:seed=N][:files=a.py,b.py][:p=0.5][:await_p=1.0][:points=3][:horizon=64]``."""

    mode: str
    seed: int | None = None
    files: tuple[str, ...] = ()
    p: float = DEFAULT_P
    await_p: float = DEFAULT_AWAIT_P
    points: int = DEFAULT_POINTS
    horizon: int = DEFAULT_HORIZON

    @classmethod
    def parse(cls, text: str) -> Spec:
        mode, *fields = text.strip().split(":")
        if mode not in MODES:
            raise SpecError(f"{OPTION}={text!r}: mode={mode!r} is not one of {', '.join(MODES)}")
        values: dict[str, Any] = {}
        for item in fields:
            name, sep, value = item.partition("=")
            try:
                if not sep:
                    raise ValueError("write name=value")
                if name == "seed":
                    values["seed"] = int(value)
                elif name == "files":
                    values["files"] = tuple(f for f in value.split(",") if f)
                elif name in ("p", "await_p"):
                    values[name] = float(value)
                    if not 0.0 <= values[name] <= 1.0:
                        raise ValueError("must be in [0, 1]")
                elif name in ("points", "horizon"):
                    values[name] = int(value)
                    if values[name] < 1:
                        raise ValueError("must be >= 1")
                else:
                    raise ValueError("known fields: seed, files, p, await_p, points, horizon")
            except ValueError as exc:
                raise SpecError(f"{OPTION}={text!r}: {name}={value!r}: {exc}") from None
        return cls(mode, **values)

    def render(self, seed: int | None = None) -> str:
        """The spec as text; `seed` replaces this spec's seed (a round's own seed)."""
        parts = [self.mode]
        chosen = self.seed if seed is None else seed
        if chosen is not None:
            parts.append(f"seed={chosen}")
        if self.files:
            parts.append("files=" + ",".join(self.files))
        if self.p != DEFAULT_P:
            parts.append(f"p={self.p}")
        if self.await_p != DEFAULT_AWAIT_P:
            parts.append(f"await_p={self.await_p}")
        if self.mode == "pct" and self.points != DEFAULT_POINTS:
            parts.append(f"points={self.points}")
        if self.mode == "pct" and self.horizon != DEFAULT_HORIZON:
            parts.append(f"horizon={self.horizon}")
        return ":".join(parts)


# -- which files --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Files:
    """The perturbed files: exact real paths, plus directories (every file below them), and
    per file the hot lines (where the fix changed code), if the spec names them."""

    files: frozenset[str]
    dirs: tuple[str, ...] = ()
    hot: tuple[tuple[str, frozenset[int]], ...] = ()

    @classmethod
    def resolve(cls, names: Sequence[str], root: str) -> Files:
        files: set[str] = set()
        dirs: list[str] = []
        hot: dict[str, frozenset[int]] = {}
        for entry in names:
            name, _, ranges = entry.partition("@")
            path = os.path.realpath(os.path.join(root, name))
            if os.path.isdir(path):
                dirs.append(path + os.sep)
            elif os.path.isfile(path):
                files.add(path)
            else:
                raise SpecError(f"{OPTION} files={name!r}: no such file or directory under {root}")
            if ranges:
                hot[path] = hot.get(path, frozenset()) | parse_lines(ranges, entry)
        return cls(frozenset(files), tuple(dirs), tuple(sorted(hot.items())))

    def matcher(self) -> Callable[[str], bool]:
        memo: dict[str, bool] = {}

        def match(filename: str) -> bool:
            hit = memo.get(filename)
            if hit is None:
                real = os.path.realpath(filename)
                hit = real in self.files or real.startswith(self.dirs)
                memo[filename] = hit
            return hit

        return match

    def hot_lines(self) -> Callable[[str], frozenset[int]]:
        """``co_filename -> its hot lines`` (empty for a file with none), memoised."""
        table = dict(self.hot)
        memo: dict[str, frozenset[int]] = {}

        def lines(filename: str) -> frozenset[int]:
            found = memo.get(filename)
            if found is None:
                found = memo[filename] = table.get(os.path.realpath(filename), frozenset())
            return found

        return lines


def parse_lines(text: str, entry: str = "") -> frozenset[int]:
    """``3-7+12`` -> {3, 4, 5, 6, 7, 12}."""
    lines: set[int] = set()
    for part in text.split("+"):
        first, _, last = part.partition("-")
        try:
            start, end = int(first), int(last or first)
        except ValueError:
            raise SpecError(
                f"{OPTION} files={entry!r}: lines={text!r}: write ranges such as 3-7+12"
            ) from None
        if start < 1 or end < start:
            raise SpecError(
                f"{OPTION} files={entry!r}: lines={part!r}: must be 1-based, start <= end"
            )
        lines.update(range(start, end + 1))
    return frozenset(lines)


def format_lines(lines: Sequence[int]) -> str:
    """{3, 4, 5, 12} -> ``3-5+12``: the inverse of `parse_lines`."""
    ordered = sorted(set(lines))
    parts: list[str] = []
    start = prev = ordered[0] if ordered else 0
    for line in [*ordered[1:], None]:
        if line is not None and line == prev + 1:
            prev = line
            continue
        parts.append(f"{start}-{prev}" if prev > start else str(start))
        if line is not None:
            start = prev = line
    return "+".join(parts) if ordered else ""


# -- the state of one perturbed test call -------------------------------------------------------


@dataclass
class Active:
    """The perturbation of the test running now (None between tests: hooks do nothing then)."""

    spec: Spec
    seed: int
    #: "preempt" or "pct" for the threads of this test; "" when only await points apply.
    threads: str
    yields: list[str] = field(default_factory=list)
    awaits: int = 0
    #: Scheduling steps of the controlled loop, when the test ran on it.
    steps: int = 0
    #: Seconds of hot-line pauses this test may still spend (all threads together).
    hot_left: float = HOT_BUDGET
    #: Line events seen in the files, by every thread (how a paused thread sees progress).
    events: int = 0
    _await_rng: random.Random = field(init=False)
    _await_plan: frozenset[int] = field(init=False)

    def __post_init__(self) -> None:
        self._await_rng = random.Random(f"{self.seed}:await")
        rng = random.Random(f"{self.seed}:await-pct")
        self._await_plan = frozenset(
            rng.randrange(1, self.spec.horizon + 1) for _ in range(self.spec.points)
        )

    def await_yields(self, where: str) -> bool:
        self.awaits += 1
        if self.spec.mode == "pct":
            hit = self.awaits in self._await_plan
        else:
            hit = self._await_rng.random() < self.spec.await_p
        if hit:
            self.yields.append(f"await {where}")
        return hit


_active: Active | None = None


# -- await points -------------------------------------------------------------------------------


async def _await_point(awaitable: Any, where: str) -> Any:
    """``await X`` in a perturbed file becomes ``await _await_point(X, 'file:line')``."""
    state = _active
    if state is not None and _in_asyncio() and state.await_yields(where):
        import asyncio

        await asyncio.sleep(0)
    return await awaitable


def _in_asyncio() -> bool:
    """True inside a running asyncio loop (not trio): only there can we yield with sleep(0)."""
    loop_module = sys.modules.get("asyncio")
    if loop_module is None:
        return False
    try:
        loop_module.get_running_loop()
    except RuntimeError:
        return False
    return True


class _AwaitRewriter(ast.NodeTransformer):
    def __init__(self, label: str) -> None:
        self.label = label

    def visit_Await(self, node: ast.Await) -> ast.AST:
        self.generic_visit(node)
        call = ast.Call(
            func=ast.Name(id=_AWAIT_HOOK, ctx=ast.Load()),
            args=[node.value, ast.Constant(f"{self.label}:{node.lineno}")],
            keywords=[],
        )
        return ast.copy_location(ast.Await(value=ast.copy_location(call, node)), node)


class _AwaitLoader(importlib.machinery.SourceFileLoader):
    """Compiles a perturbed file with a seeded yield before each ``await``; never caches it."""

    def get_code(self, fullname: str) -> CodeType:
        path = self.get_filename(fullname)
        tree = ast.parse(self.get_data(path), filename=path)
        rewriter = _AwaitRewriter(short_path(path))
        tree = ast.fix_missing_locations(rewriter.visit(tree))
        return compile(tree, path, "exec", dont_inherit=True)

    def exec_module(self, module: Any) -> None:
        module.__dict__[_AWAIT_HOOK] = _await_point
        super().exec_module(module)


class _AwaitFinder:
    """A meta path finder: the perturbed files' modules load through `_AwaitLoader`."""

    def __init__(self, match: Callable[[str], bool]) -> None:
        self.match = match

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if (
            spec is None
            or not spec.origin
            or not isinstance(spec.loader, importlib.machinery.SourceFileLoader)
            or not self.match(spec.origin)
        ):
            return None
        spec.loader = _AwaitLoader(name, spec.origin)
        return spec

    def invalidate_caches(self) -> None:
        pass


# -- thread preemption --------------------------------------------------------------------------


class ThreadPerturber:
    """Seeded switches at line events of the perturbed files, in every thread, while active."""

    def __init__(
        self,
        match: Callable[[str], bool],
        use_monitoring: bool = True,
        hot: Callable[[str], frozenset[int]] | None = None,
    ) -> None:
        self._match = match
        self._hot = hot
        self._local = threading.local()
        self._next_index = 0
        self._index_lock = threading.Lock()
        self._state: Active | None = None
        self.monitoring = use_monitoring and hasattr(sys, "monitoring")
        self._tool: int | None = None
        self._previous: Any = None
        self._previous_threading: Any = None

    @property
    def backend(self) -> str:
        return "sys.monitoring" if self.monitoring else "sys.settrace"

    def start(self, state: Active) -> None:
        self._state = state
        self._local = threading.local()
        self._next_index = 0
        if self.monitoring:
            self._tool = claim_tool(_TOOL_NAME)
            if self._tool is not None:
                mon: Any = sys.monitoring  # type: ignore[attr-defined]
                mon.register_callback(self._tool, mon.events.LINE, self._on_monitor_line)
                mon.set_events(self._tool, mon.events.LINE)
                return
            self.monitoring = False  # every tool id is taken: trace instead
        self._previous = sys.gettrace()
        self._previous_threading = threading.gettrace()
        threading.settrace(self._on_call)
        sys.settrace(self._on_call)

    def stop(self) -> None:
        self._state = None
        if self._tool is not None:
            release_tool(self._tool)
            self._tool = None
        elif not self.monitoring:
            threading.settrace(self._previous_threading)
            sys.settrace(self._previous)

    def _thread(self) -> Any:
        loc = self._local
        if not hasattr(loc, "rng"):
            state = self._state
            assert state is not None
            with self._index_lock:
                index = self._next_index
                self._next_index += 1
            loc.index = index
            loc.count = 0
            loc.rng = random.Random(f"{state.seed}:{index}")
            spec = state.spec
            loc.points = frozenset(
                loc.rng.randrange(1, spec.horizon + 1) for _ in range(spec.points)
            )
        return loc

    def _decide(self, filename: str, lineno: int) -> None:
        state = self._state
        if state is None:
            return
        loc = self._thread()
        loc.count += 1
        state.events += 1
        if state.threads == "pct":
            if loc.count in loc.points:
                state.yields.append(f"t{loc.index} {short_path(filename)}:{lineno}")
                time.sleep(PCT_PAUSE)
            return
        hot_style = self._hot is not None and state.seed % 2 == 1
        if self._hot is not None and state.hot_left > 0 and lineno in self._hot(filename):
            if hot_style or loc.rng.random() < 0.5:
                state.yields.append(f"t{loc.index} {short_path(filename)}:{lineno} (hot)")
                state.hot_left -= _stall(state)
            return
        if hot_style and state.hot_left > 0:
            return  # the hot style perturbs the hot lines only, while its budget lasts
        if loc.rng.random() < state.spec.p:
            state.yields.append(f"t{loc.index} {short_path(filename)}:{lineno}")
            time.sleep(0)

    # sys.settrace: the global function picks frames; a local one sees their lines.
    def _on_call(self, frame: FrameType, event: str, arg: object) -> Any:
        previous = self._previous
        inner = previous(frame, event, arg) if previous is not None else None
        if self._state is None or not self._match(frame.f_code.co_filename):
            return inner
        return _LineTrace(self, inner)

    def _on_monitor_line(self, code: Any, lineno: int) -> Any:
        if not self._match(code.co_filename):
            return sys.monitoring.DISABLE  # type: ignore[attr-defined]
        self._decide(code.co_filename, lineno)
        return None


def _stall(state: Active) -> float:
    """Pause until the other threads ran HOT_PROGRESS line events, or HOT_WAIT; the seconds."""
    started = time.monotonic()
    seen = state.events
    while True:
        time.sleep(HOT_SLICE)
        waited = time.monotonic() - started
        if state.events - seen >= HOT_PROGRESS or waited >= HOT_WAIT:
            return waited


class _LineTrace:
    """A frame's local trace function: ours, chained to the one a previous tracer returned."""

    __slots__ = ("inner", "owner")

    def __init__(self, owner: ThreadPerturber, inner: Any) -> None:
        self.owner = owner
        self.inner = inner

    def __call__(self, frame: FrameType, event: str, arg: object) -> Any:
        if self.inner is not None:
            self.inner = self.inner(frame, event, arg)
        if event == "line":
            self.owner._decide(frame.f_code.co_filename, frame.f_lineno)
        return self


def claim_tool(name: str) -> int | None:
    """A free ``sys.monitoring`` tool id (ids 0-2 are the debugger, coverage and profiler)."""
    mon: Any = sys.monitoring  # type: ignore[attr-defined]
    for tool in (5, 4, 3):
        if mon.get_tool(tool) is None:
            mon.use_tool_id(tool, name)
            return tool
    return None


def release_tool(tool: int) -> None:
    """Stop a tool's LINE events and free its id; locations it disabled come back to life."""
    mon: Any = sys.monitoring  # type: ignore[attr-defined]
    mon.set_events(tool, 0)
    mon.register_callback(tool, mon.events.LINE, None)
    mon.free_tool_id(tool)
    mon.restart_events()


def short_path(filename: str) -> str:
    """A path relative to the working directory when it is inside it, so reports stay short."""
    try:
        rel = os.path.relpath(filename)
    except ValueError:
        return filename
    return filename if rel.startswith("..") else rel


# -- explore: an async test on the controlled loop ----------------------------------------------


_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


def _explore_call(function: Callable[..., Any], seed: int, notes: list[str]) -> Callable[..., Any]:
    """A sync stand-in for an ``async def`` test: one seeded schedule on the controlled loop."""

    @functools.wraps(function)
    def run(**kwargs: Any) -> None:
        __tracebackhide__ = True
        try:
            from harness.concurrency.explore import UncontrolledOperationError
            from harness.concurrency.explore import random as seeded
            from harness.concurrency.explore.runner import run_one
        except ImportError:
            notes.append("explore unavailable (the harness is not importable here): plain loop")
            return _plain_loop(function, kwargs)
        try:
            record = run_one(
                functools.partial(function, **kwargs),
                seeded(seed).chooser(),
                strategy=seeded(seed),
                check_orphans=False,
            )
        except UncontrolledOperationError as exc:
            # No object addresses: the note must read the same in every run (verify groups them).
            refused = _ADDRESS.sub("", str(exc).split(":")[0])
            notes.append(f"explore refused ({refused}): plain loop")
            if _active is not None:  # count what the plain loop does, not the abandoned run
                _active.awaits = 0
                _active.yields.clear()
            return _plain_loop(function, kwargs)
        notes.append("explore")
        if _active is not None:
            _active.steps = record.steps
        failure = record.failure
        if failure is None:
            return None
        if failure.exception is not None:
            raise failure.exception
        raise AssertionError(f"{failure.kind.value}: {failure.message}\n{failure.detail}")

    return run


def _plain_loop(function: Callable[..., Any], kwargs: dict[str, Any]) -> None:
    import asyncio

    asyncio.run(function(**kwargs))


# -- the pytest plugin --------------------------------------------------------------------------


class Perturbation:
    """The session's perturbation: spec, files, the await finder and the thread perturber."""

    def __init__(self, spec: Spec, root: str) -> None:
        if not spec.files:
            raise SpecError(
                f"{OPTION}={spec.render()!r}: name the files to perturb, with files=a.py,b.py or "
                "--harness-perturb-files"
            )
        self.spec = spec
        self.root = root
        files = Files.resolve(spec.files, root)
        self.match = files.matcher()
        self.seed = spec.seed if spec.seed is not None else random.SystemRandom().randrange(2**31)
        self.finder = _AwaitFinder(self.match)
        self.threads = ThreadPerturber(self.match, hot=files.hot_lines() if files.hot else None)
        #: Perturbed modules imported before the finder was in place: their awaits never yield.
        self.early: list[str] = []

    def spec_from(self, directory: str) -> Spec:
        """The spec with its files relative to `directory` (a replay runs from the rootdir,
        where node ids start, while the files were named from where pytest was started)."""
        entries = []
        for entry in self.spec.files:
            name, at, lines = entry.partition("@")
            path = os.path.realpath(os.path.join(self.root, name))
            entries.append(os.path.relpath(path, os.path.realpath(directory)) + at + lines)
        return replace(self.spec, files=tuple(entries))

    def install_finder(self) -> None:
        sys.meta_path.insert(0, self.finder)
        for name, module in list(sys.modules.items()):
            path = getattr(module, "__file__", None)
            if (
                path
                and self.match(path)
                and not isinstance(getattr(module, "__loader__", None), _AwaitLoader)
            ):
                self.early.append(name)

    def remove_finder(self) -> None:
        if self.finder in sys.meta_path:
            sys.meta_path.remove(self.finder)


_session: Perturbation | None = None


def add_options(parser: pytest.Parser) -> None:
    group = parser.getgroup("harness-perturb", "Fixguard schedule perturbation")
    options: list[tuple[tuple[str, ...], dict[str, Any]]] = [
        (
            (OPTION,),
            {
                "default": None,
                "metavar": "SPEC",
                "help": "perturb thread and await scheduling in the named files: "
                "MODE[:seed=N][:files=a.py,b.py][:p=0.5][:await_p=1.0][:points=3][:horizon=64], "
                f"MODE one of {', '.join(MODES)}",
            },
        ),
        (
            ("--harness-perturb-files",),
            {
                "action": "append",
                "default": [],
                "metavar": "FILES",
                "help": "files or directories to perturb (comma-separated; repeatable)",
            },
        ),
        (
            ("--harness-perturb-rounds", "--count-rounds"),
            {
                "type": int,
                "default": 1,
                "metavar": "N",
                "help": "run each test N times, each round with its own seed (seed, seed+1, ...)",
            },
        ),
    ]
    for names, kwargs in options:
        try:
            group.addoption(*names, **kwargs)
        except ValueError:  # already added: the entry-point plugin and `-p fixguard_perturb`
            pass


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


def _spec_from(options: Any) -> Spec | None:
    text = getattr(options, "harness_perturb", None)
    if not text:
        return None
    spec = Spec.parse(text)
    extra = tuple(
        f
        for group in (getattr(options, "harness_perturb_files", None) or [])
        for f in group.split(",")
        if f
    )
    if extra:
        spec = replace(spec, files=spec.files + extra)
    return None if spec.mode == "off" else spec


def _start(options: Any, root: str) -> None:
    global _session
    if _session is not None:
        return
    try:
        spec = _spec_from(options)
        if spec is None:
            return
        _session = Perturbation(spec, root)
    except SpecError as exc:
        raise pytest.UsageError(str(exc)) from None
    _session.install_finder()


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config, parser: Any, args: Any) -> None:
    # Before any conftest imports the perturbed modules: their awaits must be rewritten.
    _start(early_config.known_args_namespace, str(early_config.invocation_params.dir))


def pytest_configure(config: pytest.Config) -> None:
    _start(config.option, str(config.invocation_params.dir))


def pytest_unconfigure(config: pytest.Config) -> None:
    global _session
    if _session is not None:
        _session.remove_finder()
        _session = None


def pytest_report_header(config: pytest.Config) -> list[str]:
    if _session is None:
        return []
    lines = [
        f"perturbation: {_session.spec.render(_session.seed)} "
        f"(threads: {_session.threads.backend}; rounds: {_rounds(config)})"
    ]
    if _session.early:
        lines.append(
            "perturbation: imported before the plugin, awaits not perturbed: "
            + ", ".join(sorted(_session.early))
        )
    return lines


def _rounds(config: pytest.Config) -> int:
    return max(1, int(config.getoption("harness_perturb_rounds", 1) or 1))


@pytest.hookimpl(trylast=True)
def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # Last, so the round is the id's last part (``test[2-round1]``), which the replay line drops.
    rounds = _rounds(metafunc.config)
    if _session is None or rounds < 2:
        return
    metafunc.fixturenames.append(_ROUND_FIXTURE)
    metafunc.parametrize(
        _ROUND_FIXTURE, range(rounds), indirect=True, ids=[f"round{r + 1}" for r in range(rounds)]
    )


@pytest.fixture
def _harness_perturb_round(request: pytest.FixtureRequest) -> int:
    return int(getattr(request, "param", 0))


#: The round's part of a test id: all of it, its last part, else (another plugin parametrised
#: after ours) its first part.
_ROUND_ID = (
    re.compile(r"\[round\d+\]$"),
    re.compile(r"-round\d+(?=\]$)"),
    re.compile(r"(?<=\[)round\d+-(?=.*\]$)"),
)


def _test_seed(item: pytest.Item) -> int:
    assert _session is not None
    callspec = getattr(item, "callspec", None)
    offset = int(callspec.params.get(_ROUND_FIXTURE, 0)) if callspec is not None else 0
    return _session.seed + offset


def replay_command(nodeid: str, spec: Spec, seed: int) -> str:
    """The command, run from the rootdir, that reruns one test with one seed's perturbation."""
    plain = nodeid
    for pattern in _ROUND_ID:
        plain, found = pattern.subn("", nodeid, count=1)
        if found:
            break
    return f"python -m pytest {shlex.quote(plain)} {OPTION}={shlex.quote(spec.render(seed))}"


def _is_async_test(item: pytest.Item) -> bool:
    function = getattr(item, "obj", None)
    return function is not None and inspect.iscoroutinefunction(inspect.unwrap(function))


def _async_fixtures(item: pytest.Function) -> list[str]:
    """The async fixtures `item` uses: an async plugin sets them up on its own loop."""
    info = getattr(item, "_fixtureinfo", None)
    names = []
    for name, defs in (getattr(info, "name2fixturedefs", None) or {}).items():
        func = inspect.unwrap(defs[-1].func) if defs else None
        if inspect.iscoroutinefunction(func) or inspect.isasyncgenfunction(func):
            names.append(name)
    return sorted(names)


_NOTES = pytest.StashKey[list[str]]()
_STATE = pytest.StashKey[Active]()


@pytest.hookimpl(hookwrapper=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> Iterator[None]:
    """Put an async test on the controlled loop (before any async plugin sees it)."""
    state = _active
    if (
        state is None
        or state.spec.mode not in ("explore", "auto")
        or not _is_async_test(pyfuncitem)
    ):
        yield
        return
    if "anyio_backend" in pyfuncitem.funcargs and str(pyfuncitem.funcargs["anyio_backend"]) not in (
        "asyncio",
        "('asyncio', {})",
    ):
        yield  # a trio run: the explorer drives asyncio only
        return
    notes: list[str] = []
    pyfuncitem.stash[_NOTES] = notes
    shared = _async_fixtures(pyfuncitem)
    if shared:
        # Their values (futures, queues, clients) belong to the async plugin's loop: on another
        # loop the test would fail on the buggy and the fixed code alike.
        notes.append(f"explore skipped (async fixtures {', '.join(shared)}): the test's own loop")
        yield
        return
    original = pyfuncitem.obj
    pyfuncitem.obj = _explore_call(inspect.unwrap(original), state.seed, notes)
    try:
        yield
    finally:
        pyfuncitem.obj = original


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    global _active
    session = _session
    if session is None:
        yield
        return
    seed = _test_seed(item)
    mode = session.spec.mode
    explore = mode in ("explore", "auto") and _is_async_test(item)
    threads = "" if explore else ("pct" if mode == "pct" else "preempt")
    state = Active(session.spec, seed, threads)
    _active = state
    if threads:
        session.threads.start(state)
    try:
        yield
    finally:
        if threads:
            session.threads.stop()
        _active = None
        item.stash[_STATE] = state


def _describe(item: pytest.Item, state: Active) -> str:
    """`seed=N: MODES — COUNTS`: which modes ran (the same in every run of a test), then what
    they did this time."""
    assert _session is not None
    ran: list[str] = []
    if state.threads:
        ran.append(f"{state.threads} ({_session.threads.backend})")
    notes: list[str] = item.stash.get(_NOTES, [])
    ran.extend(notes)
    if state.awaits or not ran:
        ran.append("await points")
    counts = f"{len(state.yields)} forced switches, {state.awaits} awaits"
    if state.steps:
        counts += f", {state.steps} explored steps"
    return f"seed={state.seed}: " + "; ".join(ran) + f" — {counts}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, Any, None]:
    outcome = yield
    if _session is None or call.when != "call" or _STATE not in item.stash:
        return
    report = outcome.get_result()
    state = item.stash[_STATE]
    text = _describe(item, state)
    replay = replay_command(item.nodeid, _session.spec_from(str(item.config.rootpath)), state.seed)
    if report.failed:
        tail = "\n".join(f"  {y}" for y in state.yields[-10:])
        report.sections.append(
            ("harness perturbation", f"{text}\nreplay: {replay}\nlast switches:\n{tail}")
        )
    else:
        report.sections.append(("harness perturbation", text))
    _record(
        {
            "event": "perturb",
            "nodeid": item.nodeid,
            "ran": text,
            "seed": state.seed,
            "outcome": report.outcome,
            "replay": replay,
        }
    )


def _record(record: dict[str, object]) -> None:
    out = os.environ.get("FIXGUARD_OUTCOMES_OUT")
    if not out:
        return
    with open(out, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(record) + "\n")

"""Line-level preemption: seeded GIL hand-offs at line events inside the target's own files.

A start gate alone rarely opens a race window that is a few bytecodes wide, because nothing
between the check and the act releases the GIL. Here every worker thread traces line events, but
only in code whose file belongs to the target; at chosen events it calls ``time.sleep(0)`` (random
mode) or pauses briefly (PCT-like mode), so another thread runs in between.

Decisions are per worker and seeded by ``(attempt seed, worker index)``, so a printed seed replays
the same yield decisions. On Python 3.12+ ``sys.monitoring`` is used when available (locations
outside the target are disabled after their first event, which makes them free); on 3.11
``sys.settrace`` is installed per worker thread, and frames outside the target get no local trace.
"""

from __future__ import annotations

import importlib.util
import inspect
import os
import random
import sys
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from types import FrameType
from typing import Any

from ..errors import UserError
from ..perturb_plugin import claim_tool, release_tool, short_path

_TOOL_NAME = "fixguard-preempt"


@dataclass(frozen=True)
class TargetFiles:
    """Which source files count as the target's: exact files plus package directories."""

    files: frozenset[str]
    dirs: tuple[str, ...] = ()

    @classmethod
    def resolve(cls, specs: Iterable[Any]) -> TargetFiles:
        """Accept module names, file paths, package directories, or objects (their defining file)."""
        files: set[str] = set()
        dirs: list[str] = []
        for spec in specs:
            if isinstance(spec, os.PathLike) or (isinstance(spec, str) and spec.endswith(".py")):
                path = os.path.realpath(os.fspath(spec))
                if not os.path.isfile(path):
                    raise UserError(f"preempt.targets={spec!r}: no such file")
                files.add(path)
            elif isinstance(spec, str) and os.path.isdir(spec):
                dirs.append(os.path.realpath(spec) + os.sep)
            elif isinstance(spec, str):
                try:
                    found = importlib.util.find_spec(spec)
                except (ImportError, ValueError):
                    found = None
                if found is None or found.origin is None:
                    raise UserError(
                        f"preempt.targets={spec!r}: not an importable module, a .py file or a "
                        "directory (write 'shopapp.tickets' or 'shopapp/tickets.py')"
                    )
                if found.submodule_search_locations:
                    dirs.extend(
                        os.path.realpath(d) + os.sep for d in found.submodule_search_locations
                    )
                else:
                    files.add(os.path.realpath(found.origin))
            else:
                obj: Any = spec if inspect.isclass(spec) or inspect.isroutine(spec) else type(spec)
                if inspect.ismethod(obj):
                    obj = obj.__func__
                try:
                    files.add(os.path.realpath(inspect.getfile(obj)))
                except TypeError:
                    raise UserError(
                        f"preempt.targets={spec!r}: has no source file (name a module or a file)"
                    ) from None
        if not files and not dirs:
            raise UserError("preempt.targets=[]: name at least one module, file or object")
        return cls(frozenset(files), tuple(dirs))

    def matcher(self) -> _Matcher:
        return _Matcher(self)


class _Matcher:
    """A memoised ``co_filename -> bool``; the hot path of the tracer."""

    def __init__(self, targets: TargetFiles):
        self._targets = targets
        self._memo: dict[str, bool] = {}

    def __call__(self, filename: str) -> bool:
        hit = self._memo.get(filename)
        if hit is None:
            real = os.path.realpath(filename)
            hit = real in self._targets.files or real.startswith(self._targets.dirs)
            self._memo[filename] = hit
        return hit


@dataclass(frozen=True)
class Preemption:
    """How to perturb one round. ``points=0`` is random mode; ``points>0`` is PCT-like mode."""

    targets: TargetFiles
    #: Random mode: the chance of a forced ``sleep(0)`` at each line event in the target.
    probability: float = 0.5
    #: PCT-like mode: how many yield points to pick per round (0 = random mode).
    points: int = 0
    #: PCT-like mode: how long a worker pauses at a chosen point, so the others overtake it.
    pause: float = 0.001
    #: Use ``sys.monitoring`` on 3.12+ (falls back to ``sys.settrace`` where it does not exist).
    use_monitoring: bool = True

    def __post_init__(self) -> None:
        if not 0.0 <= self.probability <= 1.0:
            raise UserError(f"preempt.probability={self.probability!r}: must be in [0, 1]")
        if self.points < 0:
            raise UserError(f"preempt.points={self.points!r}: must be >= 0")


def monitoring_available() -> bool:
    return hasattr(sys, "monitoring")


class Round:
    """The preemption state of one attempt: install per worker, then read the yield points."""

    def __init__(self, config: Preemption, seed: int, workers: int, plan_lengths: dict[int, int]):
        self.config = config
        self.seed = seed
        self._match = config.targets.matcher()
        self._local = threading.local()
        #: (worker index, "file:line") in the order the yields happened (list.append is atomic).
        self.yields: list[tuple[int, str]] = []
        #: Line events seen per worker, used to place PCT points in later rounds.
        self.lengths: dict[int, int] = {}
        self._plan: dict[int, set[int]] = {}
        if config.points and plan_lengths:
            rng = random.Random(f"pct:{seed}")
            candidates = sorted(plan_lengths)
            for _ in range(config.points):
                worker = rng.choice(candidates)
                length = max(1, plan_lengths[worker])
                self._plan.setdefault(worker, set()).add(rng.randrange(1, length + 1))
        self._monitoring = config.use_monitoring and monitoring_available()
        self._tool: int | None = None

    # -- per-run (global) set-up, only needed for sys.monitoring --------------------------------
    def __enter__(self) -> Round:
        if self._monitoring:
            self._tool = claim_tool(_TOOL_NAME)
            if self._tool is None:
                self._monitoring = False
            else:
                mon: Any = sys.monitoring  # type: ignore[attr-defined]
                mon.register_callback(self._tool, mon.events.LINE, self._on_monitor_line)
                mon.set_events(self._tool, mon.events.LINE)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._tool is not None:
            release_tool(self._tool)
            self._tool = None

    @property
    def backend(self) -> str:
        return "sys.monitoring" if self._monitoring else "sys.settrace"

    # -- per worker thread ----------------------------------------------------------------------
    def install(self, index: int) -> None:
        """Call in the worker thread before the start gate."""
        loc = self._local
        loc.index = index
        loc.count = 0
        loc.rng = random.Random(f"{self.seed}:{index}")
        loc.points = self._plan.get(index, set())
        if not self._monitoring:
            sys.settrace(self._on_call)

    def uninstall(self) -> None:
        if not self._monitoring:
            sys.settrace(None)
        loc = self._local
        if hasattr(loc, "index"):
            self.lengths[loc.index] = loc.count
            del loc.index

    def yield_points(self) -> tuple[str, ...]:
        return tuple(f"w{index} {where}" for index, where in self.yields)

    # -- the hot path ---------------------------------------------------------------------------
    def _decide(self, filename: str, lineno: int) -> None:
        loc = self._local
        loc.count += 1
        if self.config.points:
            if loc.count in loc.points:
                self.yields.append((loc.index, f"{short_path(filename)}:{lineno}"))
                time.sleep(self.config.pause)
        elif loc.rng.random() < self.config.probability:
            self.yields.append((loc.index, f"{short_path(filename)}:{lineno}"))
            time.sleep(0)

    def _on_call(self, frame: FrameType, event: str, arg: object) -> Any:
        if event == "call" and self._match(frame.f_code.co_filename):
            return self._on_line
        return None

    def _on_line(self, frame: FrameType, event: str, arg: object) -> Any:
        if event == "line":
            self._decide(frame.f_code.co_filename, frame.f_lineno)
        return self._on_line

    def _on_monitor_line(self, code: Any, lineno: int) -> Any:
        if not self._match(code.co_filename):
            return sys.monitoring.DISABLE  # type: ignore[attr-defined]
        if getattr(self._local, "index", None) is None:
            return None
        self._decide(code.co_filename, lineno)
        return None

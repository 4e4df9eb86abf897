"""Collect ResourceWarnings and unraisable exceptions, including those raised during GC.

``-W error::ResourceWarning`` alone misses most leaks: an unclosed file or socket warns from its
finaliser, where an exception cannot propagate, so CPython hands it to ``sys.unraisablehook``
(and pytest may only print it). Inside `collect_problems()` every ResourceWarning is recorded
(filter ``always``), the unraisable hook records instead of printing, tracemalloc remembers
where each object was allocated, and a final ``gc.collect()`` runs pending finalisers *inside*
the window, so a leak released only by the cycle collector is still seen.
"""

from __future__ import annotations

import functools
import gc
import linecache
import re
import sys
import sysconfig
import tracemalloc
import warnings
from collections import Counter as Tally
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: Frames from these folders are not "where it was opened"; the first frame outside them is.
_PATHS = sysconfig.get_paths()
_LIBRARY_DIRS = (
    *sorted({str(Path(_PATHS[k]).resolve()) for k in ("stdlib", "purelib", "platlib")}),
    str(Path(__file__).resolve().parents[1]),  # the harness itself
    str(Path(__file__).resolve().parents[2] / "scenarios"),  # and the checks that drive it
)
_ADDRESS_RE = re.compile(r"0x[0-9a-f]+|fd=\d+|laddr=\([^)]*\)|raddr=\([^)]*\)")


@dataclass(frozen=True)
class Problem:
    """One ResourceWarning or unraisable exception, with where the object was allocated."""

    kind: str  # "ResourceWarning" or "unraisable"
    message: str
    allocated_at: str = ""

    @property
    def shape(self) -> str:
        """The message with addresses, fds and ports blanked, to group repeats."""
        return _ADDRESS_RE.sub("…", self.message)

    def __str__(self) -> str:
        where = f" (allocated at {self.allocated_at})" if self.allocated_at else ""
        return f"{self.kind}: {self.message}{where}"


@dataclass
class Problems:
    """What one `collect_problems()` window saw."""

    items: list[Problem] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.items)

    def __bool__(self) -> bool:
        return bool(self.items)

    def summary(self, limit: int = 6) -> list[str]:
        """One line per distinct problem shape, most frequent first, with its count."""
        tally = Tally(p.shape for p in self.items)
        first: dict[str, Problem] = {}
        for p in self.items:
            first.setdefault(p.shape, p)
        lines = [f"{n}× {first[shape]}" for shape, n in tally.most_common(limit)]
        if len(tally) > limit:
            lines.append(f"... and {len(tally) - limit} more kinds")
        return lines


@functools.lru_cache(maxsize=4096)
def is_library_file(filename: str) -> bool:
    """True for the stdlib, installed packages and the harness: not the code under test."""
    if filename.startswith("<"):  # <frozen importlib...>, <string>
        return True
    return str(Path(filename).resolve()).startswith(_LIBRARY_DIRS)


def _user_frame(obj: Any) -> str:
    """`file:line: source` of the innermost allocation frame outside the stdlib and libraries."""
    if obj is None or not tracemalloc.is_tracing():
        return ""
    try:
        tb = tracemalloc.get_object_traceback(obj)
    except Exception:  # some objects cannot be looked up once half-finalised
        return ""
    if tb is None or not len(tb):
        return ""
    frames = list(tb)  # oldest first, innermost last
    chosen = frames[-1]
    for frame in frames:
        if not is_library_file(frame.filename):
            chosen = frame
    line = linecache.getline(chosen.filename, chosen.lineno).strip()
    return f"{chosen.filename}:{chosen.lineno}" + (f": {line}" if line else "")


@contextmanager
def collect_problems(trace_frames: int = 8) -> Iterator[Problems]:
    """Record ResourceWarnings and unraisable exceptions raised inside the block (and by the
    garbage collected at its end). Other warnings are shown as usual afterwards.

    With `trace_frames` > 0, tracemalloc runs during the block so that each warning names
    where its object was allocated (it slows allocation-heavy code down; 0 turns it off).

    Not thread-safe: warnings filters and the unraisable hook are process-global.
    """
    problems = Problems()
    started_tracing = trace_frames > 0 and not tracemalloc.is_tracing()
    if started_tracing:
        tracemalloc.start(trace_frames)
    old_hook = sys.unraisablehook

    def hook(args: Any) -> None:
        exc = args.exc_value
        where = f" in {args.object!r}" if args.object is not None else ""
        text = f"{type(exc).__name__}: {exc}{where}" if exc is not None else repr(args)
        problems.items.append(Problem("unraisable", text, ""))

    others: list[warnings.WarningMessage] = []
    try:
        with warnings.catch_warnings(record=True) as log:
            warnings.simplefilter("always", ResourceWarning)
            sys.unraisablehook = hook
            try:
                yield problems
            finally:
                gc.collect()
                gc.collect()
                sys.unraisablehook = old_hook
            for message in log:
                if issubclass(message.category, ResourceWarning):
                    problems.items.append(
                        Problem(
                            "ResourceWarning", str(message.message), _user_frame(message.source)
                        )
                    )
                else:
                    others.append(message)
    finally:
        sys.unraisablehook = old_hook
        if started_tracing:
            tracemalloc.stop()
    for message in others:
        warnings.showwarning(
            message.message,
            message.category,
            message.filename,
            message.lineno,
            message.file,
            message.line,
        )


__all__ = ["Problem", "Problems", "collect_problems", "is_library_file"]

"""Path traversal payloads: each family spells the same route out of a base directory its own way."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath

from hypothesis import strategies as st


@dataclass(frozen=True)
class TraversalPayload:
    """One traversal attempt: the exact `text` to send, its `family`, and the file it aims at."""

    text: str
    family: str
    goal: str = ""

    def __repr__(self) -> str:
        return f"TraversalPayload({self.text!r}, family={self.family!r})"

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class _Route:
    """How to reach a goal from the base: climb `ups` levels, then walk down `down`."""

    ups: int
    down: tuple[str, ...]
    absolute: str

    def join(self, up: str, sep: str) -> str:
        return up * self.ups + sep.join(self.down)


def _windows(path: str) -> str:
    return path.replace("/", "\\")


def _mixed(r: _Route) -> str:
    seps = ("/", "\\")
    parts = [".." + seps[i % 2] for i in range(r.ups)]
    tail = "".join(name + seps[(r.ups + i) % 2] for i, name in enumerate(r.down))
    return "".join(parts) + tail[:-1]


_BUILDERS: dict[str, Callable[[_Route], str]] = {
    "dotdot": lambda r: r.join("../", "/"),
    "backslash": lambda r: r.join("..\\", "\\"),
    "mixed-separators": _mixed,
    "percent-encoded": lambda r: r.join("%2e%2e%2f", "%2f"),
    "encoded-dots": lambda r: r.join("%2e%2e/", "/"),
    "encoded-backslash": lambda r: r.join("..%5c", "%5c"),
    "double-encoded": lambda r: r.join("%252e%252e%252f", "%252f"),
    "overlong-utf8": lambda r: r.join("%c0%ae%c0%ae/", "/"),
    "overlong-utf8-slash": lambda r: r.join("%c0%ae%c0%ae%c0%af", "%c0%af"),
    "null-byte": lambda r: r.join("../", "/") + "\x00.txt",
    "nested-dotdot": lambda r: r.join("....//", "/"),
    "dot-slash-dotdot": lambda r: r.join("..././", "/"),
    "semicolon": lambda r: r.join("..;/", "/"),
    "absolute-posix": lambda r: r.absolute,
    "leading-slashes": lambda r: "////" + r.absolute.lstrip("/"),
    "windows-drive": lambda r: "C:" + _windows(r.absolute),
    "windows-drive-slash": lambda r: "C:/" + r.absolute.lstrip("/"),
    "unc": lambda r: "\\\\127.0.0.1\\c$" + _windows(r.absolute),
    "unc-slashes": lambda r: "//127.0.0.1/c$" + r.absolute,
}

#: Every family name, in the order Hypothesis shrinks towards (plain `../` first).
TRAVERSAL_FAMILIES: tuple[str, ...] = tuple(_BUILDERS)

#: Harmless-looking lead-ins a payload may start with; shrinks to none.
_PREFIXES = ("", "./", "a/../", "./a/../")


def _route(goal: str, base: str | None, extra: int) -> _Route:
    """The route to `goal` from `base`, climbing `extra` more levels than needed and back down."""
    if base is None:
        rel = PurePosixPath(goal.lstrip("/"))
        return _Route(ups=1 + extra, down=rel.parts, absolute="/" + str(rel))
    base_path = PurePosixPath(os.path.normpath(base))
    goal_path = PurePosixPath(os.path.normpath(goal))
    parts = PurePosixPath(os.path.relpath(goal_path, base_path)).parts
    ups = sum(1 for p in parts if p == "..")
    down = tuple(p for p in parts if p != "..")
    # Climbing past the common ancestor and walking back down through its real names reaches
    # the same file by a longer route; stop at the root.
    ancestor = base_path
    for _ in range(ups):
        ancestor = ancestor.parent
    names: list[str] = []
    for _ in range(extra):
        if ancestor == ancestor.parent:
            break
        names.insert(0, ancestor.name)
        ancestor = ancestor.parent
    return _Route(ups=ups + len(names), down=(*names, *down), absolute=str(goal_path))


def _check(goals: Sequence[str], families: Sequence[str], base: str | None) -> None:
    if isinstance(goals, str) or not goals:
        raise TypeError(
            f"goals={goals!r}: expected a non-empty sequence of paths, "
            "such as goals=('/srv/canary.txt',)"
        )
    unknown = [f for f in families if f not in _BUILDERS]
    if unknown or not families:
        raise TypeError(
            f"families={tuple(families)!r}: unknown {unknown!r}; use names from "
            f"TRAVERSAL_FAMILIES, such as ('dotdot', 'percent-encoded')"
        )
    if base is not None and not base.startswith("/"):
        raise TypeError(f"base={base!r}: must be an absolute POSIX path, such as '/srv/exports'")
    if base is not None and any(not g.startswith("/") for g in goals):
        raise TypeError(f"goals={tuple(goals)!r}: with a base, every goal must be absolute")


def make_payload(
    goal: str, family: str, *, base: str | None = None, extra: int = 0, prefix: str = ""
) -> TraversalPayload:
    """The payload of `family` that reaches `goal` from `base`."""
    _check((goal,), (family,), base)
    route = _route(goal, base, extra)
    text = _BUILDERS[family](route)
    if prefix and not family.startswith(("absolute", "leading", "windows", "unc")):
        text = prefix + text
    return TraversalPayload(text, family, goal)


def traversal_corpus(
    goals: Sequence[str],
    *,
    base: str | None = None,
    families: Sequence[str] = TRAVERSAL_FAMILIES,
) -> tuple[TraversalPayload, ...]:
    """The shortest payload of every family for every goal: a fixed corpus to try first."""
    _check(goals, families, base)
    seen: dict[str, TraversalPayload] = {}
    for goal in goals:
        for family in families:
            payload = make_payload(goal, family, base=base)
            seen.setdefault(payload.text, payload)
    return tuple(seen.values())


@st.composite
def traversal_payloads(
    draw: st.DrawFn,
    goals: Sequence[str] = ("/etc/passwd",),
    *,
    base: str | None = None,
    families: Sequence[str] = TRAVERSAL_FAMILIES,
    max_extra: int = 3,
) -> TraversalPayload:
    """Payloads that try to reach one of `goals` (absolute paths) from `base`.

    Without `base`, a goal is reached by climbing ``1 + extra`` levels from anywhere (the root
    absorbs extra ``..``). Hypothesis shrinks towards the first goal, the first family
    (``dotdot``), no extra levels and no lead-in.
    """
    _check(goals, families, base)
    goal = draw(st.sampled_from(tuple(goals)))
    family = draw(st.sampled_from(tuple(families)))
    extra = draw(st.integers(min_value=0, max_value=max_extra))
    prefix = draw(st.sampled_from(_PREFIXES))
    return make_payload(goal, family, base=base, extra=extra, prefix=prefix)

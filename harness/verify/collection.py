"""Collect the claims' node ids on the head once, before any run: a missing one is a UserError.

Without this, a misspelt node id or a SyntaxError in the head's test file surfaces only as a
`not_collected` run inside a verdict. pytest does the matching itself
(`pytest --collect-only <ids>` reports every argument it cannot find), so node ids are never
compared by hand; the harness only maps pytest's complaint back to the claim that named it.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..claims.model import Claim, RunSettings
from ..errors import UserError
from ..paths import bytecode_env
from .preflight import Places

_NOT_FOUND = re.compile(
    r"^ERROR: (?:not found: |file or directory not found: |found no collectors for )(?P<arg>\S.*?)\s*$"
)
_COLLECTING = re.compile(r"^_+ ERROR collecting (?P<path>\S+) _+$")
_EXCEPTION = re.compile(r"^E\s+(?P<line>[A-Za-z_][\w.]*(?:Error|Exception|Exit|Warning)\b.*)$")
_FILE_LINE = re.compile(r'^E\s+File "(?P<file>[^"]+)", line (?P<line>\d+)')
_NO_PYTEST = "No module named pytest"


@dataclass(frozen=True)
class Collectable:
    """One claim whose own tests (not a generated scenario test) must exist on the head."""

    claim: Claim
    python: str
    settings: RunSettings


def check_node_ids(
    head: Path, items: Sequence[Collectable], places: Places, *, revision: str = "the head"
) -> None:
    """Run one `pytest --collect-only` per interpreter and settings; raise the first problem."""
    groups: dict[tuple[str, tuple[tuple[str, str], ...], tuple[str, ...]], list[Collectable]] = {}
    for item in items:
        if item.claim.scenario or not item.claim.tests:
            continue
        env = tuple(sorted((item.settings.env or {}).items()))
        groups.setdefault((item.python, env, tuple(item.settings.pytest_args or ())), []).append(
            item
        )
    for (python, env, args), members in groups.items():
        nodeids = list(dict.fromkeys(t for m in members for t in m.claim.tests))
        timeout = max((m.settings.timeout or 120.0) for m in members)
        code, output = _collect(head, python, nodeids, args, dict(env), timeout)
        if code == 0:
            continue
        raise _problem(head, members, places, code, output, revision, python)


def _collect(
    cwd: Path,
    python: str,
    nodeids: Sequence[str],
    pytest_args: Sequence[str],
    env: dict[str, str],
    timeout: float,
) -> tuple[int | None, str]:
    """(exit code or None on timeout, stdout+stderr) of `pytest --collect-only` in `cwd`."""
    command = [python, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"]
    run_env = {**os.environ, **bytecode_env(), **env}
    try:
        proc = subprocess.run(
            [*command, *nodeids, *pytest_args],
            cwd=cwd,
            env=run_env,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        return None, ""
    return proc.returncode, f"{proc.stdout}\n{proc.stderr}"


def _problem(
    head: Path,
    members: Sequence[Collectable],
    places: Places,
    code: int | None,
    output: str,
    revision: str,
    python: str,
) -> UserError:
    lines = output.splitlines()
    first = members[0]
    if code is None:
        timeout = max((m.settings.timeout or 120.0) for m in members)
        return _tests_error(
            first,
            first.claim.tests[0],
            places,
            f"`pytest --collect-only` on {revision} did not finish within {timeout:g}s",
        )
    if _NO_PYTEST in output:
        label, where = places.python_field(first.claim, None)
        return UserError(
            f"{label}={python!r}: cannot import pytest",
            where=where,
            hint="install pytest there, or use `setup =`",
        )
    for line in lines:
        found = _NOT_FOUND.match(line)
        if found:
            arg = _relative(found["arg"], head)
            member, nodeid = _owner(members, arg)
            broken = _collection_error(lines, head)
            reason = (
                f"cannot be collected on {revision}: {broken}"
                if broken
                else f"not found on {revision}"
            )
            return _tests_error(member, nodeid, places, reason)
    broken = _collection_error(lines, head)
    if broken:
        errored = next((m["path"] for line in lines if (m := _COLLECTING.match(line))), "")
        member, nodeid = _owner(members, errored)
        return _tests_error(member, nodeid, places, f"cannot be collected on {revision}: {broken}")
    if code == 5:
        return _tests_error(
            first, first.claim.tests[0], places, f"no tests collected on {revision}"
        )
    said = next((line.strip() for line in lines if line.startswith("ERROR")), "") or _last(lines)
    return _tests_error(
        first,
        first.claim.tests[0],
        places,
        f"`pytest --collect-only` on {revision} exited {code}: {said}",
    )


def _tests_error(member: Collectable, nodeid: str, places: Places, reason: str) -> UserError:
    label, where = places.tests_field(member.claim)
    if not places.adhoc and nodeid in member.claim.tests:
        label += f"[{member.claim.tests.index(nodeid)}]"
    hint = "`pytest --collect-only -q FILE` lists the node ids" if "not found" in reason else None
    return UserError(f"{label}={nodeid!r}: {reason}", where=where, hint=hint)


def _collection_error(lines: Sequence[str], head: Path) -> str:
    """`tests/test_x.py:3: SyntaxError: invalid syntax`: pytest's first collection error."""
    inside = False
    at = ""
    for line in lines:
        header = _COLLECTING.match(line)
        if header:
            inside, at = True, header["path"]
            continue
        if not inside:
            continue
        located = _FILE_LINE.match(line)
        if located:
            at = f"{_relative(located['file'], head)}:{located['line']}"
        exception = _EXCEPTION.match(line)
        if exception:
            return f"{at}: {exception['line'].strip()}" if at else exception["line"].strip()
    return ""


def _owner(members: Sequence[Collectable], arg: str) -> tuple[Collectable, str]:
    """The claim and node id pytest complained about: the same id, else one in that file."""
    wanted = _normal(arg)
    path = wanted.split("::", 1)[0]
    for exact in (True, False):
        for member in members:
            for nodeid in member.claim.tests:
                mine = _normal(nodeid)
                mine_path = mine.split("::", 1)[0]
                if (mine == wanted) if exact else _same_file(mine_path, path):
                    return member, nodeid
    return members[0], members[0].claim.tests[0]


def _same_file(mine: str, reported: str) -> bool:
    # A claim naming a folder owns the files in it; a conftest.py breaks the tests below it.
    if mine == reported or reported.startswith(mine.rstrip("/") + "/"):
        return True
    folder = os.path.dirname(reported)
    return reported.endswith("conftest.py") and (not folder or mine.startswith(folder + "/"))


def _normal(nodeid: str) -> str:
    path, sep, rest = nodeid.partition("::")
    return os.path.normpath(path) + sep + rest


def _relative(arg: str, head: Path) -> str:
    """pytest prints absolute paths inside the worktree; claims name them from the repo root."""
    path, sep, rest = arg.partition("::")
    if os.path.isabs(path):
        for root in (head.absolute(), head.resolve()):  # pytest may print either spelling
            relative = os.path.relpath(path, root)
            if not relative.startswith(".."):
                return relative + sep + rest
    return path + sep + rest


def _last(lines: Sequence[str]) -> str:
    return next((line.strip() for line in reversed(lines) if line.strip()), "no output")

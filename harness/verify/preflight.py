"""Pre-flight: every claim's inputs are checked before the first test run starts.

A typo must never become a verdict. An unknown scenario, a binding of the wrong type, a bad
target or an interpreter that does not run would otherwise fail inside the generated test on
the base *and* the head, and read as a reproduction followed by STILL_FAILING. Each problem is
one `UserError` (exit 2) naming the manifest's file:line and the field. `harness verify` (and
`gate`) stop at the first; `harness claims list` shows one per claim.
"""

from __future__ import annotations

import difflib
import re
import subprocess
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from ..claims.load import locate
from ..claims.model import Claim, Manifest, RunSettings
from ..errors import UserError
from ..scenario import known, resolve
from ..targets.spec import TargetSpec

#: Seconds an interpreter may take to start and run `import sys` before it counts as broken.
PYTHON_TIMEOUT = 20.0
_PYTHON_PROBE = "import sys; sys.stdout.write('fixguard-ok')"
_HEADER = re.compile(r"^\s*\[\[?\s*([^\[\]#]+?)\s*\]\]?\s*(?:#.*)?$")
_KEY = re.compile(r"[^.\[\]]+")


@dataclass(frozen=True)
class Places:
    """Names a claim's fields as the user wrote them: `file:line` and `claims[i](id).field`.

    An ad hoc claim (`--tests`, no manifest file) is named by its command-line option.
    """

    manifest: Manifest
    text: str = ""
    section: Any = None
    prefix: str = ""

    @classmethod
    def of(cls, manifest: Manifest) -> Places:
        path = manifest.path
        if path is None or not path.is_file():
            return cls(manifest)
        text = path.read_text(encoding="utf-8", errors="replace")
        try:
            data = tomllib.loads(text)
        except ValueError:  # pragma: no cover - it was just loaded from this text
            return cls(manifest)
        if path.name == "pyproject.toml":
            return cls(manifest, text, data.get("tool", {}).get("harness", {}), "tool.harness.")
        return cls(manifest, text, data, "")

    @property
    def adhoc(self) -> bool:
        return self.manifest.path is None

    def label(self, claim: Claim) -> str:
        """`claims[0](race-1)`: the index in the manifest and the id."""
        index = self._index(claim)
        return f"claims[{index}]({claim.id})"

    def where(self, loc: Sequence[int | str]) -> str | None:
        """`harness.toml:14` for the value at `loc`, searched inside its own table."""
        path = self.manifest.path
        if path is None:
            return None
        if not self.text:
            return str(path)
        text, loc = self._window(tuple(loc))
        line = locate(text, loc, self.section, self.prefix)
        return f"{path}:{line}" if line else str(path)

    def claim_field(self, claim: Claim, *keys: int | str) -> tuple[str, str | None]:
        """(`claims[0](id).binding.conflict`, `harness.toml:14`) for one field of `claim`."""
        label = self.label(claim) + "".join(
            f"[{k}]" if isinstance(k, int) else f".{k}" for k in keys
        )
        return label, self.where(("claims", self._index(claim), *keys))

    def tests_field(self, claim: Claim) -> tuple[str, str | None]:
        if self.adhoc:
            return "--tests", None
        return self.claim_field(claim, "tests")

    def python_field(self, claim: Claim, overrides: RunSettings | None) -> tuple[str, str | None]:
        """Where the interpreter a claim runs with was set: --python, [claims.run] or [run]."""
        overridden = overrides is not None and bool(overrides.python)
        if not overridden and claim.run is not None and claim.run.python:
            return self.claim_field(claim, "run", "python")
        return self.run_python_field(overrides)

    def run_python_field(self, overrides: RunSettings | None) -> tuple[str, str | None]:
        """Where the interpreter outside any claim was set (the gate's changed-line mutation):
        --python, else [run]."""
        if overrides is not None and overrides.python:
            return "--python", None
        if self.manifest.run.python:
            return "run.python", self.where(("run", "python"))
        return "--python", None

    def _index(self, claim: Claim) -> int:
        for index, candidate in enumerate(self.manifest.claims):
            if candidate.id == claim.id:
                return index
        return 0

    def _window(self, loc: tuple[int | str, ...]) -> tuple[str, tuple[int | str, ...]]:
        """Blank every line outside the table `loc` points into, so that `locate` cannot find
        a key of the same name in another claim or target. Line numbers stay the same."""
        lines = self.text.splitlines()
        if len(loc) >= 2 and loc[0] == "claims" and isinstance(loc[1], int):
            table, nth, rest = f"{self.prefix}claims", loc[1], loc[2:]
            local: tuple[int | str, ...] = ("claims", 0, *rest)  # the only [[claims]] left
        elif len(loc) >= 2 and loc[0] == "targets":
            table, nth, local = f"{self.prefix}targets.{loc[1]}", 0, loc
        else:
            return self.text, loc
        headers = [
            (n, m.group(1).replace(" ", ""))
            for n, line in enumerate(lines)
            if (m := _HEADER.match(line))
        ]
        starts = [n for n, name in headers if name == table]
        if nth >= len(starts):
            return self.text, loc  # written inline (`claims = [...]`): search the whole file
        start = starts[nth]
        end = next(
            (n for n, name in headers if n > start and not name.startswith(table + ".")), len(lines)
        )
        kept = ["" if not start <= n < end else line for n, line in enumerate(lines)]
        return "\n".join(kept), local


def check_claim(
    claim: Claim,
    places: Places,
    *,
    overrides: RunSettings | None = None,
    python: str | None = None,
    default_python: str,
) -> None:
    """Raise the first UserError among `claim`'s scenario, binding, target and interpreter."""
    manifest = places.manifest
    if claim.scenario:
        check_scenario(claim, places)
    if claim.target is not None:
        check_target(claim, places)
    settings = manifest.settings_for(claim, overrides)
    interpreter = settings.python or python or default_python
    label, where = places.python_field(claim, overrides)
    check_python(interpreter, label=label, where=where)


def check_claims(
    claims: Iterable[Claim],
    places: Places,
    *,
    overrides: RunSettings | None = None,
    python: str | None = None,
    default_python: str,
) -> None:
    """`check_claim` for each claim, in manifest order: the first problem is raised."""
    for claim in claims:
        check_claim(
            claim, places, overrides=overrides, python=python, default_python=default_python
        )


def check_scenario(claim: Claim, places: Places) -> None:
    """The scenario name resolves, and the binding validates against its model."""
    name = claim.scenario or ""
    label, where = places.claim_field(claim, "scenario")
    try:
        entry = resolve(name, where=label)
    except UserError:
        close = difflib.get_close_matches(name, known(), n=1)
        hint = (
            f"did you mean {close[0]!r}?"
            if close
            else "a name is '<pack>.<check>', as listed in the README's scenario packs"
        )
        raise UserError(
            f"{label}={name!r}: unknown scenario",
            where=where,
            hint=hint,
        ) from None
    prefix, _ = places.claim_field(claim, "binding")
    try:
        entry.bind(claim.binding or {}, where=prefix)
    except UserError as exc:
        keys = _keys(exc.where or prefix, prefix)
        _, at = places.claim_field(claim, "binding", *keys)
        raise UserError(exc.message, where=at, hint=exc.hint) from None


def check_target(claim: Claim, places: Places) -> None:
    """The claim's target is a [targets.NAME] and its fields fit its kind."""
    name = claim.target or ""
    targets = places.manifest.targets
    if name not in targets:
        label, where = places.claim_field(claim, "target")
        known_names = ", ".join(sorted(targets)) or "none defined"
        raise UserError(
            f"{label}={name!r}: not a [targets.NAME] (known: {known_names})", where=where
        )
    prefix = f"targets.{name}"
    try:
        TargetSpec.parse(targets[name], where=prefix)
    except UserError as exc:
        keys = _keys(exc.where or prefix, prefix)
        raise UserError(
            exc.message, where=places.where(("targets", name, *keys)), hint=exc.hint
        ) from None


def check_python(python: str, *, label: str, where: str | None) -> None:
    """The interpreter exists and runs `import sys`, within PYTHON_TIMEOUT seconds."""
    problem = python_problem(python)
    if problem:
        raise UserError(
            f"{label}={python!r}: {problem}",
            where=where,
            hint="name the project's interpreter, e.g. .venv/bin/python",
        )


@lru_cache(maxsize=32)
def python_problem(python: str) -> str | None:
    """Why `python` cannot run tests, or None. Cached: every claim usually shares one."""
    try:
        proc = subprocess.run(
            [python, "-c", _PYTHON_PROBE],
            capture_output=True,
            text=True,
            errors="replace",
            timeout=PYTHON_TIMEOUT,
            stdin=subprocess.DEVNULL,
        )
    except FileNotFoundError:
        return "no such file" if "/" in python else "not found on PATH"
    except PermissionError:
        return "is not executable"
    except OSError as exc:
        return f"cannot be run ({exc.strerror or exc})"
    except subprocess.TimeoutExpired:
        return f"did not run `import sys` within {PYTHON_TIMEOUT:g}s"
    if proc.returncode != 0 or proc.stdout != "fixguard-ok":
        lines = (proc.stderr or proc.stdout).strip().splitlines()
        said = f": {lines[-1].strip()}" if lines else ""
        return f"is not a working Python interpreter (`-c 'import sys'` exited {proc.returncode}{said})"
    return None


def _keys(where: str, prefix: str) -> tuple[int | str, ...]:
    """`claims[0](x).binding.effect[0]` minus its `prefix` -> ('effect', 0)."""
    rest = where[len(prefix) :] if where.startswith(prefix) else ""
    return tuple(int(k) if k.isdigit() else k for k in _KEY.findall(rest))

"""Which files a claim's runs perturb, and the `--harness-perturb` spec of each run.

A concurrency claim's tests (and any claim whose `perturb` asks for it) run under seeded
schedule perturbation of the fix's files (harness.perturb_plugin): the files its `fix` names,
or the non-test Python files the diff changes when it names none. Run i of a side, and of a
mutant, uses seed i + 1, so a verify run is reproducible and each failing run's seed replays it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ..claims.model import FixRange
from ..mutation.scope import scope_from_diff
from ..perturb_plugin import Spec
from .workspace import claim_test_files


def fix_files(
    repo: Path, base: str, head: str, fix: Sequence[FixRange], nodeids: Sequence[str]
) -> tuple[str, ...]:
    """The fix's Python files, minus the claim's own test files.

    A path holding ',' or ':' cannot be written in a spec and is left out (it is not perturbed).
    """
    if fix:
        files = sorted({f.file for f in fix})
    else:
        files = [f.path for f in scope_from_diff(repo, base, head).files]
    own = claim_test_files(nodeids)
    return tuple(
        f for f in files if f.endswith(".py") and f not in own and "," not in f and ":" not in f
    )


def run_spec(mode: str | None, files: Sequence[str], root: Path, seed: int) -> str | None:
    """The spec of one run in the checkout `root`, or None for a plain run (no mode, or none
    of the files is there: a file the fix adds does not exist on the base)."""
    present = tuple(f for f in files if (root / f).is_file())
    if mode is None or not present:
        return None
    return Spec(mode, seed=seed, files=present).render()

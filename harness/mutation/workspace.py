"""Isolated copies of the project at a revision: mutants are written there, never in the user's tree."""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .. import cleanup, git
from ..errors import TargetError
from ..forkserver import FORKSERVER_MODULE, SERVER_SOURCE
from ..paths import bytecode_env
from ..testrun import copy_perturb_plugin, tail

PROBE_MODULE = "fixguard_probe"


@dataclass(frozen=True)
class Workspace:
    """One private copy. `pythonpath` puts the copy first so its (mutated) code is what imports."""

    root: Path
    probe_dir: Path

    @property
    def forkserver(self) -> Path:
        """The copy's fork server script (harness.forkserver)."""
        return self.probe_dir / f"{FORKSERVER_MODULE}.py"

    @property
    def pythonpath(self) -> list[str]:
        entries = [str(self.root)]
        if (self.root / "src").is_dir():
            entries.append(str(self.root / "src"))
        entries.append(str(self.probe_dir))
        return entries

    def env(self, extra: Mapping[str, str]) -> dict[str, str]:
        env = {**bytecode_env(), **extra}
        existing = env.get("PYTHONPATH", os.environ.get("PYTHONPATH", ""))
        env["PYTHONPATH"] = os.pathsep.join([*self.pythonpath, *([existing] if existing else [])])
        return env

    def write(self, relpath: str, text: str) -> bytes:
        """Write `text` to `relpath` and return the previous bytes (for `restore`)."""
        target = self.root / relpath
        previous = target.read_bytes()
        target.write_text(text, encoding="utf-8")
        _stamp(target)
        return previous

    def restore(self, relpath: str, previous: bytes) -> None:
        target = self.root / relpath
        target.write_bytes(previous)
        _stamp(target)


#: Modification times no two writes share (whole seconds, as a compiled module records them).
_STAMPS = itertools.count(1_000_000_000)


def _stamp(path: Path) -> None:
    """Give `path` a modification time of its own.

    A compiled module is trusted while its source's size and whole-second mtime match. A mutant
    of the same length written within the same second as the code before it would match, and
    the run would import the stale module; a time no earlier write had never does.
    """
    seconds = next(_STAMPS)
    os.utime(path, ns=(seconds * 1_000_000_000, seconds * 1_000_000_000))


@contextmanager
def workspaces(
    repo: Path,
    rev: str,
    count: int,
    *,
    workdir: Path | None = None,
    setup: str | None = None,
    env: Mapping[str, str] | None = None,
) -> Iterator[list[Workspace]]:
    """`count` fresh copies of `rev` (exported with `git archive`), removed afterwards.

    The copies' dir is on the run ledger (`harness.cleanup`): a killed run's is removed by the
    next run, which first clears what dead runs left.
    """
    cleanup.prune_dead_runs(repo)
    with cleanup.temp_dir("fixguard-mutants-", workdir) as tmp:
        probe_dir = new_probe_dir(tmp)
        first = tmp / "w0"
        git.export(repo, rev, first)
        roots = [first]
        for i in range(1, count):
            copy = tmp / f"w{i}"
            shutil.copytree(first, copy, symlinks=True)
            roots.append(copy)
        spaces = [Workspace(root, probe_dir) for root in roots]
        if setup:
            for space in spaces:
                run_setup(space, setup, env or {})
        yield spaces


def new_probe_dir(parent: Path) -> Path:
    """`parent/probe`: the plugins and the fork server every copy's runs load from PYTHONPATH."""
    probe_dir = parent / "probe"
    probe_dir.mkdir()
    here = Path(__file__)
    shutil.copyfile(here.with_name("probe_plugin.py"), probe_dir / f"{PROBE_MODULE}.py")
    # Child interpreters of the baseline (a target server) record fix-line hits too.
    shutil.copyfile(here.with_name("probe_sitecustomize.py"), probe_dir / "sitecustomize.py")
    shutil.copyfile(SERVER_SOURCE, probe_dir / f"{FORKSERVER_MODULE}.py")
    copy_perturb_plugin(probe_dir)
    return probe_dir


def run_setup(space: Workspace, command: str, env: Mapping[str, str]) -> None:
    run_env = dict(os.environ)
    run_env.update(space.env(env))
    proc = subprocess.run(
        command,
        shell=True,
        cwd=space.root,
        env=run_env,
        capture_output=True,
        text=True,
        errors="replace",
    )
    if proc.returncode != 0:
        raise TargetError(
            f"setup={command!r}: exited with {proc.returncode} in an isolated copy",
            where="run.setup",
            log_tail=tail(proc.stdout + proc.stderr),
        )

"""One set of worker copies, fork servers and coverage maps per verify run, shared by its claims.

Made per claim, each claim's mutation run paid for its own copies of the head, its own fork
servers (one per copy and k-of-n hash seed) and their warm-up before its first mutant ran: about
three seconds a claim, most of a small claim's time. A CopyPool keeps both between claims:

- A leased copy is always in the state of a new export: a copy that served a claim before has
  its files removed and the revision exported into the same folder again (the setup command
  runs again too), so nothing one claim's tests wrote is there for the next.
- Its fork servers stay up: they have imported pytest, its plugins and the third-party modules
  earlier claims loaded, never a file of the copy (the server refuses to be ready otherwise), so
  what they keep is never the project's code. What a claim made ready in them (its warm list,
  its preloaded tests) is made again for the next claim.

Copies are kept per (revision, setup, env, interpreter): only claims with the same settings
share them. The pool also keeps the run's coverage maps: every claim's suite phase measures the
whole suite over all the claims' fix files, so the first one's map serves the rest. `harness mutate` (one claim) makes its copies itself, as before.
"""

from __future__ import annotations

import itertools
import logging
import shutil
import threading
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from .. import cleanup, git
from .warm import ForkServers
from .workspace import Workspace, new_probe_dir, run_setup

log = logging.getLogger(__name__)

Kind = tuple[str, str | None, tuple[tuple[str, str], ...], str]


class CopyPool:
    """Worker copies and their fork servers, kept for the life of a `with` block."""

    def __init__(self, repo: Path, workdir: Path | None = None) -> None:
        self._repo = repo
        self._workdir = workdir
        self._lock = threading.Lock()
        self._idle: dict[Kind, list[Workspace]] = {}
        self._servers: dict[Kind, ForkServers] = {}
        self._names = itertools.count()
        self._stack = ExitStack()
        self._folder: Path | None = None
        self._probe: Path | None = None
        #: Coverage maps measured in this run, by key: a claim's suite phase reuses the map
        #: another claim's measured (harness.mutation.lab; each is also in that claim's store).
        self.maps: dict[str, dict[str, Any]] = {}
        #: Copies made, and copies lent again after a fresh export (for the tests and notes).
        self.made = 0
        self.reused = 0

    def __enter__(self) -> CopyPool:
        cleanup.prune_dead_runs(self._repo)
        self._folder = self._stack.enter_context(
            cleanup.temp_dir("fixguard-mutants-", self._workdir)
        )
        self._probe = new_probe_dir(self._folder)
        return self

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            servers, self._servers, self._idle = list(self._servers.values()), {}, {}
        for server in servers:
            server.close()
        self._stack.close()

    @contextmanager
    def lease(
        self,
        rev: str,
        count: int,
        *,
        setup: str | None,
        env: Mapping[str, str],
        python: str,
        fork: bool,
    ) -> Iterator[tuple[list[Workspace], ForkServers | None]]:
        """`count` copies of `rev` as a new export leaves them, and their servers (None
        without `fork`); given back when the block ends."""
        kind: Kind = (rev, setup, tuple(sorted(env.items())), python)
        with self._lock:
            if self._folder is None or self._probe is None:
                raise RuntimeError("CopyPool.lease outside its with block")
            idle = self._idle.setdefault(kind, [])
            spaces, reused = idle[:count], len(idle[:count])
            del idle[:count]
            names = [next(self._names) for _ in range(count - reused)]
            servers = self._servers.get(kind) if fork else None
            if servers is None and fork:
                servers = self._servers[kind] = ForkServers(python, env)
            folder, probe = self._folder, self._probe
        taken = list(spaces)
        try:
            for space in spaces:
                _export_again(self._repo, rev, space.root)
                if servers is not None:
                    servers.reset(space)  # the next claim makes them ready for itself
            for name in names:
                space = Workspace(folder / f"w{name}", probe)
                git.export(self._repo, rev, space.root)
                taken.append(space)
            if setup:
                for space in taken:
                    run_setup(space, setup, env)
        except BaseException:
            self._drop(taken, servers)
            raise
        with self._lock:
            self.made += len(names)
            self.reused += reused
        try:
            yield taken, servers
        except BaseException:
            self._drop(taken, servers)  # interrupted mid-claim: a mutant may be on disk
            raise
        with self._lock:
            self._idle[kind].extend(taken)

    def _drop(self, spaces: list[Workspace], servers: ForkServers | None) -> None:
        """Copies that may not be as a new export leaves them: never lent again."""
        for space in spaces:
            if servers is not None:
                servers.retire(space)
            shutil.rmtree(space.root, ignore_errors=True)


def _export_again(repo: Path, rev: str, root: Path) -> None:
    """Empty `root` and export `rev` into it: the folder itself stays, as the servers' cwd."""
    for child in root.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()
    git.export(repo, rev, root)

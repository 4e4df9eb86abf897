"""The fork servers of the mutation lab: one per worker copy and hash seed (harness.forkserver).

The baseline runs in a copy's server, which then serves that copy's mutants; a server made ready
for mutants has also imported what the baseline loaded, and may keep a preloaded copy of the
project for single-run mutants.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from pathlib import Path

from ..forkserver import WarmRunner, WarmUnavailable
from .workspace import Workspace


class ForkServers:
    """The fork servers of one run's worker copies, one per (copy, hash seed), started on first
    use. The baseline runs in the copy's server too, which the mutants then keep using."""

    def __init__(self, python: str, env: Mapping[str, str]):
        self._python = python
        self._env = dict(env)
        self._lock = threading.Lock()
        self._servers: dict[tuple[Path, int | None], WarmRunner | None] = {}
        #: Servers the lab has made ready for mutants (warm modules, preloaded copy).
        self.ready: set[tuple[Path, int | None]] = set()

    def get(self, space: Workspace, seed: int | None = None) -> WarmRunner | None:
        """The server for runs in `space` with this hash seed (None: the interpreter's own).

        Only the thread holding `space` asks for its servers, so a start never races itself.
        """
        key = (space.root, seed)
        with self._lock:
            known = key in self._servers
        if not known:
            env = space.env(self._env)
            if seed is not None:
                # A hash seed takes effect at start-up: each of k-of-n's seeds has its server.
                env["PYTHONHASHSEED"] = str(seed)
            runner: WarmRunner | None
            try:
                runner = WarmRunner(space.root, space.forkserver, self._python, env)
            except (WarmUnavailable, OSError):
                runner = None
            with self._lock:
                self._servers[key] = runner
        with self._lock:
            runner = self._servers[key]
        return None if runner is None or runner.broken else runner

    def reset(self, space: Workspace) -> None:
        """`space` goes to another claim: what this one made ready (its warm list, its
        preloaded tests) is made again for that one. The servers and their imports stay."""
        with self._lock:
            for key, runner in self._servers.items():
                if key[0] == space.root:
                    self.ready.discard(key)
                    if runner is not None:
                        runner.preloaded = False

    def retire(self, space: Workspace) -> None:
        """`space` is gone: its servers stop."""
        with self._lock:
            keys = [key for key in self._servers if key[0] == space.root]
            runners = [self._servers.pop(key) for key in keys]
            self.ready.difference_update(keys)
        for runner in runners:
            if runner is not None:
                runner.close()

    def close(self) -> None:
        with self._lock:
            servers = [s for s in self._servers.values() if s is not None]
            self._servers.clear()
        for server in servers:
            server.close()

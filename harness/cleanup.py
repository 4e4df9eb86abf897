"""A ledger of live runs, and the removal of what dead runs left behind (worktrees, temp dirs).

A run killed with SIGKILL (a CI step timeout, the OOM killer) runs no `finally`: its git
worktrees stay registered in the user's repo and its temp dirs stay on disk. So every temp dir
and worktree a run makes is first written to that run's record, `run-<pid>-<start>.json` in
`<temp dir>/fixguard-runs-<uid>/`, and forgotten once removed. A record is written *before* the
thing it names exists, so whatever a kill leaves is always on record.

`prune_dead_runs` (called when a run starts its worktrees or mutant copies) removes the
leftovers of every run whose process is gone: it kills the dead run's orphans still working in
those dirs, removes its worktrees with git, deletes its dirs and runs `git worktree prune`. A run
is alive while its pid exists with the start time on record (psutil's create_time), so a pid the
system handed to a new process does not keep a dead run's leftovers, nor do zombies. A live run's
record is never touched. Only git's worktree metadata and the recorded dirs are changed; the
user's work tree never is.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import secrets
import shutil
import stat
import sys
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import psutil

from . import git
from .errors import UserError
from .paths import bytecode_mirror

log = logging.getLogger(__name__)

#: A live run's start time may read a little differently in another process (the boot time
#: psutil adds is rounded); within this, the same pid is the same run. Erring towards "alive"
#: only delays a clean-up, erring towards "dead" would delete a live run's worktrees.
START_TOLERANCE = 1.0


@dataclass(frozen=True)
class Item:
    """One thing a run made: a temp dir, or a worktree (a dir registered in `repo`)."""

    kind: str  # "dir" | "worktree"
    path: str
    repo: str = ""


@dataclass(frozen=True)
class Pruned:
    """What one clean-up removed: the dead runs' pids, worktrees, dirs and killed orphans."""

    runs: tuple[int, ...] = ()
    worktrees: tuple[str, ...] = ()
    dirs: tuple[str, ...] = ()
    orphans: tuple[int, ...] = ()


def ledger_dir() -> Path:
    """One folder per user under the system temp dir: it goes when the temp dirs it lists go."""
    return Path(tempfile.gettempdir()) / f"fixguard-runs-{os.getuid()}"


def _trusted(folder: Path) -> bool:
    """Ours alone: a folder another user made (or a symlink) could list paths to delete."""
    try:
        st = os.lstat(folder)
    except OSError:
        return False
    return stat.S_ISDIR(st.st_mode) and st.st_uid == os.getuid() and not st.st_mode & 0o022


def _ours(path: str) -> bool:
    """Only paths the harness names (`fixguard-…` somewhere in them) are ever deleted."""
    return any(part.startswith("fixguard-") for part in Path(path).parts)


def start_time(pid: int) -> float | None:
    """The process's create_time, or None if it is gone or a zombie (dead, not yet reaped)."""
    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return None
        return float(proc.create_time())
    except (psutil.NoSuchProcess, psutil.ZombieProcess):
        return None


class _RunRecord:
    """This process's record: the items it owns now, rewritten atomically on every change."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: list[Item] = []
        self._pid = -1
        self._started = 0.0

    def _path(self) -> Path:
        return ledger_dir() / f"run-{self._pid}-{int(self._started * 1000)}.json"

    def _sync(self) -> None:
        if self._pid != os.getpid():  # first use, or a forked child: a record of its own
            self._pid = os.getpid()
            self._started = start_time(self._pid) or 0.0
            self._items = []
        path = self._path()
        if not self._items:
            with contextlib.suppress(OSError):
                path.unlink()
            return
        entry = {
            "pid": self._pid,
            "started": self._started,
            "argv": " ".join(sys.argv)[:300],
            "items": [asdict(item) for item in self._items],
        }
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not _trusted(path.parent):
            return  # best effort: without a record, a kill leaves what it did before
        tmp = path.with_name(f".{path.name}.{threading.get_ident()}.tmp")
        tmp.write_text(json.dumps(entry))
        tmp.replace(path)

    def add(self, item: Item) -> None:
        with self._lock:
            if self._pid != os.getpid():
                self._sync()
            self._items.append(item)
            self._sync()

    def discard(self, item: Item) -> None:
        with self._lock:
            with contextlib.suppress(ValueError):
                self._items.remove(item)
            self._sync()


_THIS_RUN = _RunRecord()


@contextlib.contextmanager
def temp_dir(prefix: str, parent: Path | None = None) -> Iterator[Path]:
    """A new private dir `<parent>/<prefix><random>`, on record before it exists; removed after."""
    base = (parent or Path(tempfile.gettempdir())).absolute()
    while True:
        path = base / f"{prefix}{secrets.token_hex(5)}"
        item = Item("dir", str(path))
        _THIS_RUN.add(item)
        try:
            path.mkdir(mode=0o700)
            break
        except FileExistsError:
            _THIS_RUN.discard(item)
        except BaseException:
            _THIS_RUN.discard(item)
            raise
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
        shutil.rmtree(bytecode_mirror(path), ignore_errors=True)
        _THIS_RUN.discard(item)


@contextlib.contextmanager
def worktree(repo: Path, path: Path) -> Iterator[None]:
    """Own the worktree the caller adds at `path`: on record first, removed and forgotten after."""
    item = Item("worktree", str(path), str(repo))
    _THIS_RUN.add(item)
    try:
        yield
    finally:
        remove_worktree(repo, path)
        _THIS_RUN.discard(item)


def remove_worktree(repo: Path, path: Path) -> None:
    _git(repo, "worktree", "remove", "--force", str(path))


def _git(repo: Path, *args: str) -> bool:
    try:
        return git.run(repo, *args).returncode == 0
    except (UserError, OSError):  # git missing, or the repo's folder is gone
        return False


def _alive(entry: dict[str, Any]) -> bool:
    started = start_time(int(entry["pid"]))
    return started is not None and abs(started - float(entry["started"])) < START_TOLERANCE


def _inside(path: str, roots: list[str]) -> bool:
    return any(path == root or path.startswith(root.rstrip("/") + "/") for root in roots)


def _kill_orphans(roots: list[str]) -> list[int]:
    """Kill processes working inside a dead run's dirs (its pytest runs and fork servers live on
    in their own sessions); else they keep writing into the dirs being removed."""
    victims = []
    for proc in psutil.process_iter(["pid", "cwd"]):
        cwd = proc.info.get("cwd")
        if cwd and proc.pid != os.getpid() and _inside(cwd, roots):
            with contextlib.suppress(psutil.Error):
                proc.kill()
                victims.append(proc)
    psutil.wait_procs(victims, timeout=5)
    return [proc.pid for proc in victims]


def _remove(entry: dict[str, Any]) -> Pruned:
    items = [Item(**raw) for raw in entry.get("items", [])]
    # psutil reports a cwd with symlinks resolved (/var -> /private/var on macOS).
    roots = [os.path.realpath(item.path) for item in items if _ours(item.path)]
    orphans = _kill_orphans(roots) if roots else []
    worktrees: list[str] = []
    repos: set[str] = set()
    for item in items:
        if item.kind == "worktree" and Path(item.repo).is_dir():
            repos.add(item.repo)
            if _git(Path(item.repo), "worktree", "remove", "--force", item.path):
                worktrees.append(item.path)
    dirs = []
    for item in items:
        if _ours(item.path) and os.path.lexists(item.path):
            shutil.rmtree(item.path, ignore_errors=True)
            dirs.append(item.path)
        if _ours(item.path):
            shutil.rmtree(bytecode_mirror(item.path), ignore_errors=True)
    for repo in sorted(repos):  # a worktree whose dir was deleted first is pruned here
        _git(Path(repo), "worktree", "prune")
    return Pruned((int(entry["pid"]),), tuple(worktrees), tuple(dirs), tuple(orphans))


def prune_dead_runs(repo: Path | None = None) -> Pruned:
    """Remove what every dead run left behind, then `git worktree prune` in `repo`.

    Runs of any repository are cleaned, since a dead run's leftovers are nobody's; a live run's
    record is only read. Two runs pruning at once take turns on a lock file.
    """
    if repo is not None:
        _git(repo, "worktree", "prune")
    folder = ledger_dir()
    if not _trusted(folder):
        return Pruned()
    found: list[Pruned] = []
    with open(folder / ".lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        for path in sorted(folder.glob("run-*.json")):
            try:
                entry = json.loads(path.read_text())
                if _alive(entry):
                    continue
                found.append(_remove(entry))
            except FileNotFoundError:
                continue  # its run finished and forgot it meanwhile
            except (OSError, ValueError, KeyError, TypeError):
                pass  # unreadable: no run can be judged by it, so it goes
            with contextlib.suppress(OSError):
                path.unlink()
    for pruned in found:
        log.info(
            "removed what dead run(s) %s left: %d worktree(s), %d folder(s), %d orphan(s)",
            ", ".join(map(str, pruned.runs)) or "?",
            len(pruned.worktrees),
            len(pruned.dirs),
            len(pruned.orphans),
        )
    return Pruned(
        runs=tuple(pid for p in found for pid in p.runs),
        worktrees=tuple(w for p in found for w in p.worktrees),
        dirs=tuple(d for p in found for d in p.dirs),
        orphans=tuple(o for p in found for o in p.orphans),
    )

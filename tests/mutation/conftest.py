"""Throwaway git repos with a buggy base commit and a fix commit, for the mutation tests."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from harness.mutation import MutationOptions

#: Keep the test subprocesses cheap: the hypothesis and xdist plugins cost ~1 s of startup each.
FAST_PYTEST = ("-p", "no:hypothesispytest", "-p", "no:xdist", "-p", "no:timeout")


@dataclass(frozen=True)
class FixRepo:
    path: Path
    base: str
    head: str


def _git(path: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(path), *args], check=True, capture_output=True, text=True
    ).stdout.strip()


def _write(root: Path, files: Mapping[str, str | None]) -> None:
    for rel, text in files.items():
        target = root / rel
        if text is None:
            target.unlink()
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")


def make_fix_repo(root: Path, base: Mapping[str, str], fix: Mapping[str, str | None]) -> FixRepo:
    """A repo whose first commit holds `base` and whose second applies `fix` (None deletes)."""
    root.mkdir(parents=True, exist_ok=True)
    _git(root, "init", "-q", "-b", "main")
    _git(root, "config", "user.email", "fixguard@example.invalid")
    _git(root, "config", "user.name", "fixguard tests")
    _git(root, "config", "commit.gpgsign", "false")
    _write(root, base)
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "base")
    base_sha = _git(root, "rev-parse", "HEAD")
    _write(root, fix)
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "fix")
    return FixRepo(root, base_sha, _git(root, "rev-parse", "HEAD"))


@pytest.fixture
def fix_repo(tmp_path: Path) -> Callable[..., FixRepo]:
    def build(
        base: Mapping[str, str], fix: Mapping[str, str | None], name: str = "repo"
    ) -> FixRepo:
        return make_fix_repo(tmp_path / name, base, fix)

    return build


def options(repo: FixRepo, scope, **overrides) -> MutationOptions:
    """A run of the fix's mutants with this interpreter and the cheap pytest start-up."""
    values: dict[str, Any] = dict(
        repo=repo.path,
        rev=repo.head,
        scope=scope,
        python=sys.executable,
        pytest_args=list(FAST_PYTEST),
        workers=2,
        repeats=1,
        min_timeout=10.0,
    )
    values.update(overrides)
    return MutationOptions(**values)


def mutate_args(repo: FixRepo, store: Path, *extra: str) -> list[str]:
    """`harness mutate`'s arguments for the repo's fix, its results kept in `store`."""
    return [
        "mutate", "--repo", str(repo.path), "--base", repo.base, "--head", repo.head,
        "--store", str(store), *extra,
    ]  # fmt: skip


# --------------------------------------------------------------------------- shared fixtures

#: The sequential test both commits share (its imports serve the fix's concurrent test too).
TICKETS_TEST = """
        import threading

        import pytest

        from pkg.tickets import TicketStore


        def test_cap_sequential():
            store = TicketStore(2)
            assert store.buy("a") and store.buy("b")
            assert not store.buy("c")
        """

LOCK_BASE = {
    "pkg/__init__.py": "",
    "pkg/tickets.py": """
        import threading
        import time


        class TicketStore:
            def __init__(self, cap):
                self.cap = cap
                self.sold = []

            def buy(self, who):
                if len(self.sold) >= self.cap:
                    return False
                time.sleep(0.002)
                self.sold.append(who)
                return True
        """,
    "tests/test_tickets.py": TICKETS_TEST,
}

LOCK_FIX = {
    "pkg/tickets.py": """
        import threading
        import time


        class TicketStore:
            def __init__(self, cap):
                self.cap = cap
                self.sold = []
                self._lock = threading.Lock()

            def buy(self, who):
                with self._lock:
                    if len(self.sold) >= self.cap:
                        return False
                    time.sleep(0.002)
                    self.sold.append(who)
                    return True
        """,
    # The fix keeps the sequential test and adds the concurrent one that proves it.
    "tests/test_tickets.py": TICKETS_TEST
    + """

        @pytest.mark.harness_concurrency
        def test_cap_holds_under_concurrency():
            store = TicketStore(3)
            gate = threading.Barrier(8, timeout=10)

            def buyer(i):
                gate.wait()
                store.buy(i)

            threads = [threading.Thread(target=buyer, args=(i,)) for i in range(8)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            assert len(store.sold) == 3
        """,
}

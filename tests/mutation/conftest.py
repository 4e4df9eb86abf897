"""Throwaway git repos with a buggy base commit and a fix commit, for the mutation tests."""

from __future__ import annotations

import subprocess
import textwrap
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

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


# --------------------------------------------------------------------------- shared fixtures

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
    "tests/test_tickets.py": """
        from pkg.tickets import TicketStore


        def test_cap_sequential():
            store = TicketStore(2)
            assert store.buy("a") and store.buy("b")
            assert not store.buy("c")
        """,
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
    "tests/test_tickets.py": """
        import threading

        import pytest

        from pkg.tickets import TicketStore


        def test_cap_sequential():
            store = TicketStore(2)
            assert store.buy("a") and store.buy("b")
            assert not store.buy("c")


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

"""The verify run's shared worker copies (harness.mutation.copies.CopyPool): a copy lent again is
exactly a new export, its fork servers stay warm but are made ready anew for each claim, and a
claim's mutants get the same results from pooled copies as from copies of their own."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from harness.mutation import run_mutation, scope_from_ranges
from harness.mutation.copies import CopyPool

from .conftest import options
from .test_preload import SOURCE, UNIT


def lease(pool: CopyPool, rev: str, *, setup: str | None = None, fork: bool = False):
    return pool.lease(rev, 1, setup=setup, env={}, python=sys.executable, fork=fork)


def test_a_copy_lent_again_is_as_a_new_export_leaves_it(fix_repo, tmp_path: Path):
    repo = fix_repo({"README.md": "x\n"}, UNIT)
    ran = tmp_path / "setup-ran"
    setup = f"echo run >> {ran} && echo built > built.txt"
    with CopyPool(repo.path, tmp_path) as pool:
        with lease(pool, repo.head, setup=setup) as (spaces, servers):
            (root,) = [s.root for s in spaces]
            assert servers is None
            (root / "pkg" / "calc.py").write_text("broken = True\n")  # a test's leftovers:
            (root / "app.db").write_text("state")  # a new file,
            (root / "cache").mkdir()  # a new folder,
            (root / "README.md").unlink()  # a deleted file
            (root / "built.txt").write_text("changed")
        with lease(pool, repo.head, setup=setup) as (spaces, _):
            assert [s.root for s in spaces] == [root]  # the same folder, lent again
            assert (root / "pkg" / "calc.py").read_text().startswith("LIMIT = 3")
            assert not (root / "app.db").exists() and not (root / "cache").exists()
            assert (root / "README.md").read_text() == "x\n"
            assert (root / "built.txt").read_text() == "built\n"  # the setup ran again
        assert (pool.made, pool.reused) == (1, 1)
    assert ran.read_text() == "run\nrun\n"
    assert not root.exists()  # gone with the pool


def test_the_servers_stay_up_and_are_made_ready_again_for_the_next_claim(fix_repo, tmp_path):
    repo = fix_repo({"README.md": "x\n"}, UNIT)
    with CopyPool(repo.path, tmp_path) as pool:
        with lease(pool, repo.head, fork=True) as (spaces, servers):
            assert servers is not None
            first = servers.get(spaces[0])
            assert first is not None
            first.preloaded = True  # what a claim made ready for itself
            servers.ready.add((spaces[0].root, None))
        with lease(pool, repo.head, fork=False) as (spaces, none):
            assert none is None  # a claim run without forks gets no server, even one that is up
        with lease(pool, repo.head, fork=True) as (spaces, again):
            assert again is servers
            server = again.get(spaces[0])
            assert server is first and server._proc.poll() is None  # the same live server
            assert not server.preloaded and not again.ready
        pid = first._proc.pid
    assert first._proc.poll() is not None, f"server {pid} must stop with the pool"


def test_copies_of_an_interrupted_claim_are_never_lent_again(fix_repo, tmp_path: Path):
    repo = fix_repo({"README.md": "x\n"}, UNIT)
    with CopyPool(repo.path, tmp_path) as pool:
        with pytest.raises(KeyboardInterrupt), lease(pool, repo.head) as (spaces, _):
            (root,) = [s.root for s in spaces]
            (root / "pkg" / "calc.py").write_text("mutant = 1\n")
            raise KeyboardInterrupt
        assert not root.exists()
        with lease(pool, repo.head) as (spaces, _):
            assert spaces[0].root != root
        assert (pool.made, pool.reused) == (2, 0)


def test_other_settings_get_other_copies(fix_repo, tmp_path: Path):
    repo = fix_repo({"README.md": "x\n"}, UNIT)
    with CopyPool(repo.path, tmp_path) as pool:
        with lease(pool, repo.head) as (plain, _):
            pass
        with pool.lease(
            repo.head, 1, setup=None, env={"A": "1"}, python=sys.executable, fork=False
        ) as (
            other,
            _,
        ):
            assert other[0].root != plain[0].root
        assert (pool.made, pool.reused) == (2, 0)


def test_claims_sharing_a_pool_get_the_results_of_copies_of_their_own(fix_repo, tmp_path: Path):
    repo = fix_repo({"README.md": "x\n"}, UNIT)
    lines = SOURCE.count("\n")
    claims = [
        scope_from_ranges(repo.path, repo.head, [f"pkg/calc.py:1-{lines // 2}"]),
        scope_from_ranges(repo.path, repo.head, [f"pkg/calc.py:{lines // 2 + 1}-{lines}"]),
    ]

    def results(copies: CopyPool | None) -> list[list[tuple[str, str, str | None]]]:
        return [
            [
                (m.id, m.status, m.killing_test)
                for m in run_mutation(options(repo, scope, workers=1, copies=copies)).mutants
            ]
            for scope in claims
        ]

    own = results(None)
    with CopyPool(repo.path, tmp_path) as pool:
        shared = results(pool)
        assert (pool.made, pool.reused) == (1, 1)
    assert all(own) and shared == own

"""What a test run depends on, as content hashes: the key under which its result is reused.

A stored result (a mutant's, a claim's base or head run, a baseline's coverage map) is reused
only while everything its run could read is byte-for-byte the same. The tree is split three ways:

- **test modules** (`test_*.py`, `*_test.py` under the test globs, and the files a claim names):
  a run depends on the modules of the tests it runs, so a push that edits one test re-runs only
  what that test reaches;
- **conftest.py** files: a run depends on those in the directories of its tests and above;
- **everything else**: the project's code, its config (pyproject.toml, pytest.ini), its data
  files and the test helpers that are not test modules (`tests/helpers.py`, `tests/data/`). A
  run may import or read any of them, so each one counts for every run.

Files no run reads are left out: prose (`*.md`, `*.rst`, `docs/`) and the hosting's own
(`.github/`, `.gitignore`). A doctest of a README is named as a test, and counts as one.

Hashes are git's blob ids (`git ls-tree`), so a tree of any size is read in one call. The
interpreter, its installed distributions and the harness's own code go in through
`environment()`: a new dependency version, or a new Fixguard, re-runs everything.
"""

from __future__ import annotations

import functools
import hashlib
import json
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatch
from pathlib import Path, PurePosixPath

from .. import git
from ..testpaths import TEST_GLOBS, is_test_path

#: Files no test run reads: changing them re-runs nothing.
INERT_GLOBS: tuple[str, ...] = (
    "*.md",
    "*.rst",
    "*.adoc",
    "docs/*",
    "doc/*",
    ".github/*",
    ".gitlab/*",
    ".gitignore",
    ".gitattributes",
    ".git-blame-ignore-revs",
    ".pre-commit-config.yaml",
    ".readthedocs.y*ml",
    "LICENSE*",
    "LICENCE*",
    "COPYING*",
    "AUTHORS*",
    "CHANGELOG*",
    "CHANGES*",
    "NEWS*",
)

#: pytest's default `python_files`: the modules it collects tests from.
TEST_MODULE_GLOBS = ("test_*.py", "*_test.py")

#: Stands for "every test": the whole suite's run depends on every test module.
EVERY_TEST = ("<all tests>",)


def blob_id(data: bytes) -> str:
    """git's blob id of `data` (what `git hash-object` prints), for a file outside the tree."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def digest(*parts: object) -> str:
    blob = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


@dataclass(frozen=True)
class Inputs:
    """A revision's files by content (path → blob id), split into what each run depends on."""

    files: Mapping[str, str]
    test_globs: Sequence[str] = TEST_GLOBS
    #: Test files named by a claim (anywhere in the tree): always counted per test.
    named: frozenset[str] = frozenset()
    _cache: dict[object, str] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def at(
        cls,
        repo: Path,
        rev: str,
        *,
        test_globs: Sequence[str] = TEST_GLOBS,
        overlay: Path | None = None,
        overlaid: Iterable[str] = (),
        named: Iterable[str] = (),
    ) -> Inputs:
        """The files of `rev`; `overlaid` files are read from the checkout `overlay` instead
        (the base worktree, with the head's tests laid over it)."""
        files = tree_blobs(repo, rev)
        for path in overlaid:
            target = (overlay or repo) / path
            if target.is_file():
                files[path] = blob_id(target.read_bytes())
            else:
                files.pop(path, None)
        return cls(files=files, test_globs=tuple(test_globs), named=frozenset(named))

    def kind(self, path: str) -> str:
        """ "test" (a test module), "conftest", "inert" or "shared" (every run depends on it)."""
        name = PurePosixPath(path).name
        if path in self.named:
            return "test"
        if is_test_path(path, self.test_globs):
            if name == "conftest.py":
                return "conftest"
            if any(fnmatch(name, g) for g in TEST_MODULE_GLOBS):
                return "test"
        if any(fnmatch(path, g) or fnmatch(name, g) for g in INERT_GLOBS):
            return "inert"
        return "shared"

    def shared(self) -> str:
        """The hash of every file each run depends on (code, config, data, test helpers)."""
        if "shared" not in self._cache:
            self._cache["shared"] = digest(
                sorted((p, b) for p, b in self.files.items() if self.kind(p) == "shared")
            )
        return self._cache["shared"]

    def for_tests(self, tests: Sequence[str]) -> str:
        """The hash of what a run of `tests` (node ids; EVERY_TEST: the suite) depends on.

        A node id outside the tree (a scenario claim's generated test) counts by its content.
        """
        chosen = tuple(sorted(set(tests)))
        if chosen in self._cache:
            return self._cache[chosen]
        if chosen == EVERY_TEST:
            own = sorted((p, b) for p, b in self.files.items() if self.kind(p) != "inert")
        else:
            paths = {t.split("::", 1)[0] for t in chosen}
            own = sorted(self._test_file(p) for p in paths)
            own += sorted((c, self.files[c]) for c in self._conftests(paths) if c in self.files)
        value = digest(self.shared(), own)
        self._cache[chosen] = value
        return value

    def _test_file(self, path: str) -> tuple[str, str]:
        if path in self.files:
            return path, self.files[path]
        outside = Path(path)
        if outside.is_absolute() and outside.is_file():
            return "<outside>", blob_id(outside.read_bytes())
        # A directory or a file the revision lacks: every test module under it counts.
        prefix = path.rstrip("/") + "/"
        under = sorted((p, b) for p, b in self.files.items() if p.startswith(prefix))
        return path, digest(under)

    @staticmethod
    def _conftests(paths: Iterable[str]) -> set[str]:
        found = {"conftest.py"}
        for path in paths:
            for parent in PurePosixPath(path).parents:
                if str(parent) != ".":
                    found.add(f"{parent}/conftest.py")
        return found


def tree_blobs(repo: Path, rev: str) -> dict[str, str]:
    """path → blob id of every file in `rev` (submodules by their commit)."""
    out = git.git(repo, "ls-tree", "-r", "-z", "--full-tree", rev)
    files: dict[str, str] = {}
    for entry in out.split("\0"):
        if not entry:
            continue
        meta, _, path = entry.partition("\t")
        files[path] = meta.split()[2]
    return files


#: What `environment` hashes, printed by the project's interpreter.
_LISTING = (
    "import sys, importlib.metadata as m, json; print(json.dumps([sys.version, "
    "sys.executable, sorted(f\"{d.metadata['Name']}=={d.version}\" "
    "for d in m.distributions() if d.metadata['Name'])]))"
)


@functools.cache
def environment(python: str) -> str:
    """The hash of the interpreter, its installed distributions and the harness's own code."""
    # Always a new process, even for this very interpreter: what it finds installed depends on
    # sys.path, which this process may have grown (pytest's rootdir, say), and a key read here
    # would then differ from the same run's key read anywhere else.
    try:
        proc = subprocess.run([python, "-c", _LISTING], capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as exc:
        # No answer: a key of its own, so nothing is reused (the run itself will say why).
        return digest("unknown", python, str(exc))
    return digest(proc.returncode, proc.stdout, harness_digest())


@functools.cache
def harness_digest() -> str:
    """The hash of the harness's source and its scenario packs: its plugins run inside every test
    run, and a scenario claim's test is the pack's check."""
    harness = Path(__file__).resolve().parents[1]
    hasher = hashlib.sha256()
    for root in (harness, harness.parent / "scenarios"):
        for path in sorted(root.rglob("*.py")):
            hasher.update(path.relative_to(root.parent).as_posix().encode())
            hasher.update(path.read_bytes())
    return hasher.hexdigest()


def relative_spec(spec: str | None, root: Path) -> str | None:
    """A perturbation spec with the checkout's path taken out, so it keys the same run anywhere."""
    return spec.replace(str(root), "<root>") if spec else spec

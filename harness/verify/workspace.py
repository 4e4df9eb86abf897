"""Git worktrees in temp dirs for the base and the head, with the head's tests laid over the base.

The user's work tree is never written: worktrees live under a temp dir, are registered only in
`.git/worktrees`, and are removed (and pruned) when the run ends, even on Ctrl-C.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Collection, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from .. import cleanup
from ..errors import TargetError, UserError
from ..git import git, show_bytes
from ..testpaths import is_test_path
from ..testrun import tail

#: Sections of shared config files that count as test config; the rest stays the base's.
CONFIG_SECTIONS = {
    "pyproject.toml": re.compile(r"^\[tool\.pytest(\.[^\]]*)?\]\s*$"),
    "setup.cfg": re.compile(r"^\[tool:pytest\]\s*$"),
    "tox.ini": re.compile(r"^\[pytest\]\s*$"),
}


def dirty_files(repo: Path) -> list[str]:
    """Tracked files with uncommitted changes (untracked files do not count)."""
    out = git(repo, "status", "--porcelain", "--untracked-files=no")
    return [line[3:] for line in out.splitlines() if line.strip()]


def changed_files(repo: Path, base: str, head: str) -> list[str]:
    out = git(repo, "diff", "--name-only", "--no-renames", f"{base}..{head}")
    return [line for line in out.splitlines() if line]


def splice_section(base_text: str, head_text: str, header: re.Pattern[str]) -> str:
    """Replace the base's tables matching `header` with the head's (appended if absent)."""
    head_section = _sections(head_text, header)
    base_lines = base_text.splitlines(keepends=True)
    kept: list[str] = []
    skipping = False
    for line in base_lines:
        if line.lstrip().startswith("["):
            skipping = bool(header.match(line.strip()))
        if not skipping:
            kept.append(line)
    text = "".join(kept)
    if head_section:
        # Normalise the join so that splicing twice gives the same text (idempotent).
        text = (
            (text.rstrip("\n") + "\n\n" if text.strip() else "") + head_section.rstrip("\n") + "\n"
        )
    return text


def _sections(text: str, header: re.Pattern[str]) -> str:
    out: list[str] = []
    inside = False
    for line in text.splitlines(keepends=True):
        if line.lstrip().startswith("["):
            inside = bool(header.match(line.strip()))
        if inside:
            out.append(line)
    return "".join(out)


@dataclass
class Workspace:
    """One checked-out tree the claims run in."""

    label: str
    path: Path
    sha: str
    #: Test files (and test config) copied from the head, for the base tree.
    overlaid: tuple[str, ...] = ()


def claim_test_files(nodeids: Sequence[str]) -> set[str]:
    """The files the node ids name, and every conftest.py that pytest loads for them."""
    files: set[str] = set()
    for nodeid in nodeids:
        path = nodeid.split("::", 1)[0]
        if not path or path.startswith(("/", "..")):
            continue
        files.add(path)
        parts = path.split("/")[:-1]
        for depth in range(len(parts) + 1):
            files.add("/".join([*parts[:depth], "conftest.py"]))
    return files


def overlay_tests(
    repo: Path,
    head: str,
    tree: Path,
    patterns: Sequence[str],
    extra: Collection[str] = (),
) -> list[str]:
    """Lay the head's test files and pytest config over `tree` (the SWE-bench test patch).

    `extra` are laid over whatever the patterns say: the claims' own test files, which must
    reach the base wherever they live (`pkg/tests/smoke.py` as much as `tests/test_x.py`).
    """
    listed = git(repo, "ls-tree", "-r", "--name-only", head).splitlines()
    copied: list[str] = []
    for path in listed:
        if not is_test_path(path, patterns) and path not in extra:
            continue
        content = show_bytes(repo, head, path)
        if content is None:
            raise UserError(f"git show {head}:{path}: listed but unreadable", where=str(repo))
        dest = tree / path
        header = CONFIG_SECTIONS.get(Path(path).name) if "/" not in path else None
        if header is not None:
            if not dest.exists():
                continue
            base_text = dest.read_text(encoding="utf-8", errors="replace")
            spliced = splice_section(base_text, content.decode("utf-8", "replace"), header)
            if spliced != base_text:
                dest.write_text(spliced, encoding="utf-8")
                copied.append(path)
            continue
        if dest.exists() and dest.read_bytes() == content:
            continue
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(content)
        copied.append(path)
    return copied


def run_setup(workspace: Workspace, command: str, env: dict[str, str], timeout: float) -> None:
    """Run the manifest's setup command in a worktree; a failure is the baseline's fault."""
    import os

    proc = subprocess.run(
        command,
        shell=True,
        cwd=workspace.path,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        errors="replace",
        timeout=timeout,
    )
    if proc.returncode != 0:
        raise TargetError(
            f"setup command {command!r} failed with exit code {proc.returncode} "
            f"in the {workspace.label} worktree",
            log_tail=tail(proc.stdout + proc.stderr),
        )


@contextmanager
def worktrees(
    repo: Path,
    base: str,
    head: str,
    *,
    test_paths: Sequence[str],
    claim_tests: Collection[str] = (),
) -> Iterator[tuple[Workspace, Workspace]]:
    """Check out base (with the head's tests laid over) and head into temp worktrees.

    What killed runs left (their worktrees and temp dirs) is removed first; this run's own are
    on the ledger before they exist, so a SIGKILL at any point leaves nothing the next run
    does not remove.
    """
    cleanup.prune_dead_runs(repo)
    try:
        with cleanup.temp_dir("fixguard-wt-") as root, ExitStack() as owned:
            spaces = []
            for label, sha in (("base", base), ("head", head)):
                path = root / label
                owned.enter_context(cleanup.worktree(repo, path))
                git(repo, "worktree", "add", "--detach", "--force", str(path), sha)
                spaces.append(Workspace(label=label, path=path, sha=sha))
            base_ws, head_ws = spaces
            base_ws.overlaid = tuple(
                overlay_tests(repo, head, base_ws.path, test_paths, claim_tests)
            )
            yield base_ws, head_ws
    finally:
        git(repo, "worktree", "prune", check=False)

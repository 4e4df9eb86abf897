"""Materialise the bundled sample service as a git repo: a buggy base plus one commit per fix."""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import git
from .errors import InternalError, UserError

SAMPLE_DIR = Path(__file__).resolve().parents[1] / "examples" / "sample_service"

AUTHOR_NAME = "Fixguard Sample"
AUTHOR_EMAIL = "sample@fixguard.invalid"
# Every commit gets a fixed date, one minute apart, so shas are the same on every machine.
EPOCH = 1_767_225_600  # 2026-01-01T00:00:00Z

_COPY_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache", "*.sqlite3*")


#: What the sample service's code and tests import: the `sample` extra.
SAMPLE_STACK = ("fastapi", "uvicorn", "httpx")


def require_sample_stack() -> None:
    """A UserError naming the extra when this interpreter cannot run the sample's tests.

    Without this, every sample test would fail to import on both sides, and the demo would
    report verdicts about an environment rather than about the fixes.
    """
    missing = [name for name in SAMPLE_STACK if importlib.util.find_spec(name) is None]
    if missing:
        raise UserError(
            f"the sample service needs {', '.join(missing)}, which {sys.executable} cannot import",
            hint="pip install 'fixguard[sample]' (nox -s demo installs it)",
        )


@dataclass(frozen=True)
class SampleRepo:
    """A materialised sample repo and the shas a verify run needs."""

    path: Path
    base: str
    head: str
    commits: dict[str, str]
    manifest: Path
    fixups: dict[str, str] = field(default_factory=dict)


def patch_ids(folder: Path) -> list[tuple[str, Path]]:
    """The `NN-<id>.patch` files of `folder` in apply order, as (finding id, path)."""
    found = []
    for patch in sorted(folder.glob("*.patch")):
        number, sep, finding = patch.stem.partition("-")
        if not (number.isdigit() and sep and finding):
            raise InternalError(
                f"patch file name {patch.name!r} does not match NN-<id>.patch",
                where=str(patch),
            )
        found.append((finding, patch))
    return found


def load_claims(manifest: Path) -> list[dict[str, Any]]:
    """The `[[claims]]` tables of a manifest, in file order."""
    with manifest.open("rb") as fh:
        return list(tomllib.load(fh).get("claims", []))


def commit_env(step: int) -> dict[str, str]:
    """The environment for a sample commit: a fixed identity, and a date `step` minutes after
    EPOCH, so the same history gets the same shas on every machine."""
    date = f"{EPOCH + 60 * step} +0000"
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    for role in ("AUTHOR", "COMMITTER"):
        env[f"GIT_{role}_NAME"] = AUTHOR_NAME
        env[f"GIT_{role}_EMAIL"] = AUTHOR_EMAIL
        env[f"GIT_{role}_DATE"] = date
    env.update(GIT_CONFIG_GLOBAL=os.devnull, GIT_CONFIG_NOSYSTEM="1")
    return env


class _Git:
    """Runs git in one repo with a fixed identity, fixed dates and no user config."""

    def __init__(self, repo: Path):
        self.repo = repo
        self.step = 0

    def env(self) -> dict[str, str]:
        return commit_env(self.step)

    def __call__(self, *args: str) -> str:
        proc = git.run(self.repo, *args, env=self.env())
        if proc.returncode != 0:
            raise InternalError(
                f"git {' '.join(args)} failed in {self.repo}: {proc.stderr.strip()}",
                where=str(self.repo),
            )
        return proc.stdout.strip()

    def apply(self, patch: Path) -> str:
        """`git am` one format-patch file as the next commit; returns its sha."""
        self.step += 1
        try:
            self("am", "--quiet", str(patch))
        except InternalError as exc:
            self("am", "--abort")
            raise InternalError(
                f"patch {patch.name} does not apply: {exc.message}", where=str(patch)
            ) from exc
        return self("rev-parse", "HEAD")


def _check_dest(dest: Path) -> None:
    if shutil.which("git") is None:
        raise UserError(
            "git was not found on PATH",
            where=str(dest),
            hint="install git to materialise the sample repo",
        )
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise UserError(
            f"dest={str(dest)!r}: exists and is not an empty directory",
            where=str(dest),
            hint="pass a new or empty directory",
        )


def materialise(
    dest: Path, *, corrected: bool = False, sample_dir: Path = SAMPLE_DIR
) -> SampleRepo:
    """Create a git repo at `dest`: the buggy base commit, then one commit per fix patch.

    With `corrected`, the fix-ups that complete the incomplete, untested or unproven fixes
    are applied on top, so a gate over base..head passes.
    """
    dest = Path(dest).resolve()
    _check_dest(dest)
    dest.mkdir(parents=True, exist_ok=True)
    git = _Git(dest)
    git("init", "--quiet", "--initial-branch=main")
    shutil.copytree(sample_dir / "base", dest, ignore=_COPY_IGNORE, dirs_exist_ok=True)
    shutil.copyfile(sample_dir / "harness.toml", dest / "harness.toml")
    git("add", "--all")
    git("commit", "--quiet", "-m", "shopapp: initial import (buggy base)")
    base = git("rev-parse", "HEAD")

    commits = {finding: git.apply(patch) for finding, patch in patch_ids(sample_dir / "fixes")}
    fixups: dict[str, str] = {}
    if corrected:
        fixups = {finding: git.apply(p) for finding, p in patch_ids(sample_dir / "fixups")}
    return SampleRepo(
        path=dest,
        base=base,
        head=git("rev-parse", "HEAD"),
        commits=commits,
        manifest=dest / "harness.toml",
        fixups=fixups,
    )

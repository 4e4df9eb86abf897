"""Materialise a case: fetch both sdists, extract them, build the two-commit repo and the venv.

Everything lands under one cache folder (`~/.cache/fixguard-realworld` by default), keyed by
what it is made from, so a second run downloads and installs nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import urllib.request
import zipfile
from pathlib import Path

from caseset import Case

DEFAULT_CACHE = Path(
    os.environ.get("FIXGUARD_REALWORLD_CACHE", Path.home() / ".cache" / "fixguard-realworld")
)
GIT_ENV = {
    "GIT_AUTHOR_NAME": "calibration",
    "GIT_AUTHOR_EMAIL": "calibration@localhost",
    "GIT_COMMITTER_NAME": "calibration",
    "GIT_COMMITTER_EMAIL": "calibration@localhost",
    "GIT_CONFIG_NOSYSTEM": "1",
}


class BuildError(Exception):
    """A case could not be materialised (download, extraction, prepare step, install)."""


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "[-_.]", name, flags=re.IGNORECASE)


def fetch_sdist(package: str, version: str, cache: Path) -> Path:
    """The sdist of package==version, downloaded once into cache/sdists."""
    folder = cache / "sdists"
    folder.mkdir(parents=True, exist_ok=True)
    pattern = re.compile(
        rf"^{_normalise(package)}-{re.escape(version)}\.(tar\.gz|zip|tar\.bz2)$", re.IGNORECASE
    )
    found = [p for p in folder.iterdir() if pattern.match(p.name)]
    if found:
        return found[0]
    command = [sys.executable, "-m", "pip", "download", "-q", "--no-deps"]
    command += ["--no-binary", ":all:", "-d", str(folder), f"{package}=={version}"]
    proc = subprocess.run(command, capture_output=True, text=True)
    found = [p for p in folder.iterdir() if pattern.match(p.name)]
    if found:
        return found[0]
    # pip builds an sdist's metadata to download it, which needs its build backend; a backend
    # (or plugin) the index does not serve fails that step. The index's JSON API lists the
    # file itself, with its hash.
    try:
        return _fetch_from_index(package, version, folder, pattern)
    except (OSError, ValueError, KeyError) as exc:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        raise BuildError(
            f"pip download {package}=={version}: no sdist ({tail[0]}; {exc})"
        ) from None


INDEX = os.environ.get("FIXGUARD_REALWORLD_INDEX", "https://pypi.org/simple")


def _fetch_from_index(package: str, version: str, folder: Path, pattern: re.Pattern[str]) -> Path:
    """Download the sdist through the index's simple JSON API (PEP 691), checking its sha256."""
    name = re.sub(r"[-_.]+", "-", package).lower()
    request = urllib.request.Request(
        f"{INDEX}/{name}/", headers={"Accept": "application/vnd.pypi.simple.v1+json"}
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        files = json.load(response)["files"]
    for entry in files:
        if pattern.match(entry["filename"]):
            with urllib.request.urlopen(entry["url"], timeout=300) as response:
                data = response.read()
            want = entry.get("hashes", {}).get("sha256")
            if want and hashlib.sha256(data).hexdigest() != want:
                raise ValueError(f"{entry['filename']}: sha256 mismatch")
            dest = folder / entry["filename"]
            dest.write_bytes(data)
            return dest
    raise ValueError(f"no sdist of {package}=={version} on {INDEX}")


def extract(archive: Path, dest: Path) -> Path:
    """Unpack an sdist into dest (once) and return its single top folder."""
    done = dest / ".extracted"
    if not done.exists():
        if dest.exists():
            shutil.rmtree(dest)
        dest.mkdir(parents=True)
        if archive.name.endswith(".zip"):
            with zipfile.ZipFile(archive) as zf:
                zf.extractall(dest)
        else:
            with tarfile.open(archive) as tf:
                tf.extractall(dest, filter="data")
        done.touch()
    tops = [p for p in dest.iterdir() if p.name != ".extracted"]
    if len(tops) != 1 or not tops[0].is_dir():
        raise BuildError(f"{archive.name}: expected one top folder, found {len(tops)} entries")
    return tops[0]


def _git(repo: Path, *args: str) -> str:
    proc = subprocess.run(
        ["git", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        env={**os.environ, **GIT_ENV},
    )
    if proc.returncode != 0:
        raise BuildError(f"git {' '.join(args)} in {repo}: {proc.stderr.strip()}")
    return proc.stdout


def _replace_tree(repo: Path, source: Path) -> None:
    """Make the work tree an exact copy of `source`, keeping .git."""
    for entry in repo.iterdir():
        if entry.name == ".git":
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()
    shutil.copytree(source, repo, symlinks=True, dirs_exist_ok=True)


def run_prepare(case: Case, tree: Path) -> None:
    if not case.prepare:
        return
    proc = subprocess.run(
        case.prepare, shell=True, cwd=tree, capture_output=True, text=True, timeout=300
    )
    if proc.returncode != 0:
        raise BuildError(f"prepare in {tree.name}: exit {proc.returncode}: {proc.stderr.strip()}")


def _key(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:12]


def build_repo(case: Case, old_tree: Path, new_tree: Path, cache: Path) -> Path:
    """A git repo with the old tree (HEAD~1) and the new tree (HEAD), both after `prepare`."""
    repo = cache / "repos" / case.name
    stamp = _key(case.package, case.old, case.new, case.prepare, "repo-v1")
    stamp_file = repo / ".git" / "fixguard-stamp"
    if stamp_file.exists() and stamp_file.read_text() == stamp:
        return repo
    if repo.exists():
        shutil.rmtree(repo)
    repo.mkdir(parents=True)
    _git(repo, "init", "-q", "-b", "main")
    for label, tree in (("old", old_tree), ("new", new_tree)):
        _replace_tree(repo, tree)
        run_prepare(case, repo)
        _git(repo, "add", "-A", "-f")
        _git(repo, "commit", "-q", "--no-verify", "-m", f"{case.package} {getattr(case, label)}")
    stamp_file.write_text(stamp)
    return repo


def interpreter() -> str:
    """The Python the case venvs are made with: $FIXGUARD_REALWORLD_PYTHON or this one."""
    return os.environ.get("FIXGUARD_REALWORLD_PYTHON", sys.executable)


def build_venv(case: Case, cache: Path) -> Path:
    """A venv with the case's pinned deps, shared by every case with the same pins."""
    python = interpreter()
    version = subprocess.run(
        [python, "-c", "import sys; print(sys.version)"], capture_output=True, text=True
    ).stdout.strip()
    venv = cache / "venvs" / _key(python, version, *sorted(case.deps))
    done = venv / ".installed"
    if done.exists():
        return venv
    if venv.exists():
        shutil.rmtree(venv)
    subprocess.run([python, "-m", "venv", str(venv)], check=True, capture_output=True)
    proc = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", *case.deps],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        lines = proc.stderr.strip().splitlines() or ["no output"]
        raise BuildError(f"pip install into {venv.name}: {lines[-1]}")
    done.write_text("\n".join(case.deps) + "\n")
    return venv


def materialise(case: Case, cache: Path) -> tuple[Path, Path, Path, Path]:
    """(repo, venv python, old tree, new tree) for a case, built or taken from the cache."""
    trees = []
    for version in (case.old, case.new):
        archive = fetch_sdist(case.package, version, cache)
        trees.append(extract(archive, cache / "trees" / f"{case.package}-{version}"))
    repo = build_repo(case, trees[0], trees[1], cache)
    venv = build_venv(case, cache)
    return repo, venv / "bin" / "python", trees[0], trees[1]

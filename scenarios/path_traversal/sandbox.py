"""The traversal sandbox: a base directory and the things outside it that must stay out of reach.

    root/
      base/                    <- serve or write here (the target's directory)
        public.txt             <- a legitimate file
        link -> ../outside     <- a symlink inside the base that points out (CVE-2024-23334)
      base-evil/secret.txt     <- a sibling whose name starts with the base's (CVE-2023-29159)
      outside/canary.txt       <- reached only through the symlink
      canary.txt               <- the canary next to the base
      sandbox.json             <- the layout and tokens, so a check can reopen it

Every file outside the base holds its own random token; a response that contains a token
read a file it must not reach. `python -m scenarios.path_traversal.sandbox DIR` lays one out
and prints the base directory to point the target at.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from harness.pack import UserError

LAYOUT_FILE = "sandbox.json"
#: Files outside the base that hold a canary token, relative to the root.
CANARIES = ("canary.txt", "base-evil/secret.txt", "outside/canary.txt")


@dataclass(frozen=True)
class Snapshot:
    """What lies outside the base: relative path -> file bytes, ``b"<dir>"`` or a link target."""

    entries: dict[str, bytes] = field(default_factory=dict)

    def changes(self, after: Snapshot) -> list[str]:
        """``created x``, ``modified x``, ``deleted x`` lines from self to `after`."""
        lines = [f"created {p}" for p in sorted(after.entries.keys() - self.entries.keys())]
        lines += [f"deleted {p}" for p in sorted(self.entries.keys() - after.entries.keys())]
        lines += [
            f"modified {p} (sha256 {_sha(self.entries[p])} -> {_sha(after.entries[p])})"
            for p in sorted(self.entries.keys() & after.entries.keys())
            if self.entries[p] != after.entries[p]
        ]
        return lines


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:12]


@dataclass(frozen=True)
class Sandbox:
    """A laid-out sandbox; `tokens` maps each canary (relative to `root`) to its content."""

    root: Path
    tokens: dict[str, str]

    @property
    def base(self) -> Path:
        return self.root / "base"

    def goals(self, new_name: str | None = None, *, through_links: bool = True) -> tuple[str, ...]:
        """Absolute paths a payload should try to reach, spelled lexically from the base.

        The symlinked canary is spelled through ``base/link`` so that a lexical check passes
        it and only resolving the path stops it; `through_links=False` leaves those out, for a
        deployment whose links in the base are the operator's own. With `new_name`, also paths
        of files that do not exist yet (for writes).
        """
        spots = [(self.root, "canary.txt"), (self.root / "base-evil", "secret.txt")]
        if through_links:
            spots.append((self.base / "link", "canary.txt"))
        found = [str(folder / name) for folder, name in spots]
        if new_name:
            found += [str(folder / new_name) for folder, _ in spots]
        return tuple(found)

    def leaked(self, body: bytes) -> list[str]:
        """The canaries whose token appears in `body`."""
        return [name for name, token in self.tokens.items() if token.encode() in body]

    def snapshot(self) -> Snapshot:
        """Everything outside the base (symlinks recorded, not followed)."""
        entries: dict[str, bytes] = {}
        for dirpath, dirnames, filenames in os.walk(self.root, followlinks=False):
            here = Path(dirpath)
            if here == self.base:
                dirnames[:] = []  # the base may change; only the outside is watched
                continue
            for name in [*dirnames, *filenames]:
                path = here / name
                rel = str(path.relative_to(self.root))
                if path.is_symlink():
                    entries[rel] = b"<link>" + os.readlink(path).encode()
                elif path.is_dir():
                    entries[rel] = b"<dir>"
                else:
                    try:
                        entries[rel] = path.read_bytes()
                    except OSError as exc:
                        entries[rel] = f"<unreadable {exc.errno}>".encode()
        return Snapshot(entries)

    def restore(self, before: Snapshot) -> None:
        """Undo whatever a request did outside the base, so later payloads start clean."""
        now = self.snapshot()
        for rel in sorted(now.entries.keys() - before.entries.keys(), reverse=True):
            path = self.root / rel
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
        for rel, data in before.entries.items():
            if now.entries.get(rel) == data or data.startswith((b"<dir>", b"<link>")):
                continue
            path = self.root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)


def create(root: Path) -> Sandbox:
    """Lay out a fresh sandbox in `root` (created; must be empty)."""
    root = Path(root).resolve()
    root.mkdir(parents=True, exist_ok=True)
    if any(root.iterdir()):
        raise UserError(
            f"sandbox={str(root)!r}: is not empty",
            where="binding.sandbox",
            hint="pass a new directory for the sandbox",
        )
    tokens = {name: f"FIXGUARD-CANARY-{secrets.token_hex(12)}" for name in CANARIES}
    (root / "base").mkdir()
    (root / "base" / "public.txt").write_text("public export\n")
    for name, token in tokens.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(token + "\n")
    (root / "base" / "link").symlink_to(Path("..") / "outside", target_is_directory=True)
    (root / LAYOUT_FILE).write_text(json.dumps({"tokens": tokens}, indent=2))
    return Sandbox(root, tokens)


def open_sandbox(root: Path | str) -> Sandbox:
    """Reopen a sandbox laid out by `create`; a UserError when `root` is not one."""
    root = Path(root).resolve()
    layout = root / LAYOUT_FILE
    try:
        tokens = json.loads(layout.read_text())["tokens"]
    except (OSError, ValueError, KeyError) as exc:
        raise UserError(
            f"sandbox={str(root)!r}: no sandbox layout there ({exc})",
            where="binding.sandbox",
            hint="lay one out first: python -m scenarios.path_traversal.sandbox DIR",
        ) from None
    return Sandbox(root, dict(tokens))


def main(argv: Iterable[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1:
        print("usage: python -m scenarios.path_traversal.sandbox DIR", file=sys.stderr)
        return 2
    print(create(Path(args[0])).base)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

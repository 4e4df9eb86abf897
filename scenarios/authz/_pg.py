"""PostgreSQL helpers for the authz checks: connect, act as a role, apply migration files."""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from harness.pack import Target, UserError

FIXTURES = Path(__file__).resolve().parent / "fixtures"
#: ``${name}`` in a migration file; ``$$`` bodies are left alone.
_PLACEHOLDER = re.compile(r"\$\{(\w+)\}")


def _name(match: re.Match[str], quoted: Mapping[str, str], path: Path) -> str:
    try:
        return quoted[match.group(1)]
    except KeyError:
        raise UserError(
            f"{path.name}: no value for ${{{match.group(1)}}}",
            where=str(path),
            hint=f"pass names={{{match.group(1)!r}: 'role_name'}}",
        ) from None


def psycopg() -> Any:
    try:
        return importlib.import_module("psycopg")
    except ImportError:
        raise UserError(
            "the authz checks need psycopg",
            where="binding.dsn",
            hint="pip install 'fixguard[postgres]'",
        ) from None


@contextmanager
def connect(dsn: str, *, where: str = "binding.dsn") -> Iterator[Any]:
    pg = psycopg()
    try:
        conn = pg.connect(dsn, autocommit=True, connect_timeout=5)
    except pg.OperationalError as exc:
        raise UserError(
            f"dsn={dsn!r}: cannot connect ({str(exc).strip()})",
            where=where,
            hint="PostgreSQL must run on loopback, e.g. postgresql://postgres@127.0.0.1/db",
        ) from None
    try:
        yield conn
    finally:
        conn.close()


def apply_files(dsn: str, files: Sequence[Path], names: Mapping[str, str] | None = None) -> None:
    """Run each SQL file in order; ``${name}`` in a file becomes the quoted identifier names[name]."""
    pg = psycopg()
    quoted = {k: pg.sql.Identifier(v).as_string(None) for k, v in (names or {}).items()}
    with connect(dsn) as conn:
        for path in files:
            conn.execute(_render(Path(path), quoted))


def _render(path: Path, quoted: Mapping[str, str]) -> str:
    def one(match: re.Match[str]) -> str:
        return _name(match, quoted, path)

    return _PLACEHOLDER.sub(one, path.read_text())


def dsn_of(dsn: str | None, target: Target) -> str:
    """The binding's ``dsn``, else the target's DATABASE_URL; a UserError when neither is set."""
    found = dsn or target.spec.env.get("DATABASE_URL")
    if not found:
        raise UserError(
            "binding.dsn: no database to check",
            where="binding.dsn",
            hint="set dsn, or DATABASE_URL in the target's env",
        )
    return found

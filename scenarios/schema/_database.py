"""A fresh PostgreSQL database with the target's migrations applied, and roles of its own."""

from __future__ import annotations

import glob
import os
import re
import secrets
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import Field

from harness.pack import FindingPolicy, Target, UserError
from scenarios._shared import root_folder
from scenarios.authz._pg import connect, psycopg

#: The admin DSN when the binding gives none; the same variable the test suite honours.
ADMIN_ENV = "FIXGUARD_PG_DSN"
DEFAULT_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


class MigrationsBinding(FindingPolicy):
    """Where the migrations are, and which untrusted roles they grant to."""

    #: Globs relative to `root`, applied in this order (each glob's files sorted by name).
    migrations: tuple[str, ...] = Field(default=("migrations/*.sql",), min_length=1)
    root: Path | None = None
    #: A superuser DSN; the check creates (and drops) its own database and roles there.
    admin_dsn: str | None = None
    #: Role names the migrations use for untrusted clients; each run creates fresh roles and
    #: renames them in the SQL (roles are cluster-wide, fixed names would collide).
    roles: tuple[str, ...] = ("authenticated", "anon")


def root_of(binding: MigrationsBinding, target: Target) -> Path:
    return root_folder(binding.root, target, "folder to find the migrations in")


def migration_files(binding: MigrationsBinding, target: Target) -> list[Path]:
    root = root_of(binding, target)
    files: list[Path] = []
    for pattern in binding.migrations:
        matched = sorted(Path(p) for p in glob.glob(str(root / pattern)))
        if not matched:
            raise UserError(
                f"binding.migrations: {pattern!r} matches nothing under {root}",
                where="binding.migrations",
            )
        files += [f for f in matched if f not in files]
    return files


@dataclass(frozen=True)
class FreshDatabase:
    dsn: str
    #: Role name in the migrations -> the role created for this run.
    roles: Mapping[str, str]


def rename_roles(sql: str, roles: Mapping[str, str]) -> str:
    """Each role name of `roles` (a whole word, outside quotes) becomes the run's quoted role."""
    for name, fresh in roles.items():
        sql = re.sub(rf"(?<![\w.'\"]){re.escape(name)}(?![\w'\"])", f'"{fresh}"', sql)
    return sql


@contextmanager
def fresh_database(binding: MigrationsBinding) -> Iterator[FreshDatabase]:
    """A new database and one new NOLOGIN role per binding role; both dropped afterwards."""
    pg = psycopg()
    admin = binding.admin_dsn or os.environ.get(ADMIN_ENV) or DEFAULT_ADMIN
    token = secrets.token_hex(5)
    name = f"fixguard_schema_{token}"
    roles = {role: f"fg_{role}_{token}"[:63] for role in binding.roles}
    with connect(admin, where="binding.admin_dsn") as conn:
        conn.execute(pg.sql.SQL("CREATE DATABASE {}").format(pg.sql.Identifier(name)))
        for fresh in roles.values():
            conn.execute(pg.sql.SQL("CREATE ROLE {} NOLOGIN").format(pg.sql.Identifier(fresh)))
    try:
        yield FreshDatabase(admin.rsplit("/", 1)[0] + f"/{name}", roles)
    finally:
        with connect(admin, where="binding.admin_dsn") as conn:
            conn.execute(
                pg.sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    pg.sql.Identifier(name)
                )
            )
            for fresh in roles.values():
                conn.execute(pg.sql.SQL("DROP ROLE IF EXISTS {}").format(pg.sql.Identifier(fresh)))


def apply_migrations(db: FreshDatabase, files: Sequence[Path]) -> None:
    """Run every file in order on `db`; a failing file is a UserError naming it."""
    pg = psycopg()
    with connect(db.dsn) as conn:
        for path in files:
            try:
                conn.execute(rename_roles(path.read_text(encoding="utf-8"), db.roles))
            except pg.Error as exc:
                raise UserError(
                    f"migration {path.name}: PostgreSQL refused it: {str(exc).strip()}",
                    where=str(path),
                ) from None


def query(dsn: str, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
    with connect(dsn) as conn:
        return [tuple(r) for r in conn.execute(sql, params).fetchall()]

"""The schema pack on a real PostgreSQL, on the sample's loyalty-upsert finding: the upsert with an
ON CONFLICT target that matches no UNIQUE, and the PostgreSQL-only policy migration (USING (true)
and an unchecked SECURITY DEFINER grant), each failing on the base and passing at the head."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pytest

from harness.errors import UserError
from harness.scenario import run
from harness.targets import launch
from harness.targets.base import Target
from tests.packs.support import failure, findings_apart, module_spec

pytestmark = pytest.mark.postgres

MIGRATIONS = ["migrations/*.sql", "migrations/postgres/*.sql"]
UPSERTS = {"migrations": MIGRATIONS, "sources": ["shopapp/*.py"]}
POLICIES = {
    "migrations": MIGRATIONS,
    "seed_sql": ["INSERT INTO loyalty_points VALUES ('c-1', 'coffee', 3), ('c-2', 'coffee', 5)"],
}


def tree_target(tree: Path) -> AbstractContextManager[Target]:
    """A `python` target on the checkout: the checks read its files and need no server."""
    return launch({**module_spec("json"), "cwd": str(tree)})


@pytest.fixture
def admin(postgres_admin: str) -> Iterator[str]:
    """The admin DSN; afterwards no database or role of the checks is left behind."""
    import psycopg

    def leftovers() -> tuple[int, int]:
        with psycopg.connect(postgres_admin) as conn:
            dbs = conn.execute(
                "SELECT count(*) FROM pg_database WHERE datname LIKE 'fixguard_schema_%'"
            ).fetchone()
            roles = conn.execute(
                "SELECT count(*) FROM pg_roles WHERE rolname ~ "
                "'^fg_(authenticated|anon)_[0-9a-f]{10}$'"
            ).fetchone()
        assert dbs is not None and roles is not None
        return int(dbs[0]), int(roles[0])

    before = leftovers()
    yield postgres_admin
    assert leftovers() == before


@pytest.mark.parametrize(
    ("name", "binding", "says"),
    [
        (
            "schema.upserts_merge",
            UPSERTS,
            [
                "shopapp/loyalty.py:19: INSERT INTO loyalty_points … ON CONFLICT (customer_id): "
                "the first run failed: there is no unique or exclusion constraint matching the ON "
                "CONFLICT specification",
                # the usage upsert (schema-unique, fixed on SQLite only by its own commit) fails
                # here too
                "shopapp/usage.py:",
                "ON CONFLICT (account_id, day)",
            ],
        ),
        (
            "schema.policy_lint",
            POLICIES,
            [
                "003_loyalty_policies.sql:7: policy loyalty_read on loyalty_points is USING "
                "(true) for authenticated\n    confirmed: role 'authenticated', with no identity "
                "set, reads 2 row(s) of loyalty_points",
                "EXECUTE on award_points(text, text, integer) granted to authenticated; SECURITY "
                "DEFINER (defined at 003_loyalty_policies.sql:9), no ownership check in its "
                "body\n    confirmed: role 'authenticated' can EXECUTE "
                "award_points(text,text,integer)",
            ],
        ),
    ],
    ids=["upsert-without-a-matching-unique", "policy-lint-findings-are-confirmed"],
)
def test_fails_on_the_base(
    checkout: Any, admin: str, name: str, binding: dict[str, Any], says: list[str]
) -> None:
    with tree_target(checkout("base")) as target:
        message = failure(name, {**binding, "admin_dsn": admin}, target)
    for part in says:
        assert part in message, message


@pytest.mark.parametrize(
    ("name", "binding"),
    [("schema.upserts_merge", UPSERTS), ("schema.policy_lint", POLICIES)],
    ids=["upserts-run-and-merge", "policy-lint"],
)
def test_passes_at_the_head(
    checkout: Any, admin: str, fixed: Callable[[str], None], name: str, binding: dict[str, Any]
) -> None:
    fixed("loyalty-upsert")
    with tree_target(checkout("head")) as target:
        run(name, {**binding, "admin_dsn": admin}, target)


def test_a_lint_finding_the_database_does_not_confirm_does_not_fail(
    checkout: Any, admin: str
) -> None:
    # Without table privileges the role reads nothing: the policy is reported, not confirmed,
    # and the function finding alone (allowed here) is the only confirmed one.
    with tree_target(checkout("base")) as target:
        run(
            "schema.policy_lint",
            {
                **POLICIES,
                "admin_dsn": admin,
                "grant_tables": False,
                "allow": ["function:award_points"],
            },
            target,
        )


def test_bindings_are_checked(checkout: Any) -> None:
    with tree_target(checkout("head")) as target:
        with pytest.raises(UserError, match="matches nothing"):
            run("schema.policy_lint", {"migrations": ["nope/*.sql"]}, target)
        with pytest.raises(UserError, match="no INSERT … ON CONFLICT"):
            run("schema.upserts_merge", {**UPSERTS, "sources": ["tests/conftest.py"]}, target)


def test_an_unconfirmed_lint_finding_is_reported_apart(checkout: Any, admin: str) -> None:
    binding = {
        **POLICIES,
        "admin_dsn": admin,
        "grant_tables": False,
        "allow": ["function:award_points"],
    }
    with tree_target(checkout("base")) as target:
        seen = findings_apart("schema.policy_lint", binding, target)
    assert [f.problem for f in seen] == [
        "lint only (not confirmed on the database): 003_loyalty_policies.sql:7: policy "
        "loyalty_read on loyalty_points is USING (true) for authenticated"
    ]


def test_sample_values_postgres_refuses_are_a_finding_not_a_failed_upsert(
    tmp_path: Path, admin: str
) -> None:
    (tmp_path / "migrations").mkdir()
    (tmp_path / "migrations" / "001.sql").write_text(
        "CREATE TABLE devices (id uuid PRIMARY KEY, name text NOT NULL);\n"
        "CREATE TABLE tags (name text PRIMARY KEY, uses integer NOT NULL);\n"
    )
    (tmp_path / "store.py").write_text(
        'DEVICE = "INSERT INTO devices (id, name) VALUES (%s, %s) ON CONFLICT (id) '
        'DO UPDATE SET name = excluded.name"\n'
        'TAG = "INSERT INTO tags (name, uses) VALUES (%s, %s) ON CONFLICT (name) '
        'DO UPDATE SET uses = tags.uses + 1"\n'
    )
    binding = {"migrations": ["migrations/*.sql"], "sources": ["*.py"], "admin_dsn": admin}
    with tree_target(tmp_path) as target:
        seen = findings_apart("schema.upserts_merge", binding, target)
    assert len(seen) == 1 and seen[0].problem.startswith(
        "store.py:1: INSERT INTO devices could not be judged: PostgreSQL refused the check's "
        "sample values (22P02: invalid input syntax for type uuid"
    ), seen

"""The authz pack: RLS and SECURITY DEFINER on a real PostgreSQL, public endpoints, query tokens."""

from __future__ import annotations

import secrets
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.errors import UserError
from harness.scenario import run
from harness.targets import launch
from harness.targets.base import Target
from scenarios.authz._pg import FIXTURES, apply_files
from tests.packs.standins import TOKEN_APP
from tests.packs.support import serve_app

SEED = [
    "INSERT INTO messages (id, tenant_id, thread_id, body) VALUES"
    " ('a1', 'tenant-a', 'thread_1', 'A'), ('b1', 'tenant-b', 'thread_1', 'B'),"
    " ('b2', 'tenant-b', 'thread_2', 'B2')",
]


@pytest.fixture
def pg_roles(postgres_admin: str) -> Iterator[dict[str, str]]:
    """Two fresh cluster roles (authenticated, service_role stand-ins), dropped afterwards."""
    import psycopg

    suffix = secrets.token_hex(4)
    names = {"authenticated": f"fg_authenticated_{suffix}", "service_role": f"fg_service_{suffix}"}
    with psycopg.connect(postgres_admin, autocommit=True) as conn:
        for role in names.values():
            conn.execute(f'CREATE ROLE "{role}" NOLOGIN')
    try:
        yield names
    finally:
        with psycopg.connect(postgres_admin, autocommit=True) as conn:
            for role in names.values():
                conn.execute(f'DROP ROLE IF EXISTS "{role}"')


@pytest.fixture
def authz_db(pg_roles: dict[str, str], postgres_db: str) -> str:
    """A fresh database; requested after the roles, so it is dropped before them."""
    return postgres_db


@pytest.fixture
def migrated(
    authz_db: str, pg_roles: dict[str, str], checkout: Callable[[str], Path]
) -> Callable[[str, str], str]:
    """`migrated(rev, fixture)`: the sample's own migrations at `rev`, then one authz fixture."""

    def apply(rev: str, fixture: str) -> str:
        migrations = sorted((checkout(rev) / "migrations").glob("*.sql"))
        assert migrations, f"the sample at {rev} has no migrations/"
        apply_files(authz_db, [*migrations, FIXTURES / fixture], pg_roles)
        return authz_db

    return apply


def db_target() -> Target:
    """The DB checks do not talk to a server; a `url`-less python target stands in."""
    return launch({"kind": "python", "factory": "builtins:object"})


def isolation(dsn: str, role: str) -> dict[str, Any]:
    return {
        "dsn": dsn,
        "role": role,
        "table": "messages",
        "tenants": ["tenant-a", "tenant-b"],
        "setup_sql": SEED,
    }


@pytest.mark.postgres
def test_rls_using_true_lets_tenant_a_read_tenant_b(
    migrated: Any, pg_roles: dict[str, str]
) -> None:
    dsn = migrated("base", "rls_using_true.sql")
    with db_target() as target, pytest.raises(AssertionError) as caught:
        run("authz.tenant_isolation", isolation(dsn, pg_roles["authenticated"]), target)
    message = str(caught.value)
    assert "for tenant 'tenant-a': read 2 of 'tenant-b'" in message
    assert "for tenant 'tenant-b': read 1 of 'tenant-a'" in message
    assert "USING (true)" in message


@pytest.mark.postgres
def test_tenant_policy_keeps_each_tenant_to_its_own_rows(
    migrated: Any, pg_roles: dict[str, str], fixed: Callable[[str], None]
) -> None:
    fixed("schema-unique")
    dsn = migrated("head", "rls_tenant.sql")
    with db_target() as target:
        run("authz.tenant_isolation", isolation(dsn, pg_roles["authenticated"]), target)


@pytest.mark.postgres
def test_a_deny_all_policy_is_not_reported_as_isolation(
    migrated: Any, pg_roles: dict[str, str]
) -> None:
    dsn = migrated("base", "rls_tenant.sql")
    binding = isolation(dsn, pg_roles["authenticated"])
    binding["as_tenant"] = "SELECT set_config('app.tenant_id', 'nobody', false)"
    with db_target() as target, pytest.raises(AssertionError, match="none of its own rows"):
        run("authz.tenant_isolation", binding, target)


@pytest.mark.postgres
def test_definer_function_granted_to_authenticated_is_flagged(
    migrated: Any, pg_roles: dict[str, str]
) -> None:
    dsn = migrated("base", "definer_granted.sql")
    role = pg_roles["authenticated"]
    with db_target() as target, pytest.raises(AssertionError) as caught:
        run("authz.definer_functions", {"dsn": dsn, "roles": [role]}, target)
    assert f"post_message(text,text,text) is SECURITY DEFINER and executable by {role!r}" in str(
        caught.value
    )


@pytest.mark.postgres
def test_definer_function_left_to_public_is_flagged_with_the_reason(
    migrated: Any, pg_roles: dict[str, str]
) -> None:
    import psycopg

    dsn = migrated("base", "definer_restricted.sql")
    with psycopg.connect(dsn, autocommit=True) as conn:  # undo half the fix: PUBLIC again
        conn.execute("GRANT EXECUTE ON FUNCTION post_message(text, text, text) TO PUBLIC")
    with db_target() as target, pytest.raises(AssertionError, match="through PUBLIC"):
        run("authz.definer_functions", {"dsn": dsn, "roles": [pg_roles["authenticated"]]}, target)


@pytest.mark.postgres
def test_definer_function_restricted_to_the_service_role_passes(
    migrated: Any, pg_roles: dict[str, str]
) -> None:
    dsn = migrated("head", "definer_restricted.sql")
    with db_target() as target:
        run("authz.definer_functions", {"dsn": dsn, "roles": [pg_roles["authenticated"]]}, target)
    with db_target() as target, pytest.raises(UserError, match="none of these roles exists"):
        run("authz.definer_functions", {"dsn": dsn, "roles": ["fg_no_such_role"]}, target)


# --- /health and /metrics on the sample --------------------------------------------------------


@pytest.mark.parametrize(("rev", "leaks"), [("base", True), ("head", False)])
def test_public_endpoints_on_the_sample(
    rev: str, leaks: bool, shared_sample: Any, fixed: Callable[[str], None]
) -> None:
    if not leaks:
        fixed("health-leak")
    shared = shared_sample(rev)
    if not leaks:
        run("authz.public_endpoints_hide_internals", {}, shared.target)
        return
    with pytest.raises(AssertionError) as caught:
        run("authz.public_endpoints_hide_internals", {}, shared.target)
    message = str(caught.value)
    assert "GET /health (no credentials) -> 200 shows a Python version string" in message
    assert f"'{shared.planted_env}'" in message
    assert str(shared.data_dir) in message
    assert "GET /metrics" not in message  # the counters reveal nothing inside


# --- tokens in the query string: the sample has no auth, so a small app stands in --------------


def test_query_tokens_are_caught_when_accepted_and_pass_when_rejected(tmp_path: Path) -> None:
    with serve_app(tmp_path, "token_app", TOKEN_APP) as target:
        lenient = {"call": "GET /lenient/me", "token": "s3cret-token"}
        with pytest.raises(AssertionError, match=r"\?token='s3cret-token' -> 200"):
            run("authz.query_tokens_rejected", lenient, target)
        strict = {"call": "GET /strict/me", "token": "s3cret-token"}
        run("authz.query_tokens_rejected", strict, target)
        with pytest.raises(AssertionError, match="token must work in the header"):
            run("authz.query_tokens_rejected", {**strict, "token": "wrong"}, target)


# --- precision: a 5xx is not a leak, a common config word is not a secret -----------------------

PRECISION_APP = textwrap.dedent("""
    import os

    from fastapi import FastAPI, HTTPException, Request
    from fastapi.responses import JSONResponse, PlainTextResponse

    app = FastAPI()
    TOKEN = "s3cret-token"

    @app.get("/healthz")
    def healthz():
        return {"status": "ok", "debug": True}

    @app.get("/health")
    def health():
        return JSONResponse({"status": "degraded"}, status_code=503)

    @app.get("/metrics")
    def metrics():
        return PlainTextResponse("requests_total 3\\\\nbuild_info{debug=\\"true\\"} 1\\\\n")

    @app.get("/crashing-health")
    def crashing_health():
        return PlainTextResponse("Traceback (most recent call last):\\\\n  File \\"/srv/app/main.py\\"",
                                 status_code=500)

    @app.get("/me")
    def me(request: Request):
        if any(k in request.query_params for k in ("token", "access_token", "jwt")):
            raise RuntimeError("the query parser is not wired for credentials")
        if request.headers.get("authorization", "") != f"Bearer {TOKEN}":
            raise HTTPException(401, "unauthenticated")
        return {"user": "alice"}
""")


@pytest.fixture(scope="module")
def precision_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    """An app that is right about authz and wrong elsewhere: 5xx answers, a DEBUG flag."""
    folder = tmp_path_factory.mktemp("authz-precision")
    env = {"FEATURE_DEBUG": "true", "LOG_LEVEL": "info"}
    with serve_app(folder, "precision_app", PRECISION_APP, env=env) as target:
        yield target


def test_a_5xx_from_a_public_endpoint_is_a_finding_not_a_leak(precision_app: Target) -> None:
    from harness.findings import collect

    with collect() as seen:
        run("authz.public_endpoints_hide_internals", {}, precision_app)
    assert [f.problem for f in seen] == [
        "GET /health (no credentials) answered 503, revealing nothing inside"
    ]
    assert seen[0].repro.startswith("curl ") and seen[0].repro.endswith("/health")
    with pytest.raises(AssertionError, match='server_errors = "fail"'):
        run("authz.public_endpoints_hide_internals", {"server_errors": "fail"}, precision_app)


def test_a_5xx_that_shows_a_traceback_is_still_a_leak(precision_app: Target) -> None:
    with pytest.raises(AssertionError) as caught:
        run("authz.public_endpoints_hide_internals", {"paths": ["/crashing-health"]}, precision_app)
    assert "GET /crashing-health (no credentials) -> 500 shows a filesystem path" in str(
        caught.value
    )
    assert "a stack trace" in str(caught.value)


def test_a_common_config_word_from_the_env_is_not_a_secret(precision_app: Target) -> None:
    # FEATURE_DEBUG=true and LOG_LEVEL=info are in the env; "true" is in /metrics. A planted
    # value is still caught where it appears as a whole value.
    run("authz.public_endpoints_hide_internals", {"paths": ["/metrics"]}, precision_app)
    with pytest.raises(AssertionError, match=r"the configured value 'requests_total'"):
        run(
            "authz.public_endpoints_hide_internals",
            {"paths": ["/metrics"], "secrets": ["requests_total"]},
            precision_app,
        )


def test_a_5xx_on_a_query_token_is_a_finding_not_an_acceptance(precision_app: Target) -> None:
    from harness.findings import collect

    binding = {"call": "GET /me", "token": "s3cret-token", "params": ["token"]}
    with collect() as seen:
        run("authz.query_tokens_rejected", binding, precision_app)
    assert len(seen) == 2, seen
    assert all("?token=" in f.problem and "-> 500, neither a success" in f.problem for f in seen)
    assert seen[0].repro.startswith("curl ") and "token=s3cret-token" in seen[0].repro
    with pytest.raises(AssertionError, match='server_errors = "fail"'):
        run("authz.query_tokens_rejected", {**binding, "server_errors": "fail"}, precision_app)

"""The sample service on a real PostgreSQL (SHOPAPP_DB=postgresql://...), at the head."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator

import pytest

from harness.sample import SampleRepo

ADMIN_DSN = os.environ.get("FIXGUARD_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")

pytestmark = pytest.mark.postgres

SCRIPT = textwrap.dedent("""
    import asyncio, datetime, decimal, sys
    import httpx
    from shopapp.app import create_app
    from shopapp.config import Settings

    app = create_app(Settings(data_dir=sys.argv[2], db_url=sys.argv[1]))
    shop = app.state.shop
    assert shop.db.is_postgres

    async def main():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://pg") as c:
            codes = [(await c.post("/tickets", json={"user_id": "u"})).status_code
                     for _ in range(6)]
            assert codes == [201] * 5 + [429], codes
            ticket = shop.tickets.create("other")
            assert (await c.post(f"/tickets/{ticket}/consume")).status_code == 200
            assert (await c.post(f"/tickets/{ticket}/consume")).status_code == 409
            sim = {"simulation_id": "s1", "client_id": "c1"}
            assert (await c.post("/simulations", json=sim)).status_code == 201
            assert (await c.post("/simulations", json=sim)).status_code == 409
            assert (await c.get("/stats")).json() == {"tickets": 6}
            key = {"Idempotency-Key": "k1"}
            first = await c.post("/backups", json={"target": "t"}, headers=key)
            again = await c.post("/backups", json={"target": "t"}, headers=key)
            assert first.status_code == 201 and again.json() == first.json()
            shop.threads.add_message("acme", "thread_1", "hi")
            got = await c.get("/threads/thread_1", headers={"X-Tenant": "acme"})
            assert [m["body"] for m in got.json()["messages"]] == ["hi"]
            summary = (await c.get("/reports/summary")).json()
            assert summary == {"pending": 5, "used": 1}, summary

    asyncio.run(main())
    day = datetime.date(2026, 1, 1)
    shop.usage.record("a", day)
    shop.usage.record("a", day, 2)
    assert shop.usage.total("a", day) == 3
    shop.ledger.book("a", decimal.Decimal("1.25"), "EUR", 10.0)
    assert shop.ledger.entries("a")[0].amount == decimal.Decimal("1.25")
    print("postgres ok")
""")


@pytest.fixture
def pg_database() -> Iterator[str]:
    psycopg = pytest.importorskip("psycopg")
    name = f"fixguard_shopapp_{uuid.uuid4().hex[:10]}"
    try:
        admin = psycopg.connect(ADMIN_DSN, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        pytest.skip(f"no PostgreSQL at {ADMIN_DSN}: {exc}")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield ADMIN_DSN.rsplit("/", 1)[0] + f"/{name}"
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_head_runs_on_postgres(
    sample_repo: SampleRepo, pg_database: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    data = tmp_path_factory.mktemp("pg-data")
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, pg_database, str(data)],
        cwd=sample_repo.path,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "SHOPAPP_DATA_DIR": str(data), "PYTHONDONTWRITEBYTECODE": "1"},
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "postgres ok" in proc.stdout

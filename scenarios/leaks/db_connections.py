"""leaks.db_connections: N operations leave the database's connection count at baseline."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import urlsplit

from pydantic import Field, model_validator

from harness.pack import (
    CallableCounter,
    Counter,
    HttpCall,
    HttpRequest,
    PgConnectionCounter,
    Target,
    UserError,
    curl_command,
    import_object,
    scenario,
)

from ._common import LeakBudget, Odd, Step, call_step, judge_leaks


class DbConnectionLeakBinding(LeakBudget):
    """One operation per iteration (``call`` over HTTP, or in-process ``steps``); connections
    are counted in ``pg_stat_activity`` (``dsn`` + ``database``) or by a ``pool`` function."""

    call: HttpCall | None = None
    values: dict[str, str] = Field(default_factory=dict)
    steps: list[Step] = Field(default_factory=list)
    #: A PostgreSQL DSN allowed to read pg_stat_activity (a monitoring or superuser role).
    dsn: str | None = None
    #: The database whose client connections are counted; default: the dsn's own database.
    database: str | None = None
    #: Only count connections with this application_name (when the target sets one).
    application_name: str | None = None
    #: ``"pkg.mod:func"`` called with the target, returning checked-out connections (pool stats).
    pool: str | None = None
    tolerance: int | dict[str, int] = 1

    @model_validator(mode="after")
    def _one_operation_one_source(self) -> DbConnectionLeakBinding:
        if (self.call is None) == (not self.steps):
            raise ValueError("set exactly one of call (HTTP) or steps (in-process)")
        if (self.dsn is None) == (self.pool is None):
            raise ValueError("set exactly one of dsn (pg_stat_activity) or pool (pool stats)")
        if self.dsn is not None and urlsplit(self.dsn).scheme not in ("postgres", "postgresql"):
            raise ValueError("dsn must be a postgresql:// URL")
        return self


@scenario("leaks.db_connections", binding=DbConnectionLeakBinding)
def db_connections_return_to_baseline(binding: DbConnectionLeakBinding, target: Target) -> None:
    """Warm up, then N operations: open DB connections (pg_stat_activity or pool stats) come
    back to the baseline, within the tolerance."""
    counter: Counter
    pg: PgConnectionCounter | None = None
    if binding.dsn is not None:
        database = binding.database or urlsplit(binding.dsn).path.lstrip("/")
        if not database:
            raise UserError(
                f"dsn={binding.dsn!r}: names no database; set binding.database",
                where="binding.database",
            )
        counter = pg = PgConnectionCounter(binding.dsn, database, binding.application_name)
    else:
        assert binding.pool is not None
        func = import_object(binding.pool, field="binding.pool")
        counter = CallableCounter("db_connections", lambda: func(target))
    runner = asyncio.Runner()
    client = target.client() if binding.call is not None else None
    odd = Odd("leaks.db_connections")
    try:

        def step() -> None:
            if client is not None and binding.call is not None:
                response = binding.call.send(client, binding.values)
                if response.status_code >= 500:
                    # A failing operation is not a leak: pg_stat_activity judges the
                    # connections it may have left open all the same.
                    odd.add(
                        f"HTTP {response.status_code}",
                        response.text,
                        curl_command(
                            target.base_url,
                            HttpRequest(binding.call.method, binding.call.render(binding.values)),
                        ),
                    )
                return

            async def run() -> Any:
                for index, s in enumerate(binding.steps):
                    await call_step(s, target.obj, where=f"binding.steps[{index}]")

            runner.run(run())

        what = str(binding.call) if binding.call is not None else ", ".join(map(str, binding.steps))
        judge_leaks(
            step, [counter], binding, odd=odd, name=f"leaks.db_connections [{what}]", problems=False
        )
    finally:
        if client is not None:
            client.close()
        runner.close()
        if pg is not None:
            pg.close()

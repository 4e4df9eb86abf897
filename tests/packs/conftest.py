"""Fixtures shared by the pack self-tests: the sample repo, checkouts of it, launchers.

- `sample_repo`: the sample materialised once per session with its corrected history
  (base, one commit per fix, then the fix-ups); see `harness.sample.materialise`.
- `checkout(rev)`: a read-only tree of `rev` ("base", "head", a finding id for the commit of
  its fix, or a sha), exported once per session with `git archive` and cached.
- `fixed(finding)`: skips loudly when the fix patch of `finding` has not landed in
  `examples/sample_service/fixes/` yet, so a pass-on-head test never passes on the base.
- `sample_spec(tree, **env)`: a `process` spec that serves the sample with uvicorn from `tree`,
  with its own data dir.
- `sample_modules(tree)`: a context manager that makes `import shopapp` load from `tree`
  (and forgets it afterwards), for checks on a `python` target.
- `sample_target(rev, spec)`: an in-process target launched with `shopapp` from `rev`.
- `sample_app(rev, **env)`: the sample's ASGI app from `rev`, in process.
- `sample_server(rev)`: one uvicorn server of the sample per rev for the test module.

The helpers behind them live in `tests.packs.support`, which the stability benchmarks use too.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from harness.sample import SampleRepo, materialise
from harness.targets import TargetSpec, launch
from harness.targets.base import Target
from tests.packs import support


@pytest.fixture(scope="session")
def sample_repo(tmp_path_factory: pytest.TempPathFactory) -> SampleRepo:
    """The sample repo, materialised once per session (corrected history)."""
    return materialise(tmp_path_factory.mktemp("sample") / "repo", corrected=True)


@pytest.fixture(scope="session")
def checkout(
    sample_repo: SampleRepo, tmp_path_factory: pytest.TempPathFactory
) -> Callable[[str], Path]:
    """`checkout(rev)` -> a directory holding the tree of `rev`, exported once per session."""
    trees: dict[str, Path] = {}
    root = tmp_path_factory.mktemp("trees")

    def get(rev: str) -> Path:
        sha = support.resolve_rev(sample_repo, rev)
        if sha not in trees:
            trees[sha] = support.export_tree(sample_repo, sha, root / sha[:12])
        return trees[sha]

    return get


@pytest.fixture(scope="session")
def fixed(sample_repo: SampleRepo) -> Callable[[str], None]:
    """`fixed(finding)`: skip, naming the finding, when its fix commit does not exist yet."""

    def need(finding: str) -> None:
        if finding not in sample_repo.commits:
            pytest.skip(
                f"SKIPPED LOUDLY: the sample has no fix commit for {finding!r} yet "
                f"(no examples/sample_service/fixes/NN-{finding}.patch); the pass-on-head test "
                "cannot run"
            )

    return need


@pytest.fixture(scope="session")
def sample_spec() -> Callable[..., dict[str, Any]]:
    """`sample_spec(tree, data_dir, **env)` -> a process spec serving the sample from `tree`."""
    return support.sample_spec


@pytest.fixture(scope="session")
def sample_modules() -> Callable[[Path], Any]:
    """`with sample_modules(tree):` -> `import shopapp` loads from `tree` inside the block."""
    return support.sample_modules


@pytest.fixture(scope="session")
def sample_target(
    checkout: Callable[[str], Path],
) -> Callable[[str, dict[str, Any] | TargetSpec | str], AbstractContextManager[Target]]:
    """`with sample_target(rev, spec) as target:` -> an in-process target launched from `spec`
    while `import shopapp` loads from the tree of `rev`; a str spec names the module that is
    the target's object."""
    return lambda rev, spec: support.launch_in(checkout(rev), spec)


@pytest.fixture
def sample_app(
    sample_target: Callable[..., AbstractContextManager[Target]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Callable[..., AbstractContextManager[Target]]:
    """`with sample_app(rev, **env) as target:` -> the sample's ASGI app at `rev`, in process,
    its data under the test's tmp_path and `env` set for the test."""

    def start(rev: str, **env: str) -> AbstractContextManager[Target]:
        for name, value in {"SHOPAPP_DATA_DIR": str(tmp_path / "data"), **env}.items():
            monkeypatch.setenv(name, value)
        return sample_target(rev, {"kind": "asgi", "app": "shopapp.app:app"})

    return start


@pytest.fixture(scope="module")
def sample_server(
    checkout: Callable[[str], Path], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[[str], tuple[Target, Path]]]:
    """`sample_server(rev)` -> (a uvicorn process serving the sample at `rev`, its data dir),
    started on first use and shared by the test module's tests."""
    with ExitStack() as stack:
        running: dict[str, tuple[Target, Path]] = {}

        def get(rev: str) -> tuple[Target, Path]:
            if rev not in running:
                data = tmp_path_factory.mktemp(f"served-{rev}")
                target = stack.enter_context(launch(support.sample_spec(checkout(rev), data)))
                running[rev] = (target, data)
            return running[rev]

        yield get


@pytest.fixture
def short_tmp() -> Iterator[Path]:
    """A short temporary directory (sandboxes whose paths must not hit AF_UNIX/PATH limits)."""
    with tempfile.TemporaryDirectory(prefix="fg-") as name:
        yield Path(name)


# --- PostgreSQL -----------------------------------------------------------------------------

#: The admin DSN the PostgreSQL tests use; FIXGUARD_PG_DSN overrides it.
PG_ADMIN_DSN = os.environ.get("FIXGUARD_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")


def _postgres_reachable() -> str | None:
    """None when PostgreSQL answers on 127.0.0.1:5432, else why not."""
    try:
        import psycopg
    except ImportError as exc:
        return f"psycopg is not installed ({exc})"
    try:
        with psycopg.connect(PG_ADMIN_DSN, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        return f"{PG_ADMIN_DSN} is unreachable: {exc}".strip()
    return None


@pytest.fixture(scope="session")
def postgres_admin() -> str:
    """The admin DSN; skips loudly when PostgreSQL is down, fails if FIXGUARD_REQUIRE_POSTGRES=1."""
    problem = _postgres_reachable()
    if problem is not None:
        if os.environ.get("FIXGUARD_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"FIXGUARD_REQUIRE_POSTGRES=1 but {problem}", pytrace=False)
        pytest.skip(f"SKIPPED LOUDLY: PostgreSQL checks did not run: {problem}")
    return PG_ADMIN_DSN


@pytest.fixture
def postgres_db(postgres_admin: str) -> Iterator[str]:
    """A fresh database (DSN as the postgres superuser), dropped with its connections after."""
    import secrets

    import psycopg

    name = f"fixguard_{secrets.token_hex(6)}"
    with psycopg.connect(postgres_admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield postgres_admin.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(postgres_admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --- one sample server per rev, shared by read-mostly pack checks ----------------------------


@dataclass(frozen=True)
class SharedSample:
    """A sample server and what it was started with (see `shared_sample`)."""

    target: Any
    data_dir: Path
    sandbox: Path
    trace: Path
    planted_env: str

    @property
    def sqlite_dsn(self) -> str:
        return f"sqlite:///{self.data_dir / 'shopapp.sqlite3'}"


@pytest.fixture(scope="session")
def shared_sample(
    checkout: Callable[[str], Path], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[[str], SharedSample]]:
    """`shared_sample(rev)`: one uvicorn server of the sample at `rev` for the whole session.

    It serves /exports from a traversal sandbox's base (`scenarios.path_traversal.sandbox`),
    runs under the DB fetch tracer (`scenarios.invariants.dbtrace`), and has a planted
    SHOPAPP_ENV. Checks that share it must leave its state usable by the others: each seeds
    its own rows once, with ids nobody else uses.
    """
    from scenarios.path_traversal.sandbox import create

    started: dict[str, SharedSample] = {}
    root = tmp_path_factory.mktemp("shared-sample")

    def get(rev: str) -> SharedSample:
        if rev not in started:
            here = root / rev
            box = create(here / "sandbox")
            trace = here / "dbtrace.log"
            planted = f"fg-planted-{rev}-environment"
            spec = support.sample_spec(
                checkout(rev),
                here / "data",
                SHOPAPP_EXPORT_DIR=str(box.base),
                SHOPAPP_ENV=planted,
                trace=trace,
            )
            target = launch(spec).start()
            started[rev] = SharedSample(target, here / "data", box.root, trace, planted)
        return started[rev]

    yield get
    for shared in started.values():
        shared.target.stop()

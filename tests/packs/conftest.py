"""Session fixtures shared by the pack self-tests: the sample repo, checkouts of it, launchers.

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
"""

from __future__ import annotations

import importlib
import io
import os
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from harness.sample import SampleRepo, materialise

REPO_ROOT = Path(__file__).resolve().parents[2]
SAMPLE_PACKAGE = "shopapp"


@pytest.fixture(scope="session")
def sample_repo(tmp_path_factory: pytest.TempPathFactory) -> SampleRepo:
    """The sample repo, materialised once per session (corrected history)."""
    return materialise(tmp_path_factory.mktemp("sample") / "repo", corrected=True)


def _resolve_rev(repo: SampleRepo, rev: str) -> str:
    if rev == "base":
        return repo.base
    if rev == "head":
        return repo.head
    if rev in repo.commits:
        return repo.commits[rev]
    if rev in repo.fixups:
        return repo.fixups[rev]
    return rev


def _export(repo: SampleRepo, sha: str, dest: Path) -> None:
    """Write the tree of `sha` into `dest` (no .git: a checkout nobody can commit from)."""
    proc = subprocess.run(
        ["git", "archive", "--format=tar", sha], cwd=repo.path, capture_output=True, check=False
    )
    if proc.returncode != 0:
        raise RuntimeError(f"git archive {sha} failed: {proc.stderr.decode(errors='replace')}")
    dest.mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(proc.stdout)) as tar:
        tar.extractall(dest, filter="data")


@pytest.fixture(scope="session")
def checkout(
    sample_repo: SampleRepo, tmp_path_factory: pytest.TempPathFactory
) -> Callable[[str], Path]:
    """`checkout(rev)` -> a directory holding the tree of `rev`, exported once per session."""
    trees: dict[str, Path] = {}
    root = tmp_path_factory.mktemp("trees")

    def get(rev: str) -> Path:
        sha = _resolve_rev(sample_repo, rev)
        if sha not in trees:
            dest = root / sha[:12]
            _export(sample_repo, sha, dest)
            trees[sha] = dest
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


def make_sample_spec(tree: Path, data_dir: Path, **env: str) -> dict[str, Any]:
    """A `process` spec serving the sample in `tree` with uvicorn; state lives in `data_dir`."""
    data_dir.mkdir(parents=True, exist_ok=True)
    return {
        "kind": "process",
        "command": "{python} -m uvicorn shopapp.app:app --host 127.0.0.1 --port {port} "
        "--log-level warning",
        "cwd": tree,
        "health": "/healthz",
        "startup_timeout": 20,
        "stop_timeout": 3,
        "env": {
            "SHOPAPP_DATA_DIR": str(data_dir),
            "PYTHONPATH": str(REPO_ROOT),
            "PYTHONDONTWRITEBYTECODE": "1",
            **env,
        },
    }


@contextmanager
def load_sample_modules(tree: Path) -> Iterator[None]:
    """Within the block, `import shopapp` loads the package from `tree`; forgotten afterwards."""

    def forget() -> None:
        for name in [m for m in sys.modules if m == SAMPLE_PACKAGE or m.startswith("shopapp.")]:
            del sys.modules[name]

    forget()
    sys.path.insert(0, str(tree))
    importlib.invalidate_caches()
    try:
        yield
    finally:
        sys.path.remove(str(tree))
        forget()


@pytest.fixture(scope="session")
def sample_spec() -> Callable[..., dict[str, Any]]:
    """`sample_spec(tree, data_dir, **env)` -> a process spec serving the sample from `tree`."""
    return make_sample_spec


@pytest.fixture(scope="session")
def sample_modules() -> Callable[[Path], Any]:
    """`with sample_modules(tree):` -> `import shopapp` loads from `tree` inside the block."""
    return load_sample_modules


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
    from harness.targets import launch
    from scenarios.path_traversal.sandbox import create

    started: dict[str, SharedSample] = {}
    root = tmp_path_factory.mktemp("shared-sample")

    def get(rev: str) -> SharedSample:
        if rev not in started:
            here = root / rev
            box = create(here / "sandbox")
            trace = here / "dbtrace.log"
            planted = f"fg-planted-{rev}-environment"
            spec = make_sample_spec(
                checkout(rev),
                here / "data",
                SHOPAPP_EXPORT_DIR=str(box.base),
                SHOPAPP_ENV=planted,
                FIXGUARD_DBTRACE=str(trace),
            )
            spec["command"] = (
                "{python} -m scenarios.invariants.dbtrace -m uvicorn "
                "shopapp.app:app --host 127.0.0.1 --port {port} "
                "--log-level warning"
            )
            target = launch(spec).start()
            started[rev] = SharedSample(target, here / "data", box.root, trace, planted)
        return started[rev]

    yield get
    for shared in started.values():
        shared.target.stop()

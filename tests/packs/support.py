"""What the pack self-tests (through tests/packs/conftest.py) and the stability benchmarks share:
trees of the sample, serving or importing it from one, stand-in apps, and running a check.

Imported as `tests.packs.support` (the benchmarks put the checkout on sys.path first).
"""

from __future__ import annotations

import importlib
import io
import subprocess
import sys
import tarfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from harness.findings import Finding, collect
from harness.sample import SampleRepo
from harness.scenario import run
from harness.targets import TargetSpec, launch
from harness.targets.base import Target

REPO_ROOT = Path(__file__).resolve().parents[2]
SAMPLE_PACKAGE = "shopapp"


# --- the sample's trees ----------------------------------------------------------------------


def resolve_rev(repo: SampleRepo, rev: str) -> str:
    """The sha of "base", "head", a finding id (the commit of its fix or fix-up), or a sha."""
    if rev == "base":
        return repo.base
    if rev == "head":
        return repo.head
    if rev in repo.commits:
        return repo.commits[rev]
    if rev in repo.fixups:
        return repo.fixups[rev]
    return rev


def export_tree(repo: SampleRepo, rev: str, dest: Path) -> Path:
    """Write the tree of `rev` into `dest` (no .git: a checkout nobody can commit from)."""
    sha = resolve_rev(repo, rev)
    proc = subprocess.run(
        ["git", "archive", "--format=tar", sha], cwd=repo.path, capture_output=True, check=False
    )
    if proc.returncode != 0:
        raise RuntimeError(f"git archive {sha} failed: {proc.stderr.decode(errors='replace')}")
    dest.mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(proc.stdout)) as tar:
        tar.extractall(dest, filter="data")
    return dest


def sample_spec(
    tree: Path, data_dir: Path, *, trace: Path | None = None, **env: str
) -> dict[str, Any]:
    """A `process` spec serving the sample in `tree` with uvicorn; state lives in `data_dir`.
    With `trace`, it runs under the DB fetch tracer (`scenarios.invariants.dbtrace`), which
    writes there."""
    data_dir.mkdir(parents=True, exist_ok=True)
    tracer = "-m scenarios.invariants.dbtrace " if trace else ""
    if trace:
        env = {**env, "FIXGUARD_DBTRACE": str(trace)}
    return {
        "kind": "process",
        "command": f"{{python}} {tracer}-m uvicorn shopapp.app:app --host 127.0.0.1 "
        "--port {port} --log-level warning",
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
def sample_modules(tree: Path) -> Iterator[None]:
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


def module_spec(module: str) -> dict[str, Any]:
    """A `python` target whose object is the module `module` itself."""
    return {"kind": "python", "factory": "importlib:import_module", "kwargs": {"name": module}}


@contextmanager
def launch_in(tree: Path, spec: dict[str, Any] | TargetSpec | str) -> Iterator[Target]:
    """An in-process target started while `import shopapp` loads from `tree`; a str names the
    module that is the target's object."""
    with (
        sample_modules(tree),
        launch(module_spec(spec) if isinstance(spec, str) else spec) as target,
    ):
        yield target


# --- stand-in apps ---------------------------------------------------------------------------


@contextmanager
def serve_app(
    folder: Path,
    module: str,
    source: str,
    *,
    health: str = "/healthz",
    env: dict[str, str] | None = None,
    trace: Path | None = None,
) -> Iterator[Target]:
    """Serve the ASGI `app` of `source`, written to `folder/module.py`, with uvicorn; with
    `trace`, under the DB fetch tracer (`scenarios.invariants.dbtrace`), which writes there."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{module}.py").write_text(source)
    env = dict(env or {})
    tracer = ""
    if trace:
        tracer = "-m scenarios.invariants.dbtrace "
        env.update({"FIXGUARD_DBTRACE": str(trace), "PYTHONPATH": str(REPO_ROOT)})
    spec = {
        "kind": "process",
        "cwd": folder,
        "health": health,
        "env": env,
        "command": f"{{python}} {tracer}-m uvicorn {module}:app --port {{port}} "
        "--log-level warning",
    }
    with launch(spec) as target:
        yield target


# --- running a check -------------------------------------------------------------------------


def failure_of(name: str, binding: dict[str, Any], target: Target) -> str | None:
    """The failure message of check `name` on `target`, or None when it passed."""
    try:
        run(name, binding, target)
    except AssertionError as exc:
        return str(exc)
    return None


def failure(name: str, binding: dict[str, Any], target: Target) -> str:
    """The failure message of check `name`, which must fail on `target`."""
    with pytest.raises(AssertionError) as caught:
        run(name, binding, target)
    return str(caught.value)


def in_process(
    name: str, binding: dict[str, Any], factory: Any, *, within: float, **kwargs: Any
) -> str | None:
    """`failure_of` on a fresh `python` target `factory(**kwargs)`, which must be done (started
    and judged) in under `within` seconds."""
    started = time.perf_counter()
    with launch(TargetSpec(kind="python", factory=factory, kwargs=kwargs)) as target:
        try:
            return failure_of(name, binding, target)
        finally:
            assert time.perf_counter() - started < within


def findings_apart(name: str, binding: dict[str, Any], target: Target) -> list[Finding]:
    """The findings check `name` reports apart while passing on `target`; with
    server_errors = "fail" the same run fails."""
    with collect() as seen:
        run(name, binding, target)
    with pytest.raises(AssertionError, match='server_errors = "fail"'):
        run(name, {**binding, "server_errors": "fail"}, target)
    return seen


def fails_on_base_passes_on_head(outcome: Callable[[str], str | None], *says: str) -> None:
    """`outcome(rev)`, a check's failure message or None, fails on "base" with each of `says`
    in its message, and passes on "head"."""
    base = outcome("base")
    assert base is not None, "the check passed on the sample's base"
    assert all(part in base for part in says), base
    head = outcome("head")
    assert head is None, head

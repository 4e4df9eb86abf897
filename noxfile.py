"""Developer and CI sessions. `nox -l` lists them; `.ci/run` calls `nox -s tests`."""

from __future__ import annotations

import os

import nox

nox.options.default_venv_backend = "venv"
nox.options.reuse_existing_virtualenvs = True
nox.options.sessions = ["lint", "typecheck", "tests"]

PYTHON = "3.11"


def _install(session: nox.Session) -> None:
    session.install("-e", ".[dev]")


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """Run the harness's own test suite (unit, integration, scenario packs); CI runs this."""
    _install(session)
    session.run("pytest", *(session.posargs or ["-n", "2", "--dist", "loadfile"]))


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """Import contracts, ruff lint and ruff format over harness/, scenarios/, tests/, benchmarks/."""
    session.install("ruff>=0.4", "import-linter>=2.17")
    # The contracts (pyproject.toml) read the packages' source from the checkout.
    session.run("lint-imports", env={"PYTHONPATH": "."})
    session.run("ruff", "check", "harness", "scenarios", "tests", "benchmarks", "noxfile.py")
    session.run(
        "ruff", "format", "--check", "harness", "scenarios", "tests", "benchmarks", "noxfile.py"
    )


@nox.session(python=PYTHON)
def typecheck(session: nox.Session) -> None:
    """mypy over the harness and the scenario packs."""
    _install(session)
    session.run("mypy", "harness", "scenarios")


@nox.session(python=PYTHON)
def demo(session: nox.Session) -> None:
    """Materialise the sample service's history and verify every claim; writes reports/."""
    _install(session)
    session.run("harness", "demo", *session.posargs)


@nox.session(python=PYTHON)
def scenarios(session: nox.Session) -> None:
    """Run the scenario packs' self-tests against the bundled sample service."""
    _install(session)
    session.run("pytest", "scenarios", "tests/packs", *session.posargs)


@nox.session(python=PYTHON)
def gate(session: nox.Session) -> None:
    """Gate the current branch: verify touched claims and mutate changed lines (base: origin/main or posargs)."""
    _install(session)
    base = session.posargs[0] if session.posargs else os.environ.get("FIXGUARD_BASE", "origin/main")
    session.run("harness", "gate", "--base", base, *session.posargs[1:])


@nox.session(python=PYTHON)
def mutation(session: nox.Session) -> None:
    """Periodic deep run: plain mutmut over the whole harness package."""
    _install(session)
    session.run("mutmut", "run", *session.posargs)


@nox.session(python=PYTHON)
def realworld(session: nox.Session) -> None:
    """Calibration (not CI: downloads sdists): verify real fixes in published packages.

    `nox -s realworld -- --case NAME` runs one case; `-- --selfcheck` confirms each case's tests
    fail on the old release and pass on the new one, without the harness. `-- --packs [ARGS]`
    runs the pack calibration suite instead (scenario checks against real services,
    benchmarks/realworld/packs/), with the same --case, --check, --json and --cache flags.
    """
    _install(session)
    args = list(session.posargs)
    if "--packs" in args:
        args.remove("--packs")
        session.run("python", "benchmarks/realworld/packs/run.py", *args)
        return
    session.run("python", "benchmarks/realworld/run.py", *args)


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """Benchmarks (not CI): each prints a ratio against a baseline measured in the same run."""
    _install(session)
    session.run("python", "benchmarks/run_all.py", *session.posargs)

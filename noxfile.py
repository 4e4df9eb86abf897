"""Developer and CI sessions. `nox -l` lists them; `.ci/run` calls `nox -s tests`."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import nox

nox.options.default_venv_backend = "venv"
nox.options.reuse_existing_virtualenvs = True
nox.options.sessions = ["lint", "tests"]

PYTHON = "3.11"
#: The versions the suite runs on (pyproject's classifiers say the same).
PYTHONS = ["3.11", "3.12", "3.13"]
#: The whole demo, end to end: run on the first version only (it exercises no
#: interpreter-specific code the rest of the suite does not).
END_TO_END = "tests/e2e/test_sample_end_to_end.py"
#: What 3.12 and 3.13 run by default: the parts whose behaviour depends on the interpreter
#: (threads and sys.monitoring, asyncio's scheduling, fork servers and forked children,
#: coverage contexts and the probe plugin, a project interpreter of another version, the
#: package's install). Everything on each version, as CI's 25 minutes would not hold three
#: whole suites: `nox -s tests-3.13 -- all`.
VERSION_SENSITIVE = [
    "tests/concurrency",
    "tests/explore",
    "tests/mutation",
    "tests/targets",
    "tests/packaging",
    "tests/verify/test_forked_runs.py",
    "tests/verify/test_cross_python.py",
    "tests/verify/test_perturb_verify.py",
]
PARALLEL = ["-n", "2", "--dist", "loadfile"]
PYPROJECT = nox.project.load_toml("pyproject.toml")


def _works(command: str) -> bool:
    found = shutil.which(command)
    return (
        found is not None
        and subprocess.run([found, "-c", "pass"], capture_output=True).returncode == 0
    )


def _put_interpreters_on_path() -> None:
    """pyenv's shims answer only for its active versions: link its other installed versions
    of PYTHONS into a folder on PATH, so nox finds python3.12 and python3.13 there."""
    root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    links = Path(tempfile.gettempdir()) / "fixguard-nox-pythons"
    for version in PYTHONS:
        name = f"python{version}"
        if _works(name):
            continue
        found = sorted(
            root.glob(f"versions/{version}.*/bin/{name}"),
            key=lambda p: [int(n) for n in p.parts[-3].split(".") if n.isdigit()],
        )
        if found:
            links.mkdir(exist_ok=True)
            (links / name).unlink(missing_ok=True)
            (links / name).symlink_to(found[-1])
    if links.is_dir():
        os.environ["PATH"] = f"{links}{os.pathsep}{os.environ.get('PATH', '')}"


_put_interpreters_on_path()


def _install(session: nox.Session, extras: str = "all", *groups: str) -> None:
    """The project with `extras`, then the tools of each PEP 735 dependency group."""
    session.install("-e", f".[{extras}]")
    for group in groups:
        session.install(*nox.project.dependency_groups(PYPROJECT, group))


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """The harness's own test suite on 3.11, 3.12 and 3.13 (`-s tests-3.12` for one); CI runs this.

    3.11 runs everything. 3.12 and 3.13 run the interpreter-sensitive parts (VERSION_SENSITIVE);
    `-- all` runs everything there but the end-to-end demo module. Other arguments go to pytest.
    """
    _install(session, "all", "test")
    args = list(session.posargs)
    if session.python == PYTHONS[0]:
        args = args or PARALLEL
    elif args == ["all"]:
        args = [*PARALLEL, "--ignore", END_TO_END]
    elif not args:
        args = [*PARALLEL, *VERSION_SENSITIVE]
    session.run("pytest", *args)


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """Import contracts, ruff, ruff format and mypy over every tree (harness, scenarios, tests,
    benchmarks, noxfile.py); CI runs this before the tests."""
    _install(session, "all", "test", "lint", "typecheck")  # mypy reads the libraries' types
    trees = ["harness", "scenarios", "tests", "benchmarks", "noxfile.py"]
    # The contracts (pyproject.toml) read the packages' source from the checkout.
    session.run("lint-imports", env={"PYTHONPATH": "."})
    session.run("ruff", "check", *trees)
    session.run("ruff", "format", "--check", *trees)
    session.run("mypy")  # its files and settings are in pyproject.toml


@nox.session(python=PYTHON)
def demo(session: nox.Session) -> None:
    """Materialise the sample service's history and verify every claim; writes reports/."""
    _install(session, "sample")
    session.run("harness", "demo", *session.posargs)


@nox.session(python=PYTHON)
def scenarios(session: nox.Session) -> None:
    """Run the scenario packs' self-tests against the bundled sample service."""
    _install(session, "all", "test")
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
    _install(session, "all", "test")
    session.run("mutmut", "run", *session.posargs)


@nox.session(python=PYTHON)
def realworld(session: nox.Session) -> None:
    """Calibration (not CI: downloads sdists): verify real fixes in published packages.

    `nox -s realworld -- --case NAME` runs one case; `-- --selfcheck` confirms each case's tests
    fail on the old release and pass on the new one, without the harness. `-- --packs [ARGS]`
    runs the pack calibration suite instead (scenario checks against real services,
    benchmarks/realworld/packs/), with the same --case, --check, --json and --cache flags.
    """
    _install(session, "all", "test")
    args = list(session.posargs)
    if "--packs" in args:
        args.remove("--packs")
        session.run("python", "benchmarks/realworld/packs/run.py", *args)
        return
    session.run("python", "benchmarks/realworld/run.py", *args)


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """Benchmarks (not CI): each prints a ratio against a baseline measured in the same run."""
    _install(session, "all", "test")
    session.run("python", "benchmarks/run_all.py", *session.posargs)

"""The pack calibration suite: scenario checks against real services from published releases.

    python benchmarks/realworld/packs/run.py                  # every case, old and new release
    python benchmarks/realworld/packs/run.py --case NAME ...  # only these cases
    python benchmarks/realworld/packs/run.py --check          # validate the case files (offline)
    python benchmarks/realworld/packs/run.py --json out.json  # also write the outcomes as JSON

Each case is a release with a known bug of a pack's class and the release that fixed it. Each
release is installed from the package index into its own venv, a small app around it is started
as a `process` target, and the check runs in this process: an AssertionError is a violation,
the findings it reports are collected apart. Both are compared with what the case file expected
before the first run. See README.md beside this file.
Exit codes: 0 all as expected, 1 a mismatch (or a release that could not be installed or
started), 2 a bad case file.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
# The fix-commit suite's cache and venv conventions are shared, and the harness of this
# checkout is the one measured, installed or not.
sys.path[:0] = [str(HERE), str(HERE.parent), str(ROOT)]

from casebuild import DEFAULT_CACHE, BuildError, _key, interpreter  # noqa: E402
from caseset import cases_to_run, finish, markdown_table  # noqa: E402
from packcase import CASES_DIR, Expectation, PackCase, binding_for, load_cases  # noqa: E402

from harness.errors import HarnessError  # noqa: E402
from harness.findings import CheckFinding, collect  # noqa: E402
from harness.scenario import run as run_check  # noqa: E402
from harness.targets import launch  # noqa: E402
from harness.targets.base import Target  # noqa: E402

Release = Literal["old", "new"]
RELEASES: tuple[Release, ...] = ("old", "new")
#: Environment the app inherits: enough to run, nothing that could put this checkout's (or the
#: nox session's) packages in front of the release's own.
PASSED_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")


@dataclass
class Outcome:
    """What the check said on one release of one case, next to what was expected."""

    case: str
    check: str
    release: Release
    package: str
    version: str
    expected: Expectation
    #: None when the check never ran (install or start failed: see `error`).
    violation: bool | None = None
    #: The first lines of the check's AssertionError.
    message: str = ""
    findings: list[str] = field(default_factory=list)
    error: str = ""
    #: From launch to the end of the check (the venv is built before, and cached).
    seconds: float = 0.0
    #: Of `seconds`: until the app answered its health check.
    start_seconds: float = 0.0
    #: Making the venv before that (about nothing when it is cached).
    build_seconds: float = 0.0
    #: `pip freeze` of the release's venv: what exactly was measured.
    installed: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.error and not self.mismatches()

    def mismatches(self) -> list[str]:
        """Why the outcome differs from the expectation (empty when it matches)."""
        exp = self.expected
        if self.error:
            return [self.error]
        wrong: list[str] = []
        if self.violation != exp.violation:
            wrong.append(f"violation: expected {_yes(exp.violation)}, got {_yes(self.violation)}")
        wrong += [
            f"violation does not show {s!r}" for s in exp.violation_shows if s not in self.message
        ]
        wrong += [
            f"no finding shows {s!r}"
            for s in exp.findings
            if not any(s in f for f in self.findings)
        ]
        wrong += [
            f"unexpected finding: {f.splitlines()[0][:160]}"
            for f in self.findings
            if not any(s in f for s in exp.findings)
        ]
        return wrong

    def got(self) -> str:
        if self.error:
            return self.error.split(":", 1)[0]
        return f"{_yes(self.violation)}{_findings_text(self.findings, self.expected.findings)}"


def _yes(value: bool | None) -> str:
    return "violation" if value else "no violation"


def _findings_text(findings: list[str], known: tuple[str, ...]) -> str:
    """' + 3 findings (answered 500 ×3)': grouped by the expected substring each one shows."""
    if not findings:
        return ""
    groups: dict[str, int] = {}
    for problem in findings:
        label = next((s for s in known if s in problem), problem.splitlines()[0][:60])
        groups[label] = groups.get(label, 0) + 1
    inner = ", ".join(f"{label} ×{n}" for label, n in groups.items())
    return f" + {len(findings)} finding{'s' if len(findings) != 1 else ''} ({inner})"


def expected_text(exp: Expectation) -> str:
    text = _yes(exp.violation)
    if exp.findings:
        text += " + findings (" + ", ".join(exp.findings) + ")"
    return text


# --- venvs -------------------------------------------------------------------------------


def venv_for(case: PackCase, release: Release, cache: Path) -> tuple[Path, list[str]]:
    """The venv python with package==version and the case's pins; built once per set of pins.

    Wheels where the index has them; a release published as an sdist only is built by pip.
    Two runners sharing the cache (two people calibrating at once) take turns on each venv.
    """
    python = interpreter()
    version = subprocess.run(
        [python, "-c", "import sys; print(sys.version)"], capture_output=True, text=True, check=True
    ).stdout.strip()
    pins = [f"{case.package}=={case.version(release)}", *sorted(case.deps)]
    venv = cache / "venvs" / _key(python, version, *pins)
    venv.parent.mkdir(parents=True, exist_ok=True)
    with open(venv.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (venv / ".installed").exists():
            _build_venv(python, venv, pins)
    return venv / "bin" / "python", (venv / "freeze.txt").read_text().split()


def _build_venv(python: str, venv: Path, pins: list[str]) -> None:
    if venv.exists():
        shutil.rmtree(venv)
    subprocess.run([python, "-m", "venv", str(venv)], check=True, capture_output=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "--disable-pip-version-check"]
    proc = subprocess.run(
        [*pip, "install", "-q", "--prefer-binary", *pins], capture_output=True, text=True
    )
    if proc.returncode != 0:
        lines = proc.stderr.strip().splitlines() or ["no output"]
        raise BuildError(f"pip install {' '.join(pins)}: {lines[-1]}")
    listed = subprocess.run([*pip, "freeze"], capture_output=True, text=True)
    if listed.returncode != 0:
        raise BuildError(f"pip freeze in {venv}: {listed.stderr.strip()[-200:]}")
    (venv / "freeze.txt").write_text(listed.stdout)
    (venv / ".installed").write_text("\n".join(pins) + "\n")


# --- one run -------------------------------------------------------------------------------


def target_spec(case: PackCase, python: Path, sandbox: Path | None, log: Path) -> dict[str, object]:
    """The `process` target for the app: {app} and the sandbox paths filled in here."""
    values = {"app": str(case.app_path)}
    if sandbox is not None:
        values |= {"sandbox": str(sandbox), "sandbox_base": str(sandbox / "base")}

    def fill(text: str, quote: bool) -> str:
        for key, value in values.items():
            text = text.replace(f"{{{key}}}", shlex.quote(value) if quote else value)
        return text

    env = {k: os.environ[k] for k in PASSED_ENV if k in os.environ}
    env |= {k: fill(v, quote=False) for k, v in case.env.items()}
    spec: dict[str, object] = {
        "kind": "process",
        "name": f"{case.name}:{case.package}",
        "command": fill(case.command, quote=True),
        "python": str(python),
        "env": env,
        "inherit_env": False,
        "startup_timeout": case.startup_timeout,
        "log_file": str(log),
    }
    if case.health:
        spec["health"] = case.health
    return spec


def run_release(case: PackCase, release: Release, cache: Path) -> Outcome:
    """Install, start and check one release of `case`; never raises for the release's faults."""
    outcome = Outcome(
        case.name,
        case.check,
        release,
        case.package,
        case.version(release),
        case.expectation(release),
    )
    building = time.monotonic()
    try:
        python, outcome.installed = venv_for(case, release, cache)
    except (BuildError, subprocess.CalledProcessError) as exc:
        outcome.error = f"BUILD: {exc}"
        return outcome
    finally:
        outcome.build_seconds = time.monotonic() - building
    logs = cache / "runs" / case.name
    logs.mkdir(parents=True, exist_ok=True)
    log = logs / f"{release}-{case.version(release)}.log"
    log.unlink(missing_ok=True)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix=f"packs-{case.name}-") as tmp:
        sandbox = make_sandbox(Path(tmp) / "sandbox") if case.sandbox else None
        try:
            with launch(target_spec(case, python, sandbox, log)) as target:
                outcome.start_seconds = time.monotonic() - started
                violation, message, findings = check_once(case, target, sandbox)
        except HarnessError as exc:
            outcome.error = f"TARGET: {str(exc).splitlines()[0]} (log: {log})"
            outcome.seconds = time.monotonic() - started
            return outcome
        except Exception as exc:  # a check that crashes is one bad row, not the end of the run
            outcome.error = f"CRASH: {type(exc).__name__}: {exc} (log: {log})"
            outcome.seconds = time.monotonic() - started
            return outcome
    outcome.seconds = time.monotonic() - started
    outcome.violation, outcome.message, outcome.findings = violation, message, findings
    return outcome


def make_sandbox(root: Path) -> Path:
    from scenarios.path_traversal.sandbox import create

    return create(root).root


def check_once(case: PackCase, target: Target, sandbox: Path | None) -> tuple[bool, str, list[str]]:
    """Run the check: (violation?, the AssertionError's text, the findings' problems)."""
    # Findings are collected here; their warnings would only repeat them on stderr.
    with warnings.catch_warnings(record=True), collect() as found:
        warnings.simplefilter("ignore", CheckFinding)
        try:
            run_check(case.check, binding_for(case, sandbox), target)
        except AssertionError as exc:
            message = str(exc)
            return True, message, [f.problem for f in found]
    return False, "", [f.problem for f in found]


# --- the table -----------------------------------------------------------------------------


def table(outcomes: list[Outcome]) -> str:
    """A markdown table, pasteable into the README, and the count as expected."""
    columns = [
        "case",
        "check",
        "release",
        "expected",
        "got",
        "match",
        "time",
        "of it start",
        "venv",
    ]
    rows = [
        [
            o.case,
            o.check,
            f"{o.release} {o.package} {o.version}",
            expected_text(o.expected),
            o.got(),
            "✓" if o.ok else "✗",
            f"{o.seconds:.1f}s",
            f"{o.start_seconds:.1f}s",
            f"{o.build_seconds:.1f}s",
        ]
        for o in outcomes
    ]
    matched = sum(o.ok for o in outcomes)
    return "\n".join(
        [*markdown_table(columns, rows), "", f"as expected: {matched} of {len(outcomes)} runs"]
    )


def to_json(outcome: Outcome) -> dict[str, object]:
    data = asdict(outcome)
    data["expected"] = outcome.expected.model_dump()
    data["ok"] = outcome.ok
    data["mismatches"] = outcome.mismatches()
    return data


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--case", action="append", default=[], metavar="NAME")
    parser.add_argument("--check", action="store_true", help="validate the case files and stop")
    parser.add_argument(
        "--release",
        choices=RELEASES,
        action="append",
        default=[],
        help="only this release of each case (repeatable; default both)",
    )
    parser.add_argument(
        "--cache",
        type=Path,
        default=DEFAULT_CACHE,
        help="the realworld cache; pack venvs and logs go under its packs/",
    )
    parser.add_argument("--cases-dir", type=Path, default=CASES_DIR)
    parser.add_argument("--json", type=Path, default=None, help="also write the outcomes here")
    args = parser.parse_args(argv)
    cases = cases_to_run(args, load_cases, "pack case files")
    if isinstance(cases, int):
        return cases
    cache = args.cache / "packs"
    outcomes: list[Outcome] = []
    for case in cases:
        for release in args.release or RELEASES:
            print(
                f"-- {case.name}: {case.check} on {case.package} {case.version(release)} "
                f"({release})",
                flush=True,
            )
            outcome = run_release(case, release, cache)
            mark = "ok" if outcome.ok else "MISMATCH: " + "; ".join(outcome.mismatches())
            print(f"   {outcome.got()} in {outcome.seconds:.1f}s [{mark}]", flush=True)
            outcomes.append(outcome)
    return finish(outcomes, table(outcomes), args.json, to_json)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

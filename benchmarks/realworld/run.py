"""The real-world calibration suite (`nox -s realworld`): verify real fixes from published sdists.

    python benchmarks/realworld/run.py                    # every case: verdict table, exit 1 on a mismatch
    python benchmarks/realworld/run.py --case NAME ...    # only these cases
    python benchmarks/realworld/run.py --selfcheck        # no harness: the tests fail 3/3 on old, pass 3/3 on new
                                                          # (concurrency cases: under the perturbation plugin)
    python benchmarks/realworld/run.py --check            # validate the case files only (no download)

Each case is two consecutive releases of a package (old: buggy, new: fixed), built into a
two-commit git repo, with one venv of pinned test dependencies; see README.md beside this file.
Exit codes: 0 all as expected, 1 a mismatch (or a case that could not be built), 2 a bad case file.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass, field
from fnmatch import fnmatch
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from casebuild import DEFAULT_CACHE, BuildError, materialise, run_prepare
from caseset import CASES_DIR, Case, cases_to_run, finish, load_cases, markdown_table

from harness.claims.model import FixRange
from harness.testrun import copy_perturb_plugin, perturb_args
from harness.verify.perturbation import Targets, targets

ROOT = Path(__file__).resolve().parents[2]
SELFCHECK_RUNS = 3
#: Files of the new release laid over the old one for the self-check: the regression tests and
#: the pytest configuration they need (the same idea as SWE-bench's test patch).
OVERLAY_GLOBS = (
    "tests/*",
    "test/*",
    "*/tests/*",
    "*/test/*",
    "test_*.py",
    "*_test.py",
    "conftest.py",
    "pytest.ini",
    "tox.ini",
    "setup.cfg",
    "pyproject.toml",
)


@dataclass
class Outcome:
    """What happened to one case: the verdict (or self-check counts) and the numbers to show."""

    case: str
    bug_class: str
    expected: str
    got: str
    seconds: float
    mutants: int = 0
    #: Undetected mutants that decide the verdict (under the rule the harness applies).
    gaps: int = 0
    weak_spots: int = 0
    #: Of `seconds`: the suite-kill phase (survivors of the claim's tests against the others).
    suite_seconds: float = 0.0
    reason: str = ""
    detail: dict[str, object] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.got == self.expected


def _env(case: Case, tree: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "COV_"))}
    env["PYTHONPATH"] = str(tree / case.pythonpath) if case.pythonpath else str(tree)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.pop("VIRTUAL_ENV", None)
    return env


def overlay(new_tree: Path, dest: Path, case: Case) -> list[str]:
    """Copy the new release's test files (and the case's named test files) over `dest`."""
    laid: list[str] = []
    for path in sorted(new_tree.rglob("*")):
        if not path.is_file():
            continue
        rel = path.relative_to(new_tree).as_posix()
        named = rel in case.test_files
        if named or any(fnmatch(rel, g) or fnmatch(path.name, g) for g in OVERLAY_GLOBS):
            target = dest / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
            laid.append(rel)
    return laid


def selfcheck_perturbation(case: Case, repo: Path) -> Targets | None:
    """A concurrency case's tests run under the standalone perturbation plugin, as verify runs
    them: seeded switches in the fix's files, stalls at the lines the diff changes, no verdict
    logic. None for a plain case."""
    if not case.concurrency:
        return None
    fix = [FixRange.parse(f) for f in case.fix]
    return targets(repo, "HEAD~1", "HEAD", fix, case.tests)


def spec(perturbed: Targets | None, side: str, tree: Path, seed: int) -> str | None:
    return perturbed.spec("auto", side, tree, seed) if perturbed is not None else None


def run_tests(case: Case, python: Path, tree: Path, perturb: str | None = None) -> str:
    """Run the case's tests once in `tree`: 'pass', 'fail', 'hang', or 'error(exit N)'."""
    with tempfile.TemporaryDirectory(prefix="realworld-junit-") as tmp:
        junit = Path(tmp) / "junit.xml"
        command = [str(python), "-m", "pytest", *case.tests, "-q", "-p", "no:cacheprovider"]
        command += [f"--junitxml={junit}", "-o", "junit_family=xunit1", *case.pytest_args]
        env = _env(case, tree)
        if perturb:
            copy_perturb_plugin(Path(tmp))
            command += perturb_args(perturb)
            env["PYTHONPATH"] = os.pathsep.join([env["PYTHONPATH"], tmp])
        try:
            proc = subprocess.run(
                command,
                cwd=tree,
                env=env,
                capture_output=True,
                text=True,
                timeout=case.timeout,
            )
        except subprocess.TimeoutExpired:
            return "hang"
        if proc.returncode == 0:
            return "pass"
        failed = _failed_tests(junit)
        if proc.returncode in (1, 3) and failed:
            return "fail"
        return f"error(exit {proc.returncode})"


def _failed_tests(junit: Path) -> int:
    """Tests that ran and failed (collection errors are not failures of the tests)."""
    if not junit.exists():
        return 0
    try:
        root = ET.parse(junit).getroot()
    except ET.ParseError:
        return 0
    count = 0
    for testcase in root.iter("testcase"):
        error = testcase.find("error")
        if error is not None and error.get("message") == "collection failure":
            continue
        if testcase.find("failure") is not None or error is not None:
            count += 1
    return count


def selfcheck(case: Case, cache: Path) -> Outcome:
    """Without the harness: the tests fail 3/3 on old (with new tests laid over), pass 3/3 on new."""
    started = time.monotonic()
    repo, python, old_tree, new_tree = materialise(case, cache)
    perturbed = selfcheck_perturbation(case, repo)
    with tempfile.TemporaryDirectory(prefix=f"realworld-{case.name}-") as tmp:
        old = Path(tmp) / "old"
        new = Path(tmp) / "new"
        shutil.copytree(old_tree, old, symlinks=True)
        shutil.copytree(new_tree, new, symlinks=True)
        run_prepare(case, old)
        run_prepare(case, new)
        overlay(new_tree, old, case)
        on_old = [
            run_tests(case, python, old, spec(perturbed, "base", old, i + 1))
            for i in range(SELFCHECK_RUNS)
        ]
        on_new = [
            run_tests(case, python, new, spec(perturbed, "head", new, i + 1))
            for i in range(SELFCHECK_RUNS)
        ]
    fails = sum(r in ("fail", "hang") for r in on_old)
    passes = sum(r == "pass" for r in on_new)
    want_fails, want_passes = selfcheck_expectation(case)
    # A concurrency claim is reproduced by one failing run of n (k = 1), as verify judges it:
    # each seed is one schedule, and an even seed may miss a window an odd one opens.
    shown = f"{fails}/{SELFCHECK_RUNS}"
    wanted = f"{want_fails}/{SELFCHECK_RUNS}"
    if case.concurrency and want_fails:
        shown = f">=1/{SELFCHECK_RUNS}" if fails else shown
        wanted = f">=1/{SELFCHECK_RUNS}"
    return Outcome(
        case=case.name,
        bug_class=case.bug_class,
        expected=f"{wanted} fail, {want_passes}/{SELFCHECK_RUNS} pass",
        got=f"{shown} fail, {passes}/{SELFCHECK_RUNS} pass",
        seconds=time.monotonic() - started,
        reason=f"old: {', '.join(on_old)}; new: {', '.join(on_new)}",
    )


def selfcheck_expectation(case: Case) -> tuple[int, int]:
    """(failures on old, passes on new) out of SELFCHECK_RUNS that the expected verdict implies."""
    n = SELFCHECK_RUNS
    if case.expected == "NOT_REPRODUCED":
        return 0, n
    if case.expected == "STILL_FAILING":
        return n, 0
    return n, n


def manifest_for(case: Case) -> str:
    """A harness.toml with one claim: the case's tests, fix lines and run settings."""
    run = {
        "env": {"PYTHONPATH": case.pythonpath or "."},
        "pytest_args": list(case.pytest_args),
        "timeout": case.timeout,
        "concurrency": case.concurrency,
    }
    lines = ["[[claims]]", f"id = {json.dumps(case.name)}"]
    lines.append(f"title = {json.dumps(f'{case.package} {case.new}: {case.bug_class} fix')}")
    lines.append(f"source = {json.dumps(case.source)}")
    lines.append(f"tests = {json.dumps(list(case.tests))}")
    lines.append(f"fix = {json.dumps(list(case.fix))}")
    lines.append("[claims.run]")
    lines.append(f"env = {{ PYTHONPATH = {json.dumps(run['env']['PYTHONPATH'])} }}")
    lines.append(f"pytest_args = {json.dumps(run['pytest_args'])}")
    lines.append(f"timeout = {case.timeout}")
    lines.append(f"concurrency = {'true' if case.concurrency else 'false'}")
    return "\n".join(lines) + "\n"


def verify(case: Case, cache: Path, limit: float, workers: int) -> Outcome:
    """Run `harness verify` on the case's repo and read its verdict from results.json."""
    started = time.monotonic()
    repo, python, _, _ = materialise(case, cache)
    work = cache / "runs" / case.name
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    manifest = work / "harness.toml"
    manifest.write_text(manifest_for(case))
    out = work / "reports"
    command = [sys.executable, "-m", "harness.cli", "verify", "--repo", str(repo)]
    command += ["--base", "HEAD~1", "--head", "HEAD", "--manifest", str(manifest)]
    command += ["--python", str(python), "--out", str(out), "--workers", str(workers)]
    # A fresh mutant store per run: a calibration number must never come from a cached result.
    env = {**os.environ, "FIXGUARD_CACHE_DIR": str(work / "store"), "NO_COLOR": "1"}
    # Compiled modules are no result: every case shares them, as every run of a user does.
    env["FIXGUARD_BYTECODE_DIR"] = str(cache / "bytecode")
    # The harness of this checkout is the one measured, installed or not.
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    log = work / "harness.log"
    try:
        with log.open("w") as handle:
            proc = subprocess.run(
                command,
                cwd=work,
                env=env,
                stdout=handle,
                stderr=subprocess.STDOUT,
                timeout=limit,
            )
    except subprocess.TimeoutExpired:
        return Outcome(case.name, case.bug_class, case.expected, "TIMEOUT", limit, reason=str(log))
    seconds = time.monotonic() - started
    results = out / "results.json"
    if not results.exists():
        last = log.read_text(errors="replace").strip().splitlines()[-1:] or ["no output"]
        return Outcome(
            case.name,
            case.bug_class,
            case.expected,
            f"CRASH(exit {proc.returncode})",
            seconds,
            reason=last[0],
        )
    run = json.loads(results.read_text())["run"]
    claim = run["claims"][0]
    statuses = [m["status"] for m in claim["mutants"]]
    scored = [s for s in statuses if s not in ("skipped", "invalid", "pending")]
    undetected = [m for m in claim["mutants"] if m["status"] in ("survived", "no_coverage")]
    return Outcome(
        case=case.name,
        bug_class=case.bug_class,
        expected=case.expected,
        got=claim["verdict"],
        # The harness's own time: building the case's repo and venv is not part of a verify.
        seconds=float(run.get("duration", seconds)),
        suite_seconds=float(claim.get("timings", {}).get("suite", 0.0)),
        mutants=len(scored),
        gaps=sum(1 for m in undetected if m.get("reverting", True)),
        weak_spots=sum(1 for m in undetected if not m.get("reverting", True)),
        reason=claim["reason"],
        detail={
            "base": [r["outcome"] for r in claim["base_runs"]],
            "head": [r["outcome"] for r in claim["head_runs"]],
            "undetected": [
                f"{m['file']}:{m['line']} {m['operator']} ({m['status']})" for m in undetected
            ],
            "log": str(log),
        },
    )


def table(outcomes: list[Outcome], selfcheck_mode: bool) -> str:
    """A markdown table (pasteable into the README) and the count correct."""
    columns = ["case", "class", "expected", "got", "ok"]
    if selfcheck_mode:
        columns += ["runs", "time"]
    else:
        columns += ["time", "of it suite kills", "×", "mutants", "gaps", "weak spots"]
    rows = []
    for o in outcomes:
        cells = [o.case, o.bug_class, o.expected, o.got, "✓" if o.ok else "✗"]
        if selfcheck_mode:
            cells += [o.reason, f"{o.seconds:.0f}s"]
        else:
            cells += [
                f"{o.seconds:.0f}s",
                f"{o.suite_seconds:.0f}s",
                f"{suite_factor(o):.2f}",
                str(o.mutants),
                str(o.gaps),
                str(o.weak_spots),
            ]
        rows.append(cells)
    correct = sum(o.ok for o in outcomes)
    return "\n".join([*markdown_table(columns, rows), "", f"correct: {correct} of {len(outcomes)}"])


def suite_factor(outcome: Outcome) -> float:
    """How many times longer the case took than it would have without the suite kills."""
    alone = outcome.seconds - outcome.suite_seconds
    return outcome.seconds / alone if alone > 0 else 1.0


def cases_table(cases: list[Case]) -> str:
    """The README's case table: each case, its release pair, class, expectation and why."""
    rows = [
        [
            f"[{case.name}](cases/{case.name}.toml)",
            f"{case.package} {case.old} → {case.new}",
            case.bug_class,
            case.expected,
            case.why.replace("|", "/"),
        ]
        for case in cases
    ]
    return "\n".join(markdown_table(["case", "release", "class", "expected", "why"], rows))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", action="append", default=[], metavar="NAME")
    parser.add_argument("--selfcheck", action="store_true", help="confirm the tests, no harness")
    parser.add_argument("--check", action="store_true", help="validate the case files and stop")
    parser.add_argument("--table", action="store_true", help="print the README's case table")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--cases-dir", type=Path, default=CASES_DIR)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--case-timeout", type=float, default=900.0, help="seconds for one harness verify"
    )
    parser.add_argument("--json", type=Path, default=None, help="also write the outcomes here")
    args = parser.parse_args(argv)
    cases = cases_to_run(args, load_cases, "case files")
    if isinstance(cases, int):
        return cases
    if args.table:
        print(cases_table(cases))
        return 0
    outcomes: list[Outcome] = []
    for case in cases:
        print(f"-- {case.name} ({case.package} {case.old} -> {case.new})", flush=True)
        try:
            if args.selfcheck:
                outcome = selfcheck(case, args.cache)
            else:
                outcome = verify(case, args.cache, args.case_timeout, args.workers)
        except BuildError as exc:
            outcome = Outcome(case.name, case.bug_class, case.expected, "BUILD", 0, reason=str(exc))
        finally:
            for leftover in case.cleanup:
                Path(leftover).unlink(missing_ok=True)
        mark = "ok" if outcome.ok else "MISMATCH"
        print(f"   {outcome.got} in {outcome.seconds:.0f}s [{mark}] {outcome.reason}", flush=True)
        outcomes.append(outcome)
    return finish(outcomes, table(outcomes, args.selfcheck), args.json, asdict)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

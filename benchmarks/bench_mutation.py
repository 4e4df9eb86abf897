"""Benchmark: Fixguard's scoped mutation run against `mutmut run` on one sample fix commit.

Three runs on the same fix commit of the bundled sample service (default: ticket-cap):

1. ours: `run_mutation` on the fix's diff lines with the claim's tests (2 workers, k-of-n);
2. mutmut full: `mutmut run` over the whole package (its fork mode, 2 children);
3. mutmut restricted: `mutmut run "<module>.<touched function>__mutmut_*"` (name globs).

For each it prints the wall time, the number of mutants, and which mutants on the fix lines it
generates and kills; then the ratios, and mutants per second of each. Figures come from this one
run; nothing is hard-coded. mutmut's full run is capped (--cap); a capped run is reported as a
lower bound with its measured rate.

    python benchmarks/bench_mutation.py [--claim ticket-cap] [--cap 900] [--skip-full]
"""

from __future__ import annotations

import argparse
import ast
import functools
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from harness import git as mgit
from harness.mutation import MutationOptions, run_mutation, scope_from_diff

print = functools.partial(print, flush=True)


@dataclass
class ToolRun:
    name: str
    wall: float
    mutants: int
    finished: int
    killed: int
    capped: bool = False
    #: (label, status) of each mutant whose change touches a fix line.
    fix_line: list[tuple[str, str]] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.finished / self.wall if self.wall else 0.0


def sample_fix(claim_id: str, dest: Path) -> tuple[Path, str, str, list[str], list[str], dict]:
    from harness.sample import load_claims, materialise

    repo = materialise(dest)
    if claim_id not in repo.commits:
        raise SystemExit(
            f"claim={claim_id!r}: no fix commit in the sample (have {sorted(repo.commits)})"
        )
    head = repo.commits[claim_id]
    base = mgit.git(repo.path, "rev-parse", f"{head}^").strip()
    claim = next(c for c in load_claims(repo.manifest) if c["id"] == claim_id)
    run = tomllib.loads(repo.manifest.read_text()).get("run", {})
    return (
        repo.path,
        base,
        head,
        list(claim.get("fix", [])),
        list(claim.get("tests", [])),
        {
            "pytest_args": list(run.get("pytest_args", [])),
            "repeats": int(claim.get("run", {}).get("repeats", 1)),
            "concurrency": bool(claim.get("run", {}).get("concurrency", False)),
        },
    )


def ours(
    repo: Path,
    base: str,
    head: str,
    files: list[str],
    tests: list[str],
    settings: dict,
    store: Path,
) -> tuple[ToolRun, dict[int, str]]:
    scope = scope_from_diff(repo, base, head, files=files or None)
    started = time.monotonic()
    result = run_mutation(
        MutationOptions(
            repo=repo,
            rev=head,
            scope=scope,
            tests=tests or None,
            python=sys.executable,
            pytest_args=settings["pytest_args"],
            workers=2,
            repeats=settings["repeats"],
            concurrency=settings["concurrency"],
            store=store,
        )
    )
    wall = time.monotonic() - started
    run = ToolRun(
        "fixguard (scoped)",
        wall,
        len(result.mutants),
        len(result.mutants),
        sum(1 for m in result.mutants if m.status.is_detected),
    )
    run.fix_line = [
        (f"{m.file}:{m.line} {m.family}/{m.operator}", m.status.value) for m in result.mutants
    ]
    lines = {}
    for fs in scope.files:
        for line in fs.lines:
            lines[line] = fs.path
    return run, lines


def _mutmut_copy(repo: Path, head: str, dest: Path, package: str, pytest_args: list[str]) -> Path:
    mgit.export(repo, head, dest)
    pyproject = dest / "pyproject.toml"
    # mutmut copies only the source and tests into mutants/: bring the rest (migrations, …).
    also = sorted(
        p.name + ("/" if p.is_dir() else "")
        for p in dest.iterdir()
        if p.name not in (package, "tests", "pyproject.toml", "mutants")
        and not p.name.startswith(".")
    )
    extra = [a for a in pytest_args if a not in ("-q",)]
    pyproject.write_text(
        pyproject.read_text()
        + "\n[tool.mutmut]\n"
        + f'source_paths = ["{package}/"]\n'
        + 'pytest_add_cli_args_test_selection = ["tests/"]\n'
        + f"pytest_add_cli_args = {extra!r}\n".replace("'", '"')
        + f"also_copy = {also!r}\n".replace("'", '"')
    )
    return dest


def _mutmut(workdir: Path, *args: str, cap: float | None = None) -> tuple[float, bool, str]:
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "mutmut", *args],
        cwd=workdir,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        out, _ = proc.communicate(timeout=cap)
        capped = False
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        capped = True
    return time.monotonic() - started, capped, out


def _mutmut_results(workdir: Path) -> dict[str, str]:
    _, _, out = _mutmut(workdir, "results", "--all", "true")
    found = {}
    for line in out.splitlines():
        m = re.match(r"^\s+(\S+): (.+)$", line)
        if m:
            found[m.group(1)] = m.group(2).strip()
    return found


def mutmut_run(name: str, wall: float, statuses: dict[str, str], capped: bool) -> ToolRun:
    """A mutmut run counted from its statuses: a timeout counts as killed, as mutmut reports it."""
    return ToolRun(
        name,
        wall,
        len(statuses),
        sum(1 for v in statuses.values() if v != "not checked"),
        sum(1 for v in statuses.values() if v in ("killed", "timeout")),
        capped,
    )


def touched_functions(source: str, lines: set[int]) -> list[tuple[str, int]]:
    """mutmut's mangled names (x_f, xǁCǁm) of the functions holding `lines`, with start lines."""
    found = []
    tree = ast.parse(source)
    for node in tree.body:
        items: list[tuple[str | None, ast.FunctionDef | ast.AsyncFunctionDef]] = (
            [(None, node)] if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) else []
        )
        if isinstance(node, ast.ClassDef):
            items = [
                (node.name, n)
                for n in node.body
                if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
            ]
        for cls, fn in items:
            start = min([fn.lineno, *(d.lineno for d in fn.decorator_list)])
            if any(start <= line <= (fn.end_lineno or start) for line in lines):
                found.append((f"xǁ{cls}ǁ{fn.name}" if cls else f"x_{fn.name}", start))
    return found


def mutmut_fix_line(
    workdir: Path, module: str, source: str, fix: set[int], statuses: dict[str, str]
) -> list[tuple[str, str]]:
    """The mutmut mutants whose diff changes a fix line (mapped from function-relative lines)."""
    out = []
    for name, start in touched_functions(source, fix):
        prefix = f"{module}.{name}__mutmut_"
        for mutant in sorted(k for k in statuses if k.startswith(prefix)):
            _, _, diff = _mutmut(workdir, "show", mutant)
            changed = set()
            old = 0
            for line in diff.splitlines():
                hunk = re.match(r"^@@ -(\d+)", line)
                if hunk:
                    old = int(hunk.group(1))
                    continue
                if line.startswith("---") or line.startswith("+++"):
                    continue
                if line.startswith("-"):
                    changed.add(start + old - 1)
                    old += 1
                elif line.startswith(" "):
                    old += 1
            if changed & fix:
                out.append((mutant, statuses[mutant]))
    return out


UNIT_SOURCE = """\
def clamp(x, lo, hi):
    if x < lo:
        return lo
    if x > hi:
        return hi
    return x


def mean(values):
    if not values:
        raise ValueError("empty")
    return sum(values) / len(values)


def fizz(n):
    if n % 15 == 0:
        return "FizzBuzz"
    if n % 3 == 0:
        return "Fizz"
    if n % 5 == 0:
        return "Buzz"
    return str(n)


def discount(price, pct):
    cut = price * pct // 100
    return max(price - cut, 0)
"""

UNIT_TESTS = """\
import pytest

from pkg.calc import clamp, discount, fizz, mean


def test_clamp():
    assert clamp(5, 0, 10) == 5
    assert clamp(-1, 0, 10) == 0
    assert clamp(11, 0, 10) == 10
    assert clamp(10, 0, 10) == 10


def test_mean():
    assert mean([1, 2, 3]) == 2
    with pytest.raises(ValueError):
        mean([])


def test_fizz():
    assert [fizz(i) for i in (1, 3, 5, 15)] == ["1", "Fizz", "Buzz", "FizzBuzz"]


def test_discount():
    assert discount(200, 10) == 180
    assert discount(10, 200) == 0
"""


def unit_throughput(tmp: Path, cap: float) -> list[ToolRun]:
    """Mutants per second on a plain unit-tested module: ours (subprocess) vs mutmut (fork)."""
    from harness.mutation import scope_from_ranges

    repo = tmp / "unit"
    (repo / "pkg").mkdir(parents=True)
    (repo / "tests").mkdir()
    (repo / "pkg" / "__init__.py").write_text("")
    (repo / "pkg" / "calc.py").write_text(UNIT_SOURCE)
    (repo / "tests" / "test_calc.py").write_text(UNIT_TESTS)
    (repo / "pyproject.toml").write_text("[project]\nname = 'unit'\nversion = '0'\n")
    for args in (
        ["init", "-q"],
        ["add", "-A"],
        ["-c", "user.email=b@x", "-c", "user.name=b", "commit", "-qm", "unit"],
    ):
        subprocess.run(["git", "-C", str(repo), *args], check=True)
    lines = len(UNIT_SOURCE.splitlines())
    scope = scope_from_ranges(repo, "HEAD", [f"pkg/calc.py:1-{lines}"])
    started = time.monotonic()
    result = run_mutation(MutationOptions(repo=repo, rev=scope.rev, scope=scope, workers=2))
    wall = time.monotonic() - started
    detected = sum(1 for m in result.mutants if m.status.is_detected)
    ours_run = ToolRun(
        "fixguard (fork server)", wall, len(result.mutants), len(result.mutants), detected
    )
    copy = _mutmut_copy(repo, "HEAD", tmp / "unit-mutmut", "pkg", [])
    wall, capped, _out = _mutmut(copy, "run", "--max-children", "2", cap=cap)
    return [ours_run, mutmut_run("mutmut (fork)", wall, _mutmut_results(copy), capped)]


def report_unit(unit: list[ToolRun]) -> None:
    print("\nplain unit tests (pkg/calc.py, every line in scope):")
    for r in unit:
        print(
            f"  {r.name:24} {r.finished:4} mutants in {r.wall:6.1f}s = {r.rate:6.2f} "
            f"mutants/s, {r.killed} killed"
        )
    print(f"  mutants/s ratio fixguard/mutmut-fork: {unit[0].rate / max(unit[1].rate, 1e-9):.2f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claim", default="ticket-cap")
    parser.add_argument("--cap", type=float, default=900.0, help="seconds for mutmut's full run")
    parser.add_argument("--skip-full", action="store_true")
    parser.add_argument(
        "--unit-only", action="store_true", help="only the plain unit-test throughput"
    )
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="fixguard-bench-"))
    try:
        if args.unit_only:
            report_unit(unit_throughput(tmp, args.cap))
            return 0
        repo, base, head, files, tests, settings = sample_fix(args.claim, tmp / "sample")
        print(f"sample fix {args.claim}: {base[:10]}..{head[:10]} files={files} tests={tests}")
        ours_run, fix_lines = ours(repo, base, head, files, tests, settings, tmp / "ours.sqlite3")
        fix_file = sorted(set(fix_lines.values()))[0]
        fix = {line for line, path in fix_lines.items() if path == fix_file}
        module = fix_file.removesuffix(".py").replace("/", ".")
        package = fix_file.split("/")[0]
        source = mgit.show(repo, head, fix_file) or ""
        runs = [ours_run]

        restricted_dir = _mutmut_copy(
            repo, head, tmp / "mutmut-restricted", package, settings["pytest_args"]
        )
        globs = [f"{module}.{name}__mutmut_*" for name, _ in touched_functions(source, fix)]
        wall, capped, _out = _mutmut(
            restricted_dir, "run", "--max-children", "2", *globs, cap=args.cap
        )
        statuses = _mutmut_results(restricted_dir)
        selected = {
            k: v
            for k, v in statuses.items()
            if any(re.fullmatch(g.replace("*", ".*"), k) for g in globs)
        }
        r = mutmut_run("mutmut (touched functions)", wall, selected, capped)
        r.fix_line = mutmut_fix_line(restricted_dir, module, source, fix, selected)
        runs.append(r)

        if not args.skip_full:
            full_dir = _mutmut_copy(
                repo, head, tmp / "mutmut-full", package, settings["pytest_args"]
            )
            wall, capped, _out = _mutmut(full_dir, "run", "--max-children", "2", cap=args.cap)
            statuses = _mutmut_results(full_dir)
            r = mutmut_run("mutmut (full)", wall, statuses, capped)
            r.fix_line = mutmut_fix_line(full_dir, module, source, fix, statuses)
            runs.append(r)

        print(f"\nfix lines: {fix_file}:{sorted(fix)}\n")
        print(
            f"{'tool':30} {'wall s':>8} {'mutants':>8} {'done':>6} {'killed':>7} {'mut/s':>7}  fix-line mutants (killed/total)"
        )
        for r in runs:
            fk = sum(1 for _, s in r.fix_line if s in ("killed", "timeout"))
            print(
                f"{r.name:30} {r.wall:8.1f}{'+' if r.capped else ' '}{r.mutants:8} {r.finished:6} "
                f"{r.killed:7} {r.rate:7.2f}  {fk}/{len(r.fix_line)}"
            )
        for r in runs:
            print(f"\n{r.name}: mutants on the fix lines")
            for label, status in r.fix_line:
                print(f"  {status:12} {label}")
        print()
        for r in runs[1:]:
            bound = ">=" if r.capped else ""
            print(
                f"speed-up to a fix-line verdict vs {r.name}: {bound}{r.wall / ours_run.wall:.1f}x"
            )
        ops_ours = {label.split(" ", 1)[1].split("/")[0] for label, _ in ours_run.fix_line}
        print(f"fixguard fix-line families: {sorted(ops_ours)}")
        print(
            f"mutants/s on the fix commit: fixguard {ours_run.rate:.2f} vs "
            + ", ".join(f"{r.name} {r.rate:.2f}" for r in runs[1:])
        )
        report_unit(unit_throughput(tmp, args.cap))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

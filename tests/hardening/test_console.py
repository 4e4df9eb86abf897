"""Issue 17, problems 5 and 6: what `harness` prints, through the real CLI in a subprocess.

No source-path column, each verdict reason once, no line for a stage that does not run, a
scenario claim's reproduce command that still works after the run, survivors and mutants no
test reaches counted apart, and exit codes and defaults in --help.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.outcomes import ExitCode, MutantStatus, RunOutcome, Verdict
from harness.report.jsonreport import render_json
from harness.verify.results import ClaimResult, MutantRecord, RunRecord, RunResult
from harness.verify.verdict import decide

from ..manifests import claim_table
from ..mutation.conftest import FAST_PYTEST, FixRepo, make_fix_repo
from ..verify.conftest import BASE, FIX, UNGUARDED_MANIFEST

README = Path(__file__).resolve().parents[2] / "README.md"
#: Wide enough that rich never wraps a reason or a command across lines.
WIDE = {**os.environ, "COLUMNS": "1000"}


def harness(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harness.cli", *args],
        cwd=cwd,
        env=WIDE,
        capture_output=True,
        text=True,
        timeout=300,
    )


def verify(repo: FixRepo, out: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], dict]:
    proc = harness(
        "verify", "--base", repo.base, "--out", str(out),
        "--pytest-args", " ".join(FAST_PYTEST), *args, cwd=repo.path,
    )  # fmt: skip
    results = out / "results.json"
    claim = json.loads(results.read_text())["run"]["claims"][0] if results.exists() else {}
    return proc, claim


@pytest.fixture(scope="module")
def clamp(tmp_path_factory: pytest.TempPathFactory) -> FixRepo:
    """The clamp fix: test_high alone never reaches the new guard (UNGUARDED with claim tests)."""
    root = tmp_path_factory.mktemp("console")
    (root / "unguarded.toml").write_text(UNGUARDED_MANIFEST)
    return make_fix_repo(root / "repo", BASE, FIX)


@pytest.fixture(scope="module")
def unguarded_run(
    clamp: FixRepo, tmp_path_factory: pytest.TempPathFactory
) -> tuple[subprocess.CompletedProcess[str], dict]:
    manifest = clamp.path.parent / "unguarded.toml"
    return verify(clamp, tmp_path_factory.mktemp("out"), "--manifest", str(manifest))


def test_console_has_no_source_path_column(
    unguarded_run: tuple[subprocess.CompletedProcess[str], dict],
) -> None:
    proc, claim = unguarded_run
    assert claim["verdict"] == "UNGUARDED", proc.stderr
    assert "console.py:" not in proc.stdout + proc.stderr
    # The stage lines keep a time: "17:20:46 reproduce: 1 claim".
    assert re.search(r"^\d\d:\d\d:\d\d reproduce: 1 claim$", proc.stderr, re.M), proc.stderr


def test_each_verdict_reason_is_printed_once(
    unguarded_run: tuple[subprocess.CompletedProcess[str], dict],
) -> None:
    proc, claim = unguarded_run
    printed = proc.stdout + proc.stderr
    assert printed.count(claim["reason"]) == 1, printed
    # The policy line names the claim and its verdict, without repeating the reason.
    assert "gate: upper-bound: UNGUARDED is in policy.fail_on" in proc.stdout
    assert proc.returncode == ExitCode.POLICY_FAILURE


@pytest.mark.parametrize(
    ("args", "why"),
    [
        (("--manifest", "{manifest}", "--no-mutate"), "--no-mutate"),
        (("--tests", "tests/test_smoke.py"), "passes on the base: nothing to mutate"),
    ],
)
def test_a_stage_that_does_not_run_is_not_announced(
    clamp: FixRepo,
    unguarded_run: tuple[subprocess.CompletedProcess[str], dict],
    tmp_path: Path,
    args: tuple[str, ...],
    why: str,
) -> None:
    manifest = str(clamp.path.parent / "unguarded.toml")
    proc, claim = verify(clamp, tmp_path / "out", *(a.format(manifest=manifest) for a in args))
    assert claim["mutants"] == [], why
    assert "reproduce: 1 claim" in proc.stderr
    assert "mutate:" not in proc.stderr, (why, proc.stderr)
    # The same claims with mutation do announce it.
    assert "mutate: 1 claim" in unguarded_run[0].stderr


def scenario_manifest(data: Path) -> str:
    """leaks.in_process on pkg.files.read_text(data), a target of the python kind."""
    target = (
        '[targets.files]\nkind = "python"\n'
        'factory = "importlib:import_module"\nkwargs = { name = "pkg.files" }\n'
    )
    steps = [{"call": "read_text", "args": [str(data)]}]
    return target + claim_table(
        "file-leak",
        "read_text closes its file",
        scenario="leaks.in_process",
        target="files",
        fix=["pkg/files.py"],
        binding={"steps": steps, "warmup": 2, "iterations": 10, "allocation_sites": False},
    )


def test_a_scenario_claims_reproduce_command_works_after_the_run(tmp_path: Path) -> None:
    # The "fix" only adds a comment: the file still leaks on the head (STILL_FAILING).
    leak = "def read_text(path):\n    return open(path).read()\n"
    repo = make_fix_repo(
        tmp_path / "repo",
        {"pkg/__init__.py": "", "pkg/files.py": leak},
        {"pkg/files.py": "# Fixed: the file is closed.\n" + leak},
    )
    data = tmp_path / "data.txt"
    data.write_text("hello")
    manifest = tmp_path / "scenario.toml"
    manifest.write_text(scenario_manifest(data))
    out = tmp_path / "reports"
    proc, claim = verify(repo, out, "--manifest", str(manifest))
    assert claim["verdict"] == "STILL_FAILING", proc.stdout + proc.stderr
    lines = [line for line in proc.stdout.splitlines() if line.startswith("  reproduce: ")]
    assert len(lines) == 1, proc.stdout
    command = shlex.split(lines[0].removeprefix("  reproduce: "))
    generated = out / "generated" / "test_claim_file_leak.py"
    assert str(generated.resolve()) in command
    # The run's temp dirs are gone; the generated test is kept beside the reports.
    assert generated.is_file()
    rerun = subprocess.run(command, cwd=repo.path, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 1, rerun.stdout + rerun.stderr
    assert "1 failed" in rerun.stdout and "leaks.in_process" in rerun.stdout
    # A plain `pytest` over a folder holding the reports does not run the generated test.
    plain = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *FAST_PYTEST, str(out)],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert plain.returncode == pytest.ExitCode.NO_TESTS_COLLECTED, plain.stdout


def _mutant(n: int, status: MutantStatus) -> MutantRecord:
    return MutantRecord(
        id=f"m{n}", family="guard removal", operator="guard-delete", file="pkg/calc.py",
        line=2 + n, diff="-    if low > high:\n-        raise ValueError\n", status=status,
    )  # fmt: skip


def test_survivors_and_mutants_no_test_reaches_are_counted_apart(tmp_path: Path) -> None:
    mutants = [
        _mutant(0, MutantStatus.KILLED),
        _mutant(1, MutantStatus.SURVIVED),
        _mutant(2, MutantStatus.NO_COVERAGE),
    ]
    base = [RunRecord("base", 0, RunOutcome.FAILED, 0.1)]
    head = [RunRecord("head", 0, RunOutcome.PASSED, 0.1)]
    verdict, reason = decide(base, head, mutants, repeats=1, min_failures=1)
    assert verdict is Verdict.UNGUARDED
    assert (
        "2 reverting mutants of 3 go undetected (1 survives, 1 never reached by a test)" in reason
    )
    claim = ClaimResult(
        claim_id="upper-bound", title="clamp", severity="major", source=None, verdict=verdict,
        reason=reason, tests=("tests/test_clamp.py::test_high",), fix=("pkg/calc.py",),
        repeats=1, min_failures=1, base_runs=base, head_runs=head, mutants=mutants,
    )  # fmt: skip
    run = RunResult(
        run_id="r1", repo=str(tmp_path), base="a" * 40, head="b" * 40, claims=[claim],
        started="2026-12-03T00:00:00+00:00", duration=1.0,
    )  # fmt: skip
    results = tmp_path / "results.json"
    results.write_text(render_json(run))
    # `harness merge` renders a results.json with the same console output as verify.
    proc = harness("merge", str(results), "--out", str(tmp_path / "merged"), cwd=tmp_path)
    assert proc.returncode == ExitCode.POLICY_FAILURE, proc.stderr
    assert "1/3 killed, 1 survives, 1 never reached" in proc.stdout  # the table's guarded cell
    assert "  survives: m1 pkg/calc.py:3" in proc.stdout
    assert "  never reached by a test: m2 pkg/calc.py:4" in proc.stdout
    summary = (tmp_path / "merged" / "summary.md").read_text()
    assert "| 1/3 killed, 1 survives, 1 never reached |" in summary
    assert "### Surviving mutants (2: 1 survives, 1 never reached by a test)" in summary


def test_help_lists_every_exit_code_and_readme_documents_them(tmp_path: Path) -> None:
    top = harness("--help", cwd=tmp_path).stdout
    sub = harness("verify", "--help", cwd=tmp_path).stdout
    readme = README.read_text()
    for code in ExitCode:
        assert re.search(rf"^\s+{int(code)}\s+\S", top, re.M), (code, top)
        assert re.search(rf"^\s+{int(code)}\s+\S", sub, re.M), (code, sub)
        assert re.search(rf"^\| {int(code)} \|", readme, re.M), code
    assert "130 interrupted (Ctrl-C)" in sub


def test_verify_help_shows_every_default() -> None:
    sub = harness("verify", "--help", cwd=Path.cwd()).stdout
    flat = re.sub(r"\s+", " ", sub)
    for shown in (
        "--head TEXT The commit with the fixes. [default: HEAD]",
        "[default: (1, 3 for concurrency claims); 1<=x<=100]",  # --repeats
        "[default: (120 s); 0.1<=x<=3600]",  # --timeout
        "[default: 2; 1<=x<=64]",  # --workers
        "[default: .]",  # --repo
        "[default: (reports/<run-id>/ under the current directory)]",  # --out
    ):
        assert shown in flat, (shown, sub)


@pytest.mark.usefixtures("ctrl_c")
def test_ctrl_c_exits_130_at_once_and_leaves_no_worktree(tmp_path: Path) -> None:
    # The base's test sleeps 120 s in its own process session: Ctrl-C must stop it, not wait.
    repo = make_fix_repo(
        tmp_path / "repo",
        {
            "pkg/__init__.py": "",
            "pkg/slow.py": "import time\n\n\ndef wait():\n    time.sleep(120)\n",
        },
        {
            "pkg/slow.py": "def wait():\n    return None\n",
            "tests/test_slow.py": "from pkg.slow import wait\n\n\ndef test_wait():\n    wait()\n",
        },
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "harness.cli", "verify", "--base", repo.base, "--tests",
         "tests/test_slow.py", "--out", str(tmp_path / "out")],
        cwd=repo.path, env=WIDE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stderr is not None
    assert "reproduce: 1 claim" in proc.stderr.readline()  # the base run has started
    time.sleep(1.0)
    interrupted = time.monotonic()
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=100)
    assert proc.returncode == ExitCode.INTERRUPTED == 130, err
    assert time.monotonic() - interrupted < 60, "waited for the sleeping test"
    worktrees = subprocess.run(
        ["git", "worktree", "list"], cwd=repo.path, capture_output=True, text=True, check=True
    ).stdout
    assert len(worktrees.splitlines()) == 1, worktrees
    assert not (tmp_path / "out" / "results.json").exists()

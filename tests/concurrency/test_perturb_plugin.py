"""harness.perturb_plugin, end to end: real pytest runs of the narrow-window race projects.

Each test copies a project from tests/data/perturb (``base``: the bug and its test; ``fixed``:
base with ``head`` laid over it) and runs ``python -m pytest`` on it in a subprocess, with plugin
autoload off and the plugins named by ``-p``. The buggy variant must fail under perturbation
(and pass plainly), the fixed one must pass under the same perturbation.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from harness.perturb_plugin import HOT_BUDGET, format_lines, parse_lines

DATA = Path(__file__).parents[1] / "data" / "perturb"
PLUGINS = ("-p", "harness.perturb_plugin", "-p", "anyio")
QUOTA_FILE = "quota/store.py"
INBOX_FILE = "inbox/inbox.py"
CACHE_FILE = "cache/simple.py"
QUOTA_TEST = "tests/test_quota.py::test_grants_exactly_the_limit_under_contention"
INBOX_ASYNC = "tests/test_inbox.py::test_duplicate_submissions_are_saved_once"
INBOX_SYNC = "tests/test_inbox.py::test_duplicate_submissions_are_saved_once_sync"
#: The thread backend the subprocess (this same interpreter) picks.
BACKEND = "sys.monitoring" if sys.version_info >= (3, 12) else "sys.settrace"
TIMEOUT = 120

_SUMMARY = re.compile(r"^(PASSED|FAILED|ERROR) (\S+)", re.MULTILINE)
_SECTION = re.compile(
    r"^-+ harness perturbation -+\n(.*?)(?=^[-_=]{3,}|\Z)", re.MULTILINE | re.DOTALL
)
_SWITCHES = re.compile(r"(\d+) forced switches")


def switches(section: str) -> int:
    """The forced switches a report section counts."""
    found = _SWITCHES.search(section)
    assert found, section
    return int(found[1])


@dataclass(repr=False)
class Run:
    returncode: int
    stdout: str
    stderr: str

    @property
    def outcomes(self) -> dict[str, str]:
        """nodeid -> PASSED/FAILED/ERROR, from the ``-rA`` short summary."""
        return {nodeid: outcome for outcome, nodeid in _SUMMARY.findall(self.stdout)}

    def count(self, outcome: str, prefix: str = "") -> int:
        found = _SUMMARY.findall(self.stdout)  # not `outcomes`: a nodeid may repeat
        return sum(1 for o, n in found if o == outcome and n.startswith(prefix))

    @property
    def sections(self) -> list[str]:
        """The text of every "harness perturbation" report section, in report order."""
        return [s.strip() for s in _SECTION.findall(self.stdout)]

    @property
    def replays(self) -> list[str]:
        return re.findall(r"^replay: (.+)$", self.stdout, re.MULTILINE)

    @property
    def log(self) -> str:
        """What an assertion on this run shows when it fails."""
        return f"exit {self.returncode}\n{self.stdout[-4000:]}\n{self.stderr[-2000:]}"


def project(kind: str, variant: str, dest: Path) -> Path:
    """A copy of tests/data/perturb/KIND: ``base`` (the bug) or ``fixed`` (head laid over it)."""
    shutil.copytree(DATA / kind / "base", dest)
    if variant == "fixed":
        shutil.copytree(DATA / kind / "head", dest, dirs_exist_ok=True)
    # rootdir = the project, whatever ini files lie above the temp dir.
    (dest / "pytest.ini").write_text("[pytest]\n")
    return dest


def write_project(root: Path, files: dict[str, str]) -> Path:
    """A project of its own at root (its pytest.ini makes root the rootdir) with `files`."""
    (root / "pytest.ini").write_text("[pytest]\n")
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def _env(outcomes_out: Path | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FIXGUARD_", "PYTEST_"))}
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    if outcomes_out is not None:
        env["FIXGUARD_OUTCOMES_OUT"] = str(outcomes_out)
    return env


def pytest_run(
    cwd: Path,
    *args: str,
    plugins: tuple[str, ...] = PLUGINS,
    outcomes_out: Path | None = None,
    timeout: float = TIMEOUT,
) -> Run:
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *plugins, "-rA", *args]
    done = subprocess.run(
        command,
        cwd=cwd,
        env=_env(outcomes_out),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return Run(done.returncode, done.stdout, done.stderr)


def perturbed(
    cwd: Path, spec: str, rounds: int, *args: str, outcomes_out: Path | None = None
) -> Run:
    """`args` under ``--harness-perturb=SPEC``, each test `rounds` times (seeds seed, seed+1...)."""
    return pytest_run(
        cwd,
        f"--harness-perturb={spec}",
        "--count-rounds",
        str(rounds),
        *args,
        outcomes_out=outcomes_out,
    )


def project_fixture(kind: str, variant: str) -> Any:
    """The module-wide fixture `KIND_VARIANT`: one copy of the project for every test here."""

    @pytest.fixture(scope="module", name=f"{kind}_{variant}")
    def copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
        return project(kind, variant, tmp_path_factory.mktemp(kind) / variant)

    return copy


quota_base = project_fixture("quota", "base")
quota_fixed = project_fixture("quota", "fixed")
inbox_base = project_fixture("inbox", "base")
inbox_fixed = project_fixture("inbox", "fixed")


@dataclass
class RecordedRun:
    run: Run
    records: list[dict[str, object]]


@pytest.fixture(scope="module")
def quota_base_preempt(quota_base: Path, tmp_path_factory: pytest.TempPathFactory) -> RecordedRun:
    """The quota bug under preempt, 20 rounds from seed 1, with the outcome records on."""
    out = tmp_path_factory.mktemp("records") / "outcomes.jsonl"
    run = perturbed(quota_base, f"preempt:seed=1:files={QUOTA_FILE}", 20, outcomes_out=out)
    records = [json.loads(line) for line in out.read_text().splitlines()] if out.exists() else []
    return RecordedRun(run, records)


# -- 1. threads: preempt reproduces the quota bug; the fix survives it ----------------------------


def test_preempt_fails_every_round_on_the_quota_bug(quota_base_preempt: RecordedRun) -> None:
    run = quota_base_preempt.run
    assert run.returncode == 1, run.log
    assert run.count("FAILED", QUOTA_TEST) == 20, run.log
    assert run.count("PASSED") == 0, run.log
    header = f"perturbation: preempt:seed=1:files={QUOTA_FILE} (threads: {BACKEND}; rounds: 20)"
    assert header in run.stdout, run.log
    assert len(run.sections) == 20
    assert all(f"preempt ({BACKEND})" in s for s in run.sections), run.sections[0]
    assert all(switches(s) > 0 for s in run.sections)


def test_the_quota_test_passes_plainly(quota_base: Path) -> None:
    # The same test 20 times, no perturbation plugin at all: the window is too narrow to hit.
    test_file = QUOTA_TEST.split("::")[0]  # its only test; a repeated nodeid would run once
    run = pytest_run(quota_base, "--keep-duplicates", *[test_file] * 20, plugins=())
    passed = run.count("PASSED", QUOTA_TEST)
    assert passed + run.count("FAILED", QUOTA_TEST) == 20, run.log
    assert passed >= 18, run.log


def test_preempt_passes_50_rounds_on_the_quota_fix(quota_fixed: Path) -> None:
    run = perturbed(quota_fixed, f"preempt:seed=1:files={QUOTA_FILE}", 50)
    assert run.returncode == 0, run.log
    assert run.count("PASSED", QUOTA_TEST) == 50, run.log
    # The fix was perturbed too, not skipped.
    assert all(switches(s) > 0 for s in run.sections)


# -- 2. only the named files are perturbed --------------------------------------------------------


def test_perturbing_an_unrelated_file_forces_no_switch(quota_base: Path) -> None:
    run = perturbed(quota_base, "preempt:seed=1:files=quota/__init__.py", 5)
    assert run.returncode == 0, run.log
    assert run.count("PASSED", QUOTA_TEST) == 5, run.log
    assert len(run.sections) == 5
    assert all(" 0 forced switches" in s for s in run.sections), run.sections


def test_the_files_option_names_the_files_too(quota_base: Path) -> None:
    run = pytest_run(
        quota_base,
        "--harness-perturb=preempt:seed=1",
        f"--harness-perturb-files={QUOTA_FILE}",
        "--count-rounds",
        "3",
    )
    assert run.count("FAILED", QUOTA_TEST) == 3, run.log
    # ... and the replay line carries them, so it needs no --harness-perturb-files.
    assert run.replays and all(f"files={QUOTA_FILE}" in r for r in run.replays), run.log


# -- 3. pct mode; spec errors ---------------------------------------------------------------------


def test_pct_mode_runs_and_says_so(quota_base: Path, quota_fixed: Path) -> None:
    base = perturbed(quota_base, f"pct:seed=1:files={QUOTA_FILE}", 10)
    header = f"perturbation: pct:seed=1:files={QUOTA_FILE} (threads: {BACKEND}; rounds: 10)"
    assert header in base.stdout, base.log
    assert len(base.sections) == 10
    assert all(f"pct ({BACKEND})" in s for s in base.sections), base.sections
    # At most `points` (3) forced pauses per thread (8 workers and the main one), not one a line.
    assert all(0 < switches(s) <= 3 * 9 for s in base.sections)
    assert base.count("FAILED", QUOTA_TEST) >= 1, base.log
    assert all("pct:seed=" in r for r in base.replays)

    fixed = perturbed(quota_fixed, f"pct:seed=1:files={QUOTA_FILE}", 10)
    assert fixed.returncode == 0, fixed.log
    assert fixed.count("PASSED", QUOTA_TEST) == 10, fixed.log


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (f"bogus:seed=1:files={QUOTA_FILE}", "mode='bogus' is not one of off, auto, preempt"),
        (f"preempt:seed=x:files={QUOTA_FILE}", "seed='x'"),
        (f"preempt:seed=1:p=1.5:files={QUOTA_FILE}", "p='1.5': must be in [0, 1]"),
        (f"pct:points=0:files={QUOTA_FILE}", "points='0': must be >= 1"),
        (f"preempt:seed=1:color=red:files={QUOTA_FILE}", "color='red': known fields: seed"),
        ("preempt:seed=1", "name the files to perturb"),
        ("preempt:seed=1:files=quota/nope.py", "files='quota/nope.py': no such file"),
        (f"preempt:seed=1:files={QUOTA_FILE}@9-x", "lines='9-x': write ranges such as 3-7+12"),
        (f"preempt:seed=1:files={QUOTA_FILE}@9-3", "lines='9-3': must be 1-based, start <= end"),
    ],
    ids=[
        "mode",
        "seed",
        "p",
        "points",
        "unknown-field",
        "no-files",
        "missing-file",
        "bad-lines",
        "reversed-lines",
    ],
)
def test_a_bad_spec_is_a_usage_error_naming_the_field(
    quota_base: Path, spec: str, message: str
) -> None:
    run = pytest_run(quota_base, f"--harness-perturb={spec}", plugins=PLUGINS[:2])
    assert run.returncode == 4, run  # pytest.ExitCode.USAGE_ERROR
    errors = [line for line in run.stderr.splitlines() if line.startswith("ERROR:")]
    assert len(errors) == 1, run.log
    assert message in errors[0], errors[0]
    assert "passed" not in run.stdout and "failed" not in run.stdout  # nothing ran


# -- 4. the replay line reproduces the failure ----------------------------------------------------


def _replay(cwd: Path, line: str) -> Run:
    """Run a printed replay line as-is, with this interpreter and the plugin loaded by ``-p``."""
    python, *rest = shlex.split(line)
    assert python == "python" and rest[:2] == ["-m", "pytest"], line
    return pytest_run(cwd, *rest[2:], plugins=PLUGINS[:2])


def test_a_replay_printed_from_a_subdirectory_runs_from_the_rootdir(tmp_path: Path) -> None:
    # Node ids start at the rootdir; files named from tests/ must be rewritten to match.
    base = project("quota", "base", tmp_path / "base")
    (base / "pytest.ini").write_text("[pytest]\npythonpath = .\n")
    run = pytest_run(
        base / "tests", "test_quota.py", f"--harness-perturb=preempt:seed=1:files=../{QUOTA_FILE}"
    )
    [line] = run.replays
    assert line.endswith(f"--harness-perturb=preempt:seed=1:files={QUOTA_FILE}"), line
    again = _replay(base, line)
    assert again.returncode == 1 and again.count("FAILED") == 1, again.log


def test_the_replay_line_of_a_failing_round_reproduces_it(
    quota_base: Path, quota_base_preempt: RecordedRun
) -> None:
    replays = quota_base_preempt.run.replays
    assert len(replays) == 20
    line = replays[-1]  # round 20: its own seed, not the session's
    assert line == (
        f"python -m pytest {QUOTA_TEST} --harness-perturb=preempt:seed=20:files={QUOTA_FILE}"
    )
    with ThreadPoolExecutor(max_workers=2) as pool:
        runs = list(pool.map(lambda _: _replay(quota_base, line), range(10)))
    for run in runs:
        assert run.returncode == 1, run.log
        assert run.outcomes == {QUOTA_TEST: "FAILED"}, run.log
        assert "seed=20: preempt" in run.sections[0]


def test_the_replay_line_of_a_parametrized_test_names_a_real_test(tmp_path: Path) -> None:
    test = (
        "import pytest\n"
        "from mod import same\n\n\n"
        "@pytest.mark.parametrize('x', [1, 2])\n"
        "def test_same(x):\n"
        "    assert same(x) == 1\n"
    )
    write_project(tmp_path, {"mod.py": "def same(x):\n    return x\n", "test_mod.py": test})
    run = perturbed(tmp_path, "preempt:seed=5:files=mod.py", 2)
    assert run.count("FAILED") == 2 and run.count("PASSED") == 2, run.log
    assert sorted(run.replays) == [
        "python -m pytest 'test_mod.py::test_same[2]' --harness-perturb=preempt:seed=5:files=mod.py",
        "python -m pytest 'test_mod.py::test_same[2]' --harness-perturb=preempt:seed=6:files=mod.py",
    ]
    replayed = _replay(tmp_path, run.replays[0])
    assert replayed.outcomes == {"test_mod.py::test_same[2]": "FAILED"}, replayed.log


# -- 5. asyncio: await points and the controlled loop ---------------------------------------------


def test_await_points_fail_both_inbox_tests_every_round(inbox_base: Path) -> None:
    plain = pytest_run(inbox_base, plugins=("-p", "anyio"))
    assert plain.returncode == 0, plain  # the save never suspends: plainly, no race

    run = perturbed(inbox_base, f"preempt:seed=1:files={INBOX_FILE}", 20)
    # The anyio test on a plain loop, and asyncio.run inside a sync test: both rewritten.
    assert run.count("FAILED", INBOX_ASYNC + "[") == 20, run.log
    assert run.count("FAILED", INBOX_SYNC) == 20, run.log
    assert run.count("PASSED") == 0, run.log
    assert all("await points" in s for s in run.sections), run.sections[0]


def test_await_points_pass_50_rounds_on_the_inbox_fix(inbox_fixed: Path) -> None:
    run = perturbed(inbox_fixed, f"preempt:seed=1:files={INBOX_FILE}", 50)
    assert run.returncode == 0, run.log
    assert run.count("PASSED", INBOX_ASYNC + "[") == 50, run.log
    assert run.count("PASSED", INBOX_SYNC) == 50, run.log
    assert all("await points" in s for s in run.sections), run.sections[0]


def test_auto_explores_the_async_test_and_finds_the_inbox_bug(inbox_base: Path) -> None:
    run = perturbed(inbox_base, f"auto:seed=1:files={INBOX_FILE}", 10, INBOX_ASYNC)
    assert len(run.sections) == 10, run.log
    assert all(re.search(r"\bexplore\b", s) for s in run.sections), run.sections
    assert not any(re.search("refused|skipped|unavailable", s) for s in run.sections), run.sections
    assert run.count("FAILED", INBOX_ASYNC + "[") >= 1, run.log
    assert all("auto:seed=" in r for r in run.replays)


def test_auto_passes_50_rounds_on_the_inbox_fix(inbox_fixed: Path) -> None:
    run = perturbed(inbox_fixed, f"auto:seed=1:files={INBOX_FILE}", 50, INBOX_ASYNC)
    assert run.returncode == 0, run.log
    assert run.count("PASSED", INBOX_ASYNC + "[") == 50, run.log
    assert all(re.search(r"\bexplore\b", s) for s in run.sections), run.sections[0]


def test_auto_perturbs_the_sync_asyncio_run_test_with_await_points(inbox_base: Path) -> None:
    run = perturbed(inbox_base, f"auto:seed=1:files={INBOX_FILE}", 5, INBOX_SYNC)
    assert run.count("FAILED", INBOX_SYNC) == 5, run.log
    assert all("await points" in s and "explore" not in s for s in run.sections), run.sections


# -- 6. explore refuses threads: the test still runs, on a plain loop -----------------------------

_WORK = """\
import asyncio


def _square(x: int) -> int:
    return x * x


async def squares(n: int) -> list[int]:
    return [await asyncio.to_thread(_square, i) for i in range(n)]
"""

_WORK_TESTS = """\
import pytest

from pkg.work import squares


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.mark.anyio
async def test_squares():
    assert await squares(4) == [0, 1, 4, 9]


@pytest.mark.anyio
async def test_squares_wrong():
    assert await squares(3) == [0, 1, 2]
"""


def test_explore_refusal_falls_back_to_a_plain_loop(tmp_path: Path) -> None:
    write_project(
        tmp_path,
        {"pkg/__init__.py": "", "pkg/work.py": _WORK, "tests/test_work.py": _WORK_TESTS},
    )
    run = pytest_run(tmp_path, "--harness-perturb=explore:seed=3:files=pkg/work.py")
    assert run.outcomes == {
        "tests/test_work.py::test_squares": "PASSED",
        # It really ran (on the plain loop): its own assertion fails, not the explorer.
        "tests/test_work.py::test_squares_wrong": "FAILED",
    }, run.log
    assert "assert [0, 1, 4] == [0, 1, 2]" in run.stdout, run.log
    assert len(run.sections) == 2
    for section in run.sections:
        assert "explore refused" in section and "to_thread" in section, section
        assert "plain loop" in section and "await points" in section, section
        assert " at 0x" not in section, section  # the same text in every run
    # The awaits of the plain loop's run only (squares(3) and squares(4)), not the refused one.
    assert sorted(re.findall(r"(\d+) awaits", "\n".join(run.sections))) == ["3", "4"]


_QUEUE = """\
import asyncio


async def put_get(queue: asyncio.Queue, item: int) -> int:
    await queue.put(item)
    return await queue.get()
"""

_QUEUE_TESTS = """\
import asyncio

import pytest

from pkg.q import put_get


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.fixture
async def pending():
    yield asyncio.Queue(), asyncio.get_running_loop().create_future()


@pytest.mark.anyio
async def test_put_get(pending):
    queue, future = pending
    assert await put_get(queue, 3) == 3
    asyncio.get_running_loop().call_soon(future.set_result, 1)
    assert await future == 1
"""


def test_explore_leaves_a_test_with_async_fixtures_on_their_loop(tmp_path: Path) -> None:
    # The fixture's future belongs to anyio's loop: run on the explorer's, the test would fail
    # ("attached to a different loop") with or without a race.
    write_project(
        tmp_path, {"pkg/__init__.py": "", "pkg/q.py": _QUEUE, "tests/test_q.py": _QUEUE_TESTS}
    )
    run = perturbed(tmp_path, "auto:seed=1:files=pkg/q.py", 3)
    assert run.returncode == 0, run.log
    assert run.count("PASSED", "tests/test_q.py::test_put_get") == 3, run.log
    for section in run.sections:
        assert "explore skipped (async fixtures pending)" in section, section
        assert "2 awaits" in section, section  # the await points still apply


# -- 7. the sys.monitoring backend ----------------------------------------------------------------


@pytest.mark.skipif(sys.version_info < (3, 12), reason="sys.monitoring is new in Python 3.12")
def test_sys_monitoring_backend_reproduces_the_quota_bug(
    quota_base: Path, quota_fixed: Path
) -> None:
    spec = f"preempt:seed=100:files={QUOTA_FILE}"
    base = perturbed(quota_base, spec, 10)
    assert "(threads: sys.monitoring; rounds: 10)" in base.stdout, base.log
    assert all("preempt (sys.monitoring)" in s for s in base.sections), base.sections
    assert base.count("FAILED", QUOTA_TEST) == 10, base.log
    fixed = perturbed(quota_fixed, spec, 20)
    assert fixed.count("PASSED", QUOTA_TEST) == 20, fixed.log


def test_settrace_backend_below_3_12(quota_base_preempt: RecordedRun) -> None:
    if sys.version_info >= (3, 12):
        pytest.skip("Python >= 3.12 uses sys.monitoring")
    assert "(threads: sys.settrace; rounds: 20)" in quota_base_preempt.run.stdout


# -- 8. the outcome records -----------------------------------------------------------------------


def test_each_perturbed_call_is_recorded_for_verify(
    quota_base_preempt: RecordedRun, quota_fixed: Path, tmp_path: Path
) -> None:
    records = quota_base_preempt.records
    assert len(records) == 20
    assert all(r["event"] == "perturb" and r["outcome"] == "failed" for r in records), records[0]
    assert [r["nodeid"] for r in records] == [f"{QUOTA_TEST}[round{i}]" for i in range(1, 21)]
    assert [r["seed"] for r in records] == list(range(1, 21))
    assert [r["replay"] for r in records] == quota_base_preempt.run.replays
    assert all(str(r["ran"]).startswith(f"seed={r['seed']}: preempt") for r in records)

    out = tmp_path / "outcomes.jsonl"
    run = pytest_run(
        quota_fixed, f"--harness-perturb=preempt:seed=7:files={QUOTA_FILE}", outcomes_out=out
    )
    assert run.returncode == 0, run.log
    (record,) = [json.loads(line) for line in out.read_text().splitlines()]
    assert record["nodeid"] == QUOTA_TEST and record["seed"] == 7
    assert record["outcome"] == "passed"
    assert record["replay"] == (
        f"python -m pytest {QUOTA_TEST} --harness-perturb=preempt:seed=7:files={QUOTA_FILE}"
    )


def test_no_records_without_a_perturbation(quota_fixed: Path, tmp_path: Path) -> None:
    out = tmp_path / "outcomes.jsonl"
    run = pytest_run(quota_fixed, outcomes_out=out)
    assert run.returncode == 0, run.log
    assert not out.exists()
    assert "harness perturbation" not in run.stdout


# -- hot lines: a stall where the fix changed code -----------------------------------------------

#: add()'s body: the lines the fix wraps in the lock (tests/data/perturb/cache).
CACHE_HOT = {"base": "15-19", "fixed": "16-21"}


def _odd_even_failures(run: Run) -> tuple[int, int]:
    """Failed rounds with an odd seed (the hot style) and with an even one; seed = round."""
    failed = [int(m) for m in re.findall(r"^FAILED \S+\[round(\d+)\]", run.stdout, re.M)]
    return sum(1 for r in failed if r % 2), sum(1 for r in failed if not r % 2)


@pytest.mark.parametrize(
    ("text", "lines"),
    [("3", {3}), ("3-5", {3, 4, 5}), ("1+4-6+9", {1, 4, 5, 6, 9}), ("7-7+7", {7})],
)
def test_hot_line_ranges_read_and_write_back(text: str, lines: set[int]) -> None:
    assert parse_lines(text) == lines
    assert parse_lines(format_lines(sorted(lines))) == lines


def test_hot_lines_open_a_window_random_hand_offs_rarely_hit(tmp_path: Path) -> None:
    # Only the first thread ever sees the key missing: a pause at add()'s lines, while the
    # others run through, is what shows the race (odd seeds pause at every hot line event).
    base = project("cache", "base", tmp_path / "base")
    hot = perturbed(base, f"preempt:seed=1:files={CACHE_FILE}@{CACHE_HOT['base']}", 20)
    odd, _ = _odd_even_failures(hot)
    assert odd >= 7, hot.log  # 9-10 of the 10 odd rounds when written; each a real double add
    assert " (hot)" in hot.stdout  # a failing round's last switches are its hot-line pauses
    fixed = project("cache", "fixed", tmp_path / "fixed")
    run = perturbed(fixed, f"preempt:seed=1:files={CACHE_FILE}@{CACHE_HOT['fixed']}", 40)
    assert run.count("PASSED") == 40 and run.count("FAILED") == 0, run.log


def test_hot_pauses_stop_at_their_budget(tmp_path: Path) -> None:
    # Every quota call crosses the hot lines: without a budget 200 calls x 5 lines of 1 ms pauses
    # would serialise to a second per round; with it a round stays near HOT_BUDGET.
    fixed = project("quota", "fixed", tmp_path / "fixed")
    run = perturbed(fixed, f"preempt:seed=1:files={QUOTA_FILE}@12-18", 1, "--durations=0")
    assert run.count("PASSED") == 1, run.log
    took = float(re.search(r"^([\d.]+)s call", run.stdout, re.M)[1])  # type: ignore[index]
    assert HOT_BUDGET <= took < HOT_BUDGET + 0.5, run.log

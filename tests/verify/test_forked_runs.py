"""Claim runs forked from a warm server (harness.forkserver.ServerPool) are judged exactly as runs
in a new interpreter, never serve a stale file of the work tree, and fall back to a new
interpreter whenever the server cannot serve.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness.claims.model import Claim, FixRange, Manifest, RunSettings
from harness.forkserver import SERVER_SOURCE, ServerPool, WarmRunner, WarmUnavailable
from harness.outcomes import RunOutcome
from harness.testrun import TestRun, run_pytest
from harness.verify.job import ClaimJob, VerifyOptions
from harness.verify.pipeline import verify
from harness.verify.workspace import Workspace

from .test_precision_verdicts import make_repo

FAST = ["-p", "no:hypothesispytest", "-p", "no:xdist", "-p", "no:timeout"]

#: (test file body, timeout): every way a run can end that the verdict reads.
ENDINGS = {
    "pass": ("def test_a():\n    pass\n", 60.0),
    "fail": ("def test_a():\n    assert 1 == 2\n\n\ndef test_b():\n    pass\n", 60.0),
    "exit 0 mid-session": ("def test_a():\n    os._exit(0)\n", 60.0),
    "exit 1 mid-session": ("def test_a():\n    os._exit(1)\n", 60.0),
    "killed": ("def test_a():\n    os.kill(os.getpid(), signal.SIGKILL)\n", 60.0),
    "fail then crash": (
        "def test_a():\n    assert 0\n\n\ndef test_b():\n    os._exit(3)\n",
        60.0,
    ),
    "collection error": ("import no_such_module_anywhere\n\n\ndef test_a():\n    pass\n", 60.0),
    "no tests": ("X = 1\n", 60.0),
    "timeout": ("def test_a():\n    pass\n\n\ndef test_b():\n    time.sleep(60)\n", 4.0),
    # A leaked non-daemon thread keeps a new interpreter from ending: the run times out.
    "leaked thread": (
        "import threading\n\n\ndef test_a():\n"
        "    threading.Thread(target=time.sleep, args=(60,)).start()\n",
        4.0,
    ),
    # An atexit handler runs after pytest reported: its failure is output, not an outcome.
    "atexit": (
        "import atexit\n\n\ndef test_a():\n    atexit.register(print, 'atexit ran')\n",
        60.0,
    ),
}


def run(tree: Path, pool: ServerPool | None, timeout: float = 60.0, **env: str) -> TestRun:
    launch = pool.launcher(tree, sys.executable, env) if pool is not None else None
    return run_pytest(
        tree, [], python=sys.executable, pytest_args=FAST, env=env, timeout=timeout, launch=launch
    )


def judged(run: TestRun) -> tuple[object, ...]:
    return (run.outcome, run.exit_code, run.failed, run.passed, run.cut_short, run.error_line[:40])


def shown(command: tuple[str, ...]) -> list[str]:
    return [part for part in command if not part.startswith("--junitxml=")]


@pytest.mark.parametrize("ending", list(ENDINGS))
def test_a_forked_run_is_judged_as_a_new_interpreters_run(tmp_path: Path, ending: str):
    body, timeout = ENDINGS[ending]
    (tmp_path / "test_it.py").write_text("import os, signal, time\n\n" + body)
    fresh = run(tmp_path, None, timeout)
    with ServerPool() as pool:
        forked = run(tmp_path, pool, timeout)
        assert pool.forked == 1, "the run must have forked from the server"
    assert judged(forked) == judged(fresh)
    if ending == "atexit":
        assert "atexit ran" in forked.log_tail and "atexit ran" in fresh.log_tail
    # The command that reproduces it, either way (each run has its own JUnit file).
    assert shown(forked.command) == shown(fresh.command)


def installed_plugin(site: Path) -> None:
    """An installed pytest plugin distribution (as pip leaves one): pytest marks its modules
    for assertion rewriting before it loads them."""
    site.mkdir()
    (site / "myplug.py").write_text(
        "import pytest\n\n\n@pytest.fixture\ndef answer():\n    assert True\n    return 42\n"
    )
    info = site / "myplug-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: myplug\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[pytest11]\nmyplug = myplug\n")
    (info / "RECORD").write_text("myplug.py,,\nmyplug-1.0.dist-info/METADATA,,\n")


def test_warnings_as_errors_see_no_warning_of_the_servers_making(tmp_path: Path):
    """The server imports installed plugins before pytest's rewriter exists; a new interpreter
    never warns that they "cannot be rewritten", so a forked run must not either."""
    installed_plugin(tmp_path / "site")
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "pytest.ini").write_text("[pytest]\nfilterwarnings = error\n")
    (tree / "test_it.py").write_text("def test_a(answer):\n    assert answer == 42\n")
    env = {"PYTHONPATH": str(tmp_path / "site")}
    fresh = run(tree, None, 60.0, **env)
    assert fresh.outcome is RunOutcome.PASSED, fresh.log_tail
    with ServerPool() as pool:
        forked = [run(tree, pool, 60.0, **env) for _ in range(2)]  # the 2nd after warming
        assert pool.forked == 2
    assert [judged(r) for r in forked] == [judged(fresh)] * 2, forked[0].log_tail


def test_the_server_never_serves_a_stale_file_of_the_work_tree(tmp_path: Path):
    """The server learns the installed modules a run imported (`colorsys` here), never the
    tree's own: an edit between two runs is what the second run sees."""
    (tmp_path / "mod.py").write_text("VALUE = 1\n")
    (tmp_path / "test_it.py").write_text(
        "import sys\n\nLEARNED = 'colorsys' in sys.modules\nOWN = 'mod' in sys.modules\n\n"
        "import colorsys  # noqa\nimport mod\n\n\n"
        "def test_value():\n    assert mod.VALUE == 1\n\n\n"
        "def test_what_was_imported():\n    assert (LEARNED, OWN) == (True, False)\n"
    )
    with ServerPool() as pool:
        first = run(tmp_path, pool)
        (tmp_path / "mod.py").write_text("VALUE = 22\n")  # a new size: no stale .pyc either
        second = run(tmp_path, pool)
        assert pool.forked == 2
    assert first.failed == ("test_it.py::test_what_was_imported",)  # nothing learned yet
    assert second.failed == ("test_it.py::test_value",)  # learned colorsys; mod.py read anew
    assert second.passed == ("test_it.py::test_what_was_imported",)


def test_a_hash_seed_in_the_env_is_a_new_interpreters_seed(tmp_path: Path):
    (tmp_path / "test_it.py").write_text(
        "import os\n\n\ndef test_hash():\n"
        "    open(os.environ['OUT'], 'w').write(str(hash('fixguard')))\n"
    )
    probe = [sys.executable, "-c", "print(hash('fixguard'))"]
    seeds = {}
    with ServerPool() as pool:
        for seed in ("1", "2"):
            out = tmp_path / f"hash{seed}.txt"
            assert run(tmp_path, pool, OUT=str(out), PYTHONHASHSEED=seed).ok
            seeds[seed] = out.read_text()
            expected = subprocess.run(
                probe, env={**os.environ, "PYTHONHASHSEED": seed}, capture_output=True, text=True
            ).stdout.strip()
            assert seeds[seed] == expected
        assert pool.forked == 2
    assert seeds["1"] != seeds["2"]


def test_repeats_get_seed_index_plus_one_unless_the_manifest_sets_one(tmp_path: Path):
    def envs(settings: RunSettings) -> list[dict[str, str]]:
        claim = Claim(id="c", title="t", tests=("t.py::test",), fix=(FixRange.parse("f.py"),))
        manifest = Manifest(claims=(claim,), run=settings)
        options = VerifyOptions(repo=tmp_path, base="a", head="b", manifest=manifest)
        job = ClaimJob.build(options, claim, None, None)  # type: ignore[arg-type]
        return [job.run_env(i) for i in range(job.repeats)]

    assert envs(RunSettings()) == [{}]
    assert envs(RunSettings(repeats=3, env={"A": "1"})) == [
        {"A": "1", "PYTHONHASHSEED": str(i)} for i in (1, 2, 3)
    ]
    assert (
        envs(RunSettings(repeats=2, env={"PYTHONHASHSEED": "0"})) == [{"PYTHONHASHSEED": "0"}] * 2
    )


def test_a_forked_child_shows_the_code_what_a_new_interpreter_shows(tmp_path: Path):
    """argv as `python -m pytest ARGS` has it (code under test may parse it), and a stdin that
    is not the server's request pipe."""
    (tmp_path / "test_it.py").write_text(
        "import json, os, sys\n\n\ndef test_argv():\n"
        "    args = [a for a in sys.argv[1:] if not a.startswith('--junitxml=')]\n"
        "    json.dump([os.path.basename(sys.argv[0]), args], open(os.environ['OUT'], 'w'))\n"
    )
    fresh_out, forked_out = tmp_path / "fresh.json", tmp_path / "forked.json"
    assert run(tmp_path, None, OUT=str(fresh_out)).ok
    with ServerPool() as pool:
        assert run(tmp_path, pool, OUT=str(forked_out)).ok
        (tmp_path / "test_it.py").write_text(
            "import os\n\n\ndef test_stdin():\n    assert os.read(0, 100) == b''\n"
        )
        assert run(tmp_path, pool).ok  # reads EOF, and takes none of the server's requests
        assert run(tmp_path, pool).ok  # so the server still serves
        assert pool.forked == 3
    fresh_argv = json.loads(fresh_out.read_text())
    assert fresh_argv[0] == "__main__.py"
    assert json.loads(forked_out.read_text()) == fresh_argv


#: Ends only in a forked child (whose __main__ is the server): a stand-in for a run that a
#: fork spoils, such as a lock an import held as the server forked.
FORK_ONLY_CRASH = (
    "import os, __main__\n\n\ndef test_a():\n"
    "    if __main__.__file__.endswith('fixguard_forkserver.py'):\n        os._exit(0)\n"
)


def test_a_forked_claim_run_that_judged_nothing_counts_only_as_a_new_interpreters(
    tmp_path: Path,
):
    (tmp_path / "test_it.py").write_text(FORK_ONLY_CRASH)
    with ServerPool() as pool:
        raw = run(tmp_path, pool)
        assert (raw.outcome, raw.forked) == (RunOutcome.CRASHED, True)  # the fork's doing
        claim = Claim(
            id="c", title="t", tests=("test_it.py::test_a",), fix=(FixRange.parse("f.py"),)
        )
        options = VerifyOptions(repo=tmp_path, base="a", head="b", manifest=Manifest())
        side = Workspace("head", tmp_path, "0" * 40)
        job = ClaimJob.build(options, claim, side, side)
        records = [job.run_once(side, 0, pool) for _ in range(2)]
        assert [r.outcome for r in records] == [RunOutcome.PASSED] * 2
        assert pool.forked == 2, "the first claim run forked; after it, this kind no longer does"


def test_a_server_whose_imports_started_a_thread_is_never_forked_from(tmp_path: Path):
    """A lock that thread held at the fork would be held in the child forever: a hang that a new
    interpreter never has, which would count as a timeout."""
    (tmp_path / "mod").mkdir()
    (tmp_path / "mod" / "spinning.py").write_text(
        "import threading, time\n\nthreading.Thread(target=time.sleep, args=(60,), daemon=True).start()\n"
    )
    (tmp_path / "tree").mkdir()
    server = WarmRunner(
        tmp_path / "tree", SERVER_SOURCE, sys.executable, {"PYTHONPATH": str(tmp_path / "mod")}
    )
    server.warm(["json"])  # a plain module: still ready
    with pytest.raises(WarmUnavailable, match="started threads"):
        server.warm(["spinning"])
    assert server._proc.poll() is not None  # the server is gone


def test_a_server_that_cannot_start_means_new_interpreters(tmp_path: Path):
    """An interpreter that runs pytest but not the server (exit 1 on its script)."""
    python = tmp_path / "python"
    python.write_text(
        '#!/bin/sh\ncase "$1" in *fixguard_forkserver.py) exit 1;; esac\n'
        f'exec {sys.executable} "$@"\n'
    )
    python.chmod(0o755)
    (tmp_path / "test_it.py").write_text("def test_a():\n    assert 0\n")
    with ServerPool() as pool:
        for _ in range(2):  # the second run does not try the server again
            launch = pool.launcher(tmp_path, str(python), {})
            got = run_pytest(tmp_path, [], python=str(python), pytest_args=FAST, launch=launch)
            assert got.outcome is RunOutcome.FAILED
            assert got.failed == ("test_it.py::test_a",)
        assert pool.forked == 0


def test_a_server_that_died_between_runs_is_replaced_by_a_new_interpreter(tmp_path: Path):
    (tmp_path / "test_it.py").write_text("def test_a():\n    pass\n")
    with ServerPool() as pool:
        assert run(tmp_path, pool).ok
        for server in pool._started:  # the server dies while idle (the OOM killer, say)
            server._proc.kill()
            server._proc.wait()
        again = run(tmp_path, pool)
        assert again.ok and again.passed == ("test_it.py::test_a",)
        assert pool.forked == 1


def test_verify_gives_the_same_runs_and_verdicts_with_and_without_forks(tmp_path: Path):
    repo = make_repo(
        tmp_path,
        {"pkg/calc.py": "def double(x):\n    return x + x + 1\n"},
        {
            "pkg/calc.py": "def double(x):\n    return x + x\n",
            "tests/test_calc.py": "from pkg.calc import double\n\n\n"
            "def test_double():\n    assert double(2) == 4\n\n\n"
            "def test_other():\n    assert double(0) == 0\n",
        },
    )
    claims = (
        Claim(
            id="one",
            title="one",
            tests=("tests/test_calc.py::test_double",),
            fix=(FixRange.parse("pkg/calc.py"),),
        ),
        Claim(
            id="three",
            title="three",
            tests=("tests/test_calc.py",),
            fix=(FixRange.parse("pkg/calc.py"),),
            run=RunSettings(repeats=3, min_failures=2),
        ),
    )
    seen = {}
    for fork in (True, False):
        options = VerifyOptions(
            repo=repo,
            base="HEAD~1",
            head="HEAD",
            manifest=Manifest(claims=claims),
            mutate=False,
            reuse=False,
            fork=fork,
            store=tmp_path / f"store-{fork}",
        )
        result = verify(options)
        seen[fork] = [
            (
                c.claim_id,
                c.verdict,
                [(r.outcome, r.failed, r.error_line) for r in c.base_runs + c.head_runs],
            )
            for c in result.claims
        ]
    assert seen[True] == seen[False]
    fails, passes = RunOutcome.FAILED, RunOutcome.PASSED
    # Reproduced on the base (the repeated claim stops at its 2nd failure), fixed on the head.
    assert [[r[0] for r in runs] for _, _, runs in seen[True]] == [
        [fails, passes],
        [fails, fails, passes, passes, passes],
    ]

"""PR mode's discovery on tiny real repos: which tests a PR's diff brings, how each ran on the
base and the head, and which of the PR's hunks its F2P tests execute."""

from __future__ import annotations

import sys
from pathlib import Path

from harness.claims.model import DEFAULT_RUN, RunSettings
from harness.verify import prmode, proofs
from harness.verify.discovery import discover
from harness.verify.workspace import worktrees

from .conftest import git, make_repo

F2P = prmode.TestClass.F2P
P2P = prmode.TestClass.P2P
P2F = prmode.TestClass.P2F
F2F = prmode.TestClass.F2F
NEW_API = prmode.TestClass.NEW_API


def pr_repo(tmp_path: Path, base: dict[str, str], head: dict[str, str]) -> Path:
    """A repo whose HEAD~1 is `base` and whose HEAD is one PR commit with `head`'s files."""
    return make_repo(tmp_path, base, head, message="the PR")


#: The tiny repos need no third-party pytest plugin; loading them (hypothesis, xdist, ...) in
#: every one of discovery's pytest calls would triple this file's run time.
QUIET = {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}


def run(repo: Path, **settings: object) -> prmode.PrEvidence:
    return discover(
        repo,
        "HEAD~1",
        "HEAD",
        python=sys.executable,
        settings=RunSettings.model_validate({"env": QUIET, **settings}),
        workdir=repo.parent,
    )


def classes(evidence: prmode.PrEvidence) -> dict[str, prmode.TestClass]:
    return {t.nodeid: t.klass for t in evidence.tests}


def assert_only_unproven(evidence: prmode.PrEvidence, hunk: str) -> None:
    """No auto-claim: the PR's one Python hunk stays unproven, for want of an F2P test."""
    assert not evidence.auto_claims
    assert [(str(h), h.why) for h in evidence.unproven] == [(hunk, proofs.NO_F2P)]


CALC_BASE = (
    'VERSION = "1.0"\n\n\n'
    "def clamp(value, low, high):\n    return max(low, value)\n\n\n"
    "def double(x):\n    return x + x + 1\n"
)
CALC_FIX = (
    'VERSION = "1.1"\n\n\n'
    "def clamp(value, low, high):\n    return min(high, max(low, value))\n\n\n"
    "def double(x):\n    return x + x\n"
)


def test_the_hunk_the_new_test_misses_is_unproven(tmp_path: Path) -> None:
    repo = pr_repo(
        tmp_path,
        {"pkg/calc.py": CALC_BASE, "README.md": "calc\n"},
        {
            "pkg/calc.py": CALC_FIX,
            "README.md": "calc, fixed\n",
            "tests/test_clamp.py": (
                "from pkg.calc import clamp\n\n\ndef test_high():\n    assert clamp(50, 0, 10) == 10\n"
            ),
        },
    )
    evidence = run(repo)
    assert classes(evidence) == {"tests/test_clamp.py::test_high": F2P}
    assert evidence.tests[0].base == ("failed",) and evidence.tests[0].head == ("passed",)
    [claim] = evidence.auto_claims
    assert claim.id == "auto-1"
    # The constant ran only at import; the test that runs clamp() runs code of its file, so it
    # joins the claim, whose mutation check judges it (it was an unproven false alarm before).
    assert [str(h) for h in claim.hunks] == ["pkg/calc.py:1-1", "pkg/calc.py:5-5"]
    assert claim.tests == ("tests/test_clamp.py::test_high",)
    # double() is never called. README.md is not Python: neither proven nor unproven.
    [unproven] = evidence.unproven
    assert str(unproven) == "pkg/calc.py:9-9"
    assert unproven.why == proofs.NEVER_RAN
    assert "-    return x + x + 1\n+    return x + x\n" in unproven.diff
    assert git(repo, "worktree", "list").count("\n") == 1  # no worktree left behind


GREET = 'def greet():\n    return "hi"\n\n\ndef old_name():\n    return 1\n'
GREET_PR = 'def greet():\n    return "hello"\n'


def test_a_pr_that_breaks_a_test_in_a_file_it_edits_is_p2f(tmp_path: Path) -> None:
    repo = pr_repo(
        tmp_path,
        {
            # `-q` in addopts turns `--collect-only -q` into per-file counts: ids must survive.
            # `-x` would stop the head run at test_hi: test_str must run all the same.
            "pyproject.toml": "[tool.pytest.ini_options]\naddopts = '-q -x'\n",
            "pkg/greet.py": GREET,
            "tests/test_old.py": (
                "from pkg.greet import greet\n\n\ndef test_hi():\n    assert greet() == 'hi'\n"
            ),
            "tests/test_legacy.py": (
                "from pkg.greet import old_name\n\n\ndef test_old():\n    assert old_name() == 1\n"
            ),
        },
        {
            "pkg/greet.py": GREET_PR,
            "tests/test_old.py": (
                "from pkg.greet import greet\n\n\ndef test_hi():\n    assert greet() == 'hi'\n"
                "\n\ndef test_str():\n    assert isinstance(greet(), str)\n"
            ),
            # Edited, but still imports the name the PR deletes: the head cannot collect it.
            "tests/test_legacy.py": (
                "from pkg.greet import old_name\n\n\ndef test_old():\n    assert old_name() == 1\n"
                "\n\ndef test_more():\n    assert old_name() + 1 == 2\n"
            ),
        },
    )
    evidence = run(repo)
    assert classes(evidence) == {
        "tests/test_legacy.py": P2F,
        "tests/test_old.py::test_hi": P2F,
        "tests/test_old.py::test_str": P2P,
    }
    assert evidence.tests[2].head == ("passed",)
    legacy = evidence.tests[0]
    assert legacy.base == ("passed",) and legacy.head == ("not collected",)
    assert "cannot import name 'old_name'" in legacy.note
    assert_only_unproven(evidence, "pkg/greet.py:2-2")


def test_a_test_of_a_name_the_fix_adds_is_new_api_not_f2p(tmp_path: Path) -> None:
    repo = pr_repo(
        tmp_path,
        {"pkg/calc.py": "def add(a, b):\n    return a + b\n"},
        {
            "pkg/calc.py": (
                "def add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return a - b\n"
            ),
            "tests/test_sub.py": (
                "from pkg.calc import sub\n\n\ndef test_sub():\n    assert sub(3, 1) == 2\n"
            ),
        },
    )
    evidence = run(repo)
    [test] = evidence.tests
    assert test.klass is NEW_API
    assert test.base == ("not collected",) and test.head == ("passed",)
    assert test.note.startswith("tests/test_sub.py")
    assert "ImportError: cannot import name 'sub' from 'pkg.calc'" in test.note
    # Failing to import a new name reproduces no bug, so nothing proves the new function.
    assert_only_unproven(evidence, "pkg/calc.py:3-6")


def test_p2p_f2f_skips_params_and_more_runs_for_concurrency_tests(tmp_path: Path) -> None:
    repo = pr_repo(
        tmp_path,
        {"pkg/calc.py": "def half(x):\n    return x / 2\n"},
        {
            "pkg/calc.py": "def half(x):\n    return x // 2\n",
            "tests/test_half.py": (
                "import pytest\n\nfrom pkg.calc import half\n\n\n"
                "@pytest.mark.harness_concurrency\n"
                "def test_even():\n    assert half(4) == 2\n\n\n"
                "def test_negative():\n    assert half(-3) == 1\n\n\n"
                "def test_floor():\n    assert half(3) == 1\n\n\n"
                "@pytest.mark.skip(reason='later')\ndef test_later():\n    assert half(1) == 0\n\n\n"
                "class TestHalf:\n"
                "    @pytest.mark.parametrize('x, want', [(6, 3), (7, 3)])\n"
                "    def test_param(self, x, want):\n        assert half(x) == want\n"
            ),
        },
    )
    evidence = run(repo, repeats=2)
    assert classes(evidence) == {
        "tests/test_half.py::test_even": P2P,
        "tests/test_half.py::test_negative": F2F,
        "tests/test_half.py::test_floor": F2P,
        "tests/test_half.py::test_later": P2P,
        "tests/test_half.py::TestHalf::test_param[6-3]": P2P,
        "tests/test_half.py::TestHalf::test_param[7-3]": F2P,
    }
    by_id = {t.nodeid: t for t in evidence.tests}
    # Marked harness_concurrency: at least CONCURRENCY_REPEATS runs on each side.
    assert by_id["tests/test_half.py::test_even"].head == ("passed",) * 3
    assert by_id["tests/test_half.py::test_even"].base == ("passed",) * 3
    assert by_id["tests/test_half.py::test_negative"].base == ("failed",) * 2
    assert by_id["tests/test_half.py::test_floor"].head == ("passed",) * 2
    # Skipped on both sides: no regression, no evidence, and the note says why.
    assert by_id["tests/test_half.py::test_later"].note == "skipped on the head"
    [claim] = evidence.auto_claims
    assert claim.tests == (
        "tests/test_half.py::TestHalf::test_param[7-3]",
        "tests/test_half.py::test_floor",
    )


SCALE_BASE = (
    "def scale(value, factor=1):\n"
    "    return value * factor\n"
    "\n"
    "\n"
    "def total(items):\n"
    "    s = 0\n"
    "    for i in items:\n"
    "        s += i\n"
    "    s += 1\n"
    "    return s\n"
)
#: A changed default on the def line, and a deleted line.
SCALE_FIX = SCALE_BASE.replace("factor=1", "factor=2").replace("    s += 1\n", "")


def test_two_hunks_one_test_make_one_claim(tmp_path: Path) -> None:
    repo = pr_repo(
        tmp_path,
        {"pkg/calc.py": SCALE_BASE},
        {
            "pkg/calc.py": SCALE_FIX,
            "tests/test_scale.py": (
                "from pkg.calc import scale, total\n\n\n"
                "def test_scaled_total():\n    assert scale(total([1, 2])) == 6\n"
            ),
        },
    )
    base = git(repo, "rev-parse", "HEAD~1").strip()
    head = git(repo, "rev-parse", "HEAD").strip()
    # As the pipeline calls it: with the worktrees it made (head's tests already laid over).
    with worktrees(repo, base, head, test_paths=DEFAULT_RUN.test_paths or ()) as spaces:
        evidence = discover(
            repo, base, head, python=sys.executable, settings=RunSettings(env=QUIET), spaces=spaces
        )
    assert classes(evidence) == {"tests/test_scale.py::test_scaled_total": F2P}
    # The def line runs at import; it counts for the test that runs the function's body. The
    # deletion is placed at the head line before it, and proven by the lines around it.
    [claim] = evidence.auto_claims
    assert [str(h) for h in claim.hunks] == ["pkg/calc.py:1-1", "pkg/calc.py:8-8"]
    assert claim.hunks[1].diff == "@@ -9,1 +8,0 @@\n-    s += 1\n"
    assert claim.tests == ("tests/test_scale.py::test_scaled_total",)
    assert not evidence.unproven


def test_a_pr_without_tests_leaves_every_code_hunk_unproven(tmp_path: Path) -> None:
    repo = pr_repo(
        tmp_path,
        {"pkg/calc.py": CALC_BASE + "\n\n# See docs.\n", "docs/calc.md": "calc\n"},
        # A comment-only hunk changes no behaviour: it is left out like the docs.
        {"pkg/calc.py": CALC_FIX + "\n\n# See docs/calc.md.\n", "docs/calc.md": "calc, fixed\n"},
    )
    evidence = run(repo)
    assert evidence.tests == [] and evidence.auto_claims == []
    assert [str(h) for h in evidence.unproven] == [
        "pkg/calc.py:1-1",
        "pkg/calc.py:5-5",
        "pkg/calc.py:9-9",
    ]


RATIO_BASE = "def ratio(a, b):\n    return a / b\n"
#: The fix adds an import, a new exception class and uses both in the function body.
RATIO_FIX = (
    "import math\n"
    "\n"
    "\n"
    "class RatioError(ValueError):\n"
    '    """b is zero."""\n'
    "\n"
    "\n"
    "def ratio(a, b):\n"
    "    if b == 0:\n"
    '        raise RatioError("b is zero")\n'
    "    return math.floor(a / b)\n"
)


def test_an_added_import_and_class_join_the_claim_of_the_body_using_them(tmp_path: Path) -> None:
    repo = pr_repo(
        tmp_path,
        {"pkg/ratio.py": RATIO_BASE},
        {
            "pkg/ratio.py": RATIO_FIX,
            "tests/test_ratio.py": (
                "import pytest\n\nfrom pkg.ratio import ratio\n\n\n"
                "def test_floor_and_zero():\n"
                "    assert ratio(7, 2) == 3\n"
                "    with pytest.raises(ValueError):\n"
                "        ratio(1, 0)\n"
            ),
        },
    )
    evidence = run(repo)
    assert classes(evidence) == {"tests/test_ratio.py::test_floor_and_zero": F2P}
    # The import and the class ran only at import time; the F2P test runs ratio() in the same
    # file, so all of the fix is one claim.
    [claim] = evidence.auto_claims
    assert [str(h) for h in claim.hunks] == ["pkg/ratio.py:1-7", "pkg/ratio.py:9-11"]
    assert claim.tests == ("tests/test_ratio.py::test_floor_and_zero",)
    assert not evidence.unproven


def test_a_changed_constant_is_proven_only_where_the_f2p_test_runs_the_file(
    tmp_path: Path,
) -> None:
    settings = "RETRIES = {}\n\n\ndef retries():\n    return RETRIES\n"
    repo = pr_repo(
        tmp_path,
        {
            "pkg/limits.py": "from pkg import settings\n\nLIMIT = 10\n\n\n"
            "def fits(n):\n    return n <= LIMIT\n",
            "pkg/settings.py": settings.format(1),
            "pkg/unused.py": "DEBUG = False\n",
        },
        {
            # The whole fix: a default constant the tested function reads.
            "pkg/limits.py": "from pkg import settings\n\nLIMIT = 100\n\n\n"
            "def fits(n):\n    return n <= LIMIT\n",
            # Imported by limits.py, but no F2P test calls retries().
            "pkg/settings.py": settings.format(3),
            # Never imported at all.
            "pkg/unused.py": "DEBUG = True\n",
            "tests/test_fits.py": (
                "from pkg.limits import fits\n\n\ndef test_fifty():\n    assert fits(50)\n"
            ),
        },
    )
    evidence = run(repo)
    assert classes(evidence) == {"tests/test_fits.py::test_fifty": F2P}
    [claim] = evidence.auto_claims
    assert [str(h) for h in claim.hunks] == ["pkg/limits.py:3-3"]
    assert claim.tests == ("tests/test_fits.py::test_fifty",)
    assert [(str(h), h.why) for h in evidence.unproven] == [
        ("pkg/settings.py:1-1", proofs.IMPORT_ONLY),
        ("pkg/unused.py:1-1", proofs.NEVER_RAN),
    ]


def test_a_base_run_cut_short_by_a_hang_judges_only_the_test_it_was_in(tmp_path: Path) -> None:
    # The PR fixes an endless loop. On the base the run times out inside test_loop_ends: that
    # test reproduces (a hang on the base counts as a failure). test_other never ran there, so
    # it is no evidence of anything (it used to take the run's "timed out" and pass for F2P).
    repo = pr_repo(
        tmp_path,
        {"pkg/loop.py": "def settle(n):\n    while n != 0:\n        n -= 2\n    return n\n"},
        {
            "pkg/loop.py": "def settle(n):\n    while n > 0:\n        n -= 2\n    return 0\n",
            "tests/test_loop.py": (
                "from pkg.loop import settle\n\n\n"
                "def test_loop_ends():\n    assert settle(3) == 0\n\n\n"
                "def test_other():\n    assert settle(4) == 0\n"
            ),
        },
    )
    evidence = run(repo, timeout=8)
    found = {t.nodeid: (t.klass, t.base) for t in evidence.tests}
    assert found["tests/test_loop.py::test_loop_ends"] == (F2P, ("timed out",))
    assert found["tests/test_loop.py::test_other"] == (P2P, ("not run",))

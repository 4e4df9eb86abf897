"""The calibration runner's offline parts: case validation, repo building, overlay, test runs.

The downloads and the harness runs themselves are the `nox -s realworld` benchmark, not CI.
"""

from __future__ import annotations

import subprocess
import sys
import tarfile
from collections import Counter
from pathlib import Path

import pytest

from harness.claims.load import load_manifest

HERE = Path(__file__).resolve().parents[2] / "benchmarks" / "realworld"
sys.path.insert(0, str(HERE))

import casebuild  # noqa: E402
import caseset  # noqa: E402
import run  # noqa: E402

GOOD = """\
bug_class = "replay"
package = "tinypkg"
old = "1.0"
new = "1.1"
source = "CHANGES 1.1: reject timestamps from the future"
tests = ["tests/test_age.py::test_future"]
fix = ["tinypkg/age.py:3-4"]
deps = ["pytest==8.3.4"]
pythonpath = ""
expected = "VERIFIED"
why = "deleting the guard fails test_future"
reason = "age.py:3-4 adds the guard; deleting it fails test_future."
history = ["2026-12-03: written before the first run"]
"""


def write_case(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.toml"
    path.write_text(text)
    return path


def test_a_valid_case_loads(tmp_path: Path) -> None:
    case = caseset.load_case(write_case(tmp_path, "tiny-future", GOOD))
    assert case.name == "tiny-future"
    assert case.test_files == ("tests/test_age.py",)
    assert run.cases_table([case]).splitlines()[-1] == (
        "| [tiny-future](cases/tiny-future.toml) | tinypkg 1.0 → 1.1 | replay | VERIFIED "
        "| deleting the guard fails test_future |"
    )


@pytest.mark.parametrize(
    ("old", "new", "line", "field"),
    [
        ('expected = "VERIFIED"', 'expected = "PASSED"', 10, "expected"),
        ('why = "deleting', 'cleanup = ["/tmp"]\nwhy = "deleting', 11, "cleanup"),
        ('deps = ["pytest==8.3.4"]', 'deps = ["pytest>=8"]', 8, "deps"),
        ('fix = ["tinypkg/age.py:3-4"]', 'fix = ["tinypkg/age.py:three"]', 7, "fix"),
        ('tests = ["tests/test_age.py::test_future"]', 'tests = ["test_future"]', 6, "tests"),
        ('bug_class = "replay"', 'bug_class = "replay"\nflavour = "x"', 2, "flavour"),
    ],
)
def test_a_bad_field_names_file_line_and_field(
    tmp_path: Path, old: str, new: str, line: int, field: str
) -> None:
    path = write_case(tmp_path, "tiny-future", GOOD.replace(old, new))
    with pytest.raises(caseset.CaseError) as info:
        caseset.load_case(path)
    assert str(info.value).startswith(f"{path}:{line}: {field}")


def test_the_runner_exits_2_on_a_bad_case_file(tmp_path: Path, capsys) -> None:
    write_case(tmp_path, "tiny-future", GOOD.replace("VERIFIED", "FINE"))
    assert run.main(["--check", "--cases-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "tiny-future.toml:10: expected" in err[0]


def test_the_shipped_cases_are_valid_and_cover_the_bug_classes() -> None:
    cases = caseset.load_cases()
    assert len(cases) >= 16
    classes = Counter(c.bug_class for c in cases)
    assert set(classes) == set(caseset.BugClass.__args__)
    assert sum(c.expected != "VERIFIED" for c in cases) >= 4


def make_sdist(folder: Path, top: str, files: dict[str, str]) -> Path:
    src = folder / "src" / top
    for rel, text in files.items():
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        (src / rel).write_text(text)
    archive = folder / f"{top}.tar.gz"
    with tarfile.open(archive, "w:gz") as tf:
        tf.add(src, arcname=top)
    return archive


BUGGY = "def age(now, stamp):\n    return now - stamp\n"
FIXED = (
    "def age(now, stamp):\n"
    "    if stamp > now:\n"
    "        raise ValueError('from the future')\n"
    "    return now - stamp\n"
)
TEST = (
    "import pytest\nfrom tinypkg.age import age\n\n"
    "def test_future():\n    with pytest.raises(ValueError):\n        age(1, 2)\n"
)


@pytest.fixture
def trees(tmp_path: Path) -> tuple[Path, Path]:
    old = make_sdist(tmp_path, "tinypkg-1.0", {"tinypkg/__init__.py": "", "tinypkg/age.py": BUGGY})
    new = make_sdist(
        tmp_path,
        "tinypkg-1.1",
        {"tinypkg/__init__.py": "", "tinypkg/age.py": FIXED, "tests/test_age.py": TEST},
    )
    return (
        casebuild.extract(old, tmp_path / "trees" / "old"),
        casebuild.extract(new, tmp_path / "trees" / "new"),
    )


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=repo, check=True, capture_output=True, text=True
    ).stdout


def test_build_repo_commits_old_then_new_after_prepare(
    tmp_path: Path, trees: tuple[Path, Path]
) -> None:
    case = caseset.load_case(
        write_case(
            tmp_path / "cases",
            "tiny-future",
            GOOD + 'prepare = "echo stub > tinypkg/_version.py"\n',
        )
    )
    repo = casebuild.build_repo(case, *trees, tmp_path / "cache")
    assert git(repo, "rev-list", "--count", "HEAD").strip() == "2"
    assert git(repo, "show", "HEAD~1:tinypkg/age.py") == BUGGY
    assert git(repo, "show", "HEAD:tinypkg/age.py") == FIXED
    assert git(repo, "show", "HEAD~1:tinypkg/_version.py") == "stub\n"
    assert git(repo, "diff", "--name-only", "HEAD~1", "HEAD").split() == [
        "tests/test_age.py",
        "tinypkg/age.py",
    ]
    assert git(repo, "status", "--porcelain") == ""
    # Built once: a second call reuses the same commits.
    head = git(repo, "rev-parse", "HEAD")
    assert git(casebuild.build_repo(case, *trees, tmp_path / "cache"), "rev-parse", "HEAD") == head


def test_overlay_lays_tests_and_named_files_but_no_source(
    tmp_path: Path, trees: tuple[Path, Path]
) -> None:
    _, new = trees
    (new / "tinypkg" / "checks").mkdir()
    (new / "tinypkg" / "checks" / "smoke.py").write_text("def test_x():\n    pass\n")
    case = caseset.load_case(
        write_case(
            tmp_path / "cases",
            "tiny-future",
            GOOD.replace(
                '"tests/test_age.py::test_future"',
                '"tests/test_age.py::test_future", "tinypkg/checks/smoke.py::test_x"',
            ),
        )
    )
    dest = tmp_path / "dest"
    dest.mkdir()
    laid = run.overlay(new, dest, case)
    assert laid == ["tests/test_age.py", "tinypkg/checks/smoke.py"]


def test_run_tests_tells_fail_pass_and_hang(tmp_path: Path, trees: tuple[Path, Path]) -> None:
    old, new = trees
    case = caseset.load_case(write_case(tmp_path / "cases", "tiny-future", GOOD))
    python = Path(sys.executable)
    run.overlay(new, old, case)
    assert run.run_tests(case, python, old) == "fail"
    assert run.run_tests(case, python, new) == "pass"
    (new / "tests" / "test_age.py").write_text(
        "import time\n\ndef test_future():\n    time.sleep(30)\n"
    )
    hanging = case.model_copy(update={"timeout": 1.0})
    assert run.run_tests(hanging, python, new) == "hang"
    (new / "tests" / "test_age.py").write_text(
        "import nosuchmodule\n\ndef test_future():\n    pass\n"
    )
    # A test module that cannot import is not a failure of the test: neither "fail" nor "pass".
    assert run.run_tests(case, python, new).startswith("error(exit ")


def test_selfcheck_expectation_follows_the_expected_verdict(tmp_path: Path) -> None:
    case = caseset.load_case(write_case(tmp_path, "tiny-future", GOOD))
    assert run.selfcheck_expectation(case) == (3, 3)
    assert run.selfcheck_expectation(case.model_copy(update={"expected": "NOT_REPRODUCED"})) == (
        0,
        3,
    )


def test_the_manifest_holds_one_claim_with_the_case_settings(tmp_path: Path) -> None:
    case = caseset.load_case(
        write_case(
            tmp_path,
            "tiny-future",
            GOOD.replace('pythonpath = ""', 'pythonpath = "src"\npytest_args = ["-W", "error"]'),
        )
    )
    path = tmp_path / "harness.toml"
    path.write_text(run.manifest_for(case))
    manifest = load_manifest(path)
    (claim,) = manifest.claims
    settings = manifest.settings_for(claim)
    assert claim.tests == case.tests
    assert [str(f) for f in claim.fix] == ["tinypkg/age.py:3-4"]
    assert settings.env == {"PYTHONPATH": "src"}
    assert settings.pytest_args == ("-W", "error")
    assert settings.concurrency is False

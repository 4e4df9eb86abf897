"""`harness verify` on a repository that is not the sample: verdicts, outcomes, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.cli.main import main

from .conftest import FIX, UNGUARDED_MANIFEST, commit, git, tree_hash, verify_args


def verify(repo: Path, out: Path, *args: str) -> tuple[int, dict]:
    code = main(verify_args(repo, out, *args))
    results = out / "results.json"
    return code, json.loads(results.read_text()) if results.exists() else {}


def claim(doc: dict) -> dict:
    return doc["run"]["claims"][0]


def test_fully_tested_fix_is_verified_and_tree_untouched(third_repo: Path, tmp_path: Path) -> None:
    before = tree_hash(third_repo)
    code, doc = verify(third_repo, tmp_path / "out", "--tests", "tests/test_clamp.py")
    result = claim(doc)
    assert result["verdict"] == "VERIFIED", result["reason"]
    assert code == 0
    # The base run used the head's test file laid over the base's source.
    assert result["base_runs"][0]["outcome"] == "failed"
    assert "tests/test_clamp.py::test_high" in result["base_runs"][0]["failed"]
    families = {m["family"] for m in result["mutants"]}
    assert "guard removal" in families
    assert all(m["status"] in ("killed", "timeout") for m in result["mutants"])
    assert tree_hash(third_repo) == before
    assert git(third_repo, "worktree", "list").count("\n") == 1  # no worktree left behind
    # mutation-testing-elements needs each mutated file's source.
    assert "def clamp" in doc["mutationReport"]["files"]["pkg/calc.py"]["source"]


def test_a_guard_the_claim_test_misses_is_killed_by_another_test(
    third_repo: Path, tmp_path: Path
) -> None:
    # test_high never reaches the `low > high` guard; test_bad_bounds (not a claim test) does.
    code, doc = verify(third_repo, tmp_path / "out", "--tests", "tests/test_clamp.py::test_high")
    result = claim(doc)
    assert result["verdict"] == "VERIFIED", result["reason"]
    assert code == 0
    guard = [m for m in result["mutants"] if m["operator"] == "guard-delete"]
    assert guard and guard[0]["status"] == "killed"
    assert guard[0]["killed_by"] == "suite"
    assert guard[0]["killing_test"] == "tests/test_clamp.py::test_bad_bounds"
    # Nothing on the guard's own lines (2-3) was killed by the claim's test.
    by_claim = [m for m in result["mutants"] if m["killed_by"] == "claim"]
    assert by_claim and not any(
        m["line"] in (2, 3) and m["family"] != "hunk revert" for m in by_claim
    )


def test_untested_guard_is_unguarded_when_only_claim_tests_count(
    third_repo: Path, tmp_path: Path
) -> None:
    manifest = tmp_path / "harness.toml"
    manifest.write_text(UNGUARDED_MANIFEST)
    code, doc = verify(third_repo, tmp_path / "out", "--manifest", str(manifest))
    result = claim(doc)
    assert result["verdict"] == "UNGUARDED", result["reason"]
    assert code == 1
    survivors = [m for m in result["mutants"] if m["status"] in ("survived", "no_coverage")]
    assert survivors and all(m["line"] in (2, 3) for m in survivors)
    assert any(m["reverting"] for m in survivors)
    assert "--- a/pkg/calc.py" in survivors[0]["diff"]


def test_test_that_passes_on_base_is_not_reproduced(third_repo: Path, tmp_path: Path) -> None:
    code, doc = verify(third_repo, tmp_path / "out", "--tests", "tests/test_smoke.py")
    assert claim(doc)["verdict"] == "NOT_REPRODUCED"
    assert "pass on the base too" in claim(doc)["reason"]
    assert code == 1


def test_test_importing_a_name_the_fix_adds_is_not_collected_on_base(
    third_repo: Path, tmp_path: Path
) -> None:
    commit(
        third_repo,
        {
            "pkg/calc.py": FIX["pkg/calc.py"]
            + "\n\ndef spread(low, high):\n    return high - low\n",
            "tests/test_spread.py": "from pkg.calc import spread\n\n\ndef test_spread():\n    assert spread(2, 5) == 3\n",
        },
        "calc: add spread",
    )
    _, doc = verify(third_repo, tmp_path / "out", "--tests", "tests/test_spread.py", "--no-mutate")
    result = claim(doc)
    assert result["base_runs"][0]["outcome"] == "not_collected"
    assert result["verdict"] == "NOT_REPRODUCED"
    assert "not_collected" in result["reason"]


def test_hang_on_base_is_a_reproduction_by_timeout(tmp_path: Path) -> None:
    repo = tmp_path / "loop"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    commit(
        repo,
        {
            "retry.py": "def call(f):\n    while True:\n        try:\n            return f()\n        except OSError:\n            pass\n",
            "tests/test_ok.py": "def test_ok():\n    assert True\n",
        },
        "retry forever",
    )
    commit(
        repo,
        {
            "retry.py": (
                "def call(f, attempts=3):\n    for _ in range(attempts):\n        try:\n            return f()\n"
                "        except OSError:\n            pass\n    raise OSError('gave up')\n"
            ),
            "tests/test_retry.py": (
                "import pytest\nfrom retry import call\n\n\ndef test_gives_up():\n"
                "    def boom():\n        raise OSError\n    with pytest.raises(OSError):\n        call(boom)\n"
            ),
        },
        "retry: bound the attempts",
    )
    _, doc = verify(
        repo,
        tmp_path / "out",
        "--tests",
        "tests/test_retry.py",
        "--timeout",
        "8",
        "--no-mutate",
        "--env",
        "PYTHONPATH=.",
    )
    result = claim(doc)
    assert result["base_runs"][0]["outcome"] == "timed_out"
    assert result["head_runs"][0]["outcome"] == "passed"
    assert "fails on the base 1/1 (1 by timeout)" in result["reason"]
    assert "mutation testing was skipped" in result["reason"]
    assert result["verdict"] == "ERROR"  # --no-mutate: never a pass without the guarded step


def test_bad_refs_and_dirty_tree_are_user_errors(third_repo: Path, tmp_path: Path, capsys) -> None:
    def verify_in(repo: Path, *args: str) -> int:
        return main(["verify", "--repo", str(repo), *args])

    assert verify_in(third_repo, "--base", "nope", "--tests", "tests/test_clamp.py") == 2
    err = capsys.readouterr().err
    assert "--base='nope' is not a commit" in err and "Traceback" not in err
    assert verify_in(third_repo, "--base", "HEAD~1", "--head", "zzz", "--tests", "t.py") == 2
    assert "--head='zzz'" in capsys.readouterr().err
    (third_repo / "pkg" / "calc.py").write_text("# local edit\n")
    before = tree_hash(third_repo)
    assert verify_in(third_repo, "--base", "HEAD~1", "--tests", "tests/test_clamp.py") == 2
    err = capsys.readouterr().err
    assert "uncommitted changes (pkg/calc.py)" in err and "--allow-dirty" in err
    assert tree_hash(third_repo) == before
    assert verify_in(tmp_path, "--base", "HEAD~1", "--tests", "t.py") == 2
    assert "not inside a git repository" in capsys.readouterr().err


def test_tests_that_cannot_be_collected_on_head_are_a_user_error(
    third_repo: Path, tmp_path: Path, capsys
) -> None:
    # Checked by one collection on the head before any run: exit 2, no verdict, no reports.
    code, doc = verify(third_repo, tmp_path / "out", "--tests", "tests/test_missing.py")
    assert code == 2 and doc == {}
    assert "--tests='tests/test_missing.py': not found on the head" in capsys.readouterr().err


@pytest.mark.parametrize(
    "manifest_text", ['[[claims]]\nid = "x"\ntitle = "t"\nseverity = "urgent"\ntests = ["a"]\n']
)
def test_bad_manifest_exit_2(third_repo: Path, tmp_path: Path, capsys, manifest_text: str) -> None:
    path = tmp_path / "harness.toml"
    path.write_text(manifest_text)
    assert (
        main(["verify", "--repo", str(third_repo), "--base", "HEAD~1", "--manifest", str(path)])
        == 2
    )
    assert f"{path}:4" in capsys.readouterr().err


def test_gate_with_a_red_suite_at_head_reports_instead_of_crashing(
    third_repo: Path, tmp_path: Path
) -> None:
    commit(
        third_repo, {"tests/test_unrelated.py": "def test_red():\n    assert False\n"}, "a red test"
    )
    out = tmp_path / "gate"
    manifest = tmp_path / "harness.toml"
    manifest.write_text(
        '[[claims]]\nid = "clamp"\ntitle = "clamp"\ntests = ["tests/test_clamp.py"]\nfix = ["pkg/calc.py"]\n'
    )
    args = ["gate", "--repo", str(third_repo), "--base", "HEAD~2", "--manifest", str(manifest)]
    code = main([*args, "--out", str(out)])
    assert code == 1
    doc = json.loads((out / "results.json").read_text())
    failures = doc["run"]["policy_failures"]
    assert any(f.startswith("changed lines: mutation could not run: baseline") for f in failures), (
        failures
    )
    assert "mutation could not run" in (out / "summary.md").read_text()
    assert doc["verdicts"] == {"clamp": "VERIFIED"}  # the claim itself is still judged

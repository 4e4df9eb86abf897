"""Seeded schedule perturbation makes a narrow-window race claim reproducible, through the CLI.

The projects in tests/data/perturb hold races whose window a plain run almost never hits (no GIL
release, no real suspension between check and act). `verify --concurrency` perturbs the fix's
files in every run of the claim's tests (base/head run i and mutant run i with seed i + 1):
the claim is VERIFIED. With `perturb = off` the same claim is NOT_REPRODUCED.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from harness.claims.model import Claim, FixRange, Manifest, RunSettings
from harness.outcomes import RunOutcome
from harness.testrun import run_pytest
from harness.verify.perturbation import Targets, targets

from ..manifests import claim_table
from ..perturb_repos import FIX_FILES, TESTS, checkout, make_repo

#: The tiny projects need no third-party plugin (and a plugin that warns at start-up, such as
#: pytest-benchmark in some environments, has nothing to do with these claims). The
#: perturbation plugin is loaded by name (`-p fixguard_perturb`), so it still runs.
QUIET = {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
#: The inbox's async test needs anyio's plugin, which autoloading would have brought in.
ANYIO = ("--pytest-args", "-p anyio")


def verify_cli(repo: Path, out: Path, *args: str) -> tuple[int, dict[str, Any], str]:
    """The real CLI in a subprocess, as a user runs it: exit code, results.json's run, stderr."""
    command = [sys.executable, "-m", "harness.cli", "verify", "--repo", str(repo)]
    proc = subprocess.run(
        [*command, "--base", "HEAD~1", "--head", "HEAD", "--out", str(out), *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **QUIET},
    )
    results = out / "results.json"
    run = json.loads(results.read_text())["run"] if results.exists() else {}
    return proc.returncode, run, proc.stderr


#: The lines each side's diff changes in the fix file (tests/data/perturb): hot, where a
#: thread stalls. Base: the old lines of each hunk (a pure insertion marks the line before it).
HOT = {
    ("quota", "base"): "2+7+10-14",
    ("quota", "head"): "3-4+10+13-18",
    ("inbox", "base"): "2+15+18-22",
    ("inbox", "head"): "3-4+18+21-26",
}


def spec(kind: str, seed: int, side: str = "head") -> str:
    return f"auto:seed={seed}:files={FIX_FILES[kind]}@{HOT[kind, side]}"


def mutant(claim: dict[str, Any], operator: str) -> dict[str, Any]:
    found = [m for m in claim["mutants"] if m["operator"] == operator]
    assert len(found) == 1, [m["operator"] for m in claim["mutants"]]
    return found[0]


@pytest.fixture(scope="module")
def quota_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_repo("quota", tmp_path_factory.mktemp("quota") / "repo")


@pytest.fixture(scope="module")
def quota_base(quota_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return checkout(quota_repo, "HEAD~1", tmp_path_factory.mktemp("quota-base") / "base")


@pytest.fixture(scope="module")
def quota_verified(
    quota_repo: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[int, dict[str, Any]]:
    """`verify --concurrency` on the quota claim (shared: one verify run for two tests)."""
    out = tmp_path_factory.mktemp("quota-out")
    code, run, _ = verify_cli(quota_repo, out, "--tests", TESTS["quota"], "--concurrency")
    return code, run["claims"][0]


# -- threads: the quota store -------------------------------------------------------------------


@pytest.mark.slow
def test_quota_is_verified_perturbed_and_not_reproduced_plain(
    quota_repo: Path, quota_verified: tuple[int, dict[str, Any]], tmp_path: Path
) -> None:
    code, claim = quota_verified
    assert claim["verdict"] == "VERIFIED", claim["reason"]
    assert code == 0
    # Verify stops the base runs at the first reproduction; the head runs all three.
    assert [(r["index"], r["outcome"]) for r in claim["base_runs"]] == [(0, "failed")]
    assert [(r["index"], r["outcome"]) for r in claim["head_runs"]] == [
        (0, "passed"),
        (1, "passed"),
        (2, "passed"),
    ]
    for run in claim["base_runs"] + claim["head_runs"]:
        assert run["perturb"] == spec("quota", run["index"] + 1, run["side"]), run["side"]
        assert f"--harness-perturb={run['perturb']}" in run["command"]
        assert len(run["perturbed"]) == 1
        assert f"seed={run['index'] + 1}: preempt" in run["perturbed"][0]
    lock_removed = mutant(claim, "with-lock-removal")
    assert lock_removed["status"] == "killed", lock_removed
    assert lock_removed["killing_test"] == TESTS["quota"]

    # The same claim, the same runs, no perturbation: the window is never hit.
    code, run, _ = verify_cli(
        quota_repo, tmp_path / "off", "--tests", TESTS["quota"], "--concurrency", "--perturb", "off"
    )
    plain = run["claims"][0]
    assert plain["verdict"] == "NOT_REPRODUCED", plain["reason"]
    assert code == 1
    assert [r["outcome"] for r in plain["base_runs"]] == ["passed"] * 3
    for r in plain["base_runs"] + plain["head_runs"]:
        assert r["perturb"] == "" and r["perturbed"] == [] and r["replays"] == []
        assert "harness-perturb" not in r["command"]


def test_perturbed_base_fails_three_of_three_where_plain_passes(
    quota_repo: Path, quota_base: Path
) -> None:
    # verify stops at the first reproduction; here every seed verify would use must reproduce.
    found = targets(quota_repo, "HEAD~1", "HEAD", (), [TESTS["quota"]])
    for seed in (1, 2, 3):
        perturb = found.spec("auto", "base", quota_base, seed)
        assert perturb == spec("quota", seed, "base")
        run = run_pytest(
            quota_base, [TESTS["quota"]], python=sys.executable, env=QUIET, perturb=perturb
        )
        assert run.outcome is RunOutcome.FAILED, (seed, run.error_line, run.log_tail)
        assert run.failed == (TESTS["quota"],)
        assert run.perturb == perturb
        assert len(run.replays) == 1 and run.replays[0].endswith(f"--harness-perturb={perturb}")
    plain = run_pytest(quota_base, [TESTS["quota"]], python=sys.executable, env=QUIET)
    # The race's window holds no GIL release: a plain run passes (0 failures in 3000 calls of
    # the test when this was written), which is why --perturb off is NOT_REPRODUCED.
    assert plain.outcome is RunOutcome.PASSED, plain.log_tail
    assert plain.perturb == "" and plain.perturbed == () and plain.replays == ()


def _replay(quota_verified: tuple[int, dict[str, Any]]) -> list[str]:
    _, claim = quota_verified
    [failing] = claim["base_runs"]
    [replay] = failing["replays"]
    command = shlex.split(replay)
    assert command[0] == sys.executable
    assert command[1:] == [
        "-m",
        "pytest",
        "-p",
        "harness.perturb_plugin",
        TESTS["quota"],
        f"--harness-perturb={spec('quota', 1, 'base')}",
    ]
    return command


@pytest.mark.slow
def test_a_failing_base_runs_replay_reproduces_in_a_base_checkout(
    quota_verified: tuple[int, dict[str, Any]], quota_base: Path
) -> None:
    command = _replay(quota_verified)
    # As a user runs it: the project's interpreter with its plugins (fixguard's among them).
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_DISABLE_PLUGIN_AUTOLOAD"}
    for attempt in range(5):
        proc = subprocess.run(
            command, cwd=quota_base, capture_output=True, text=True, timeout=120, env=env
        )
        assert proc.returncode == 1, (attempt, proc.stdout[-2000:], proc.stderr[-2000:])
        assert "1 failed" in proc.stdout
        assert "seed=1: preempt" in proc.stdout


@pytest.mark.slow
def test_the_replay_reproduces_in_the_environment_verify_ran_in(
    quota_verified: tuple[int, dict[str, Any]], quota_base: Path
) -> None:
    # Plugin autoload off, as verify ran the claim: the replay loads the plugin itself.
    proc = subprocess.run(
        _replay(quota_verified),
        cwd=quota_base,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **QUIET},
    )
    assert proc.returncode == 1, (proc.stdout[-2000:], proc.stderr[-2000:])


# -- the manifest's settings --------------------------------------------------------------------


def verify_manifest(repo: Path, tmp_path: Path, plain: str) -> tuple[int, dict[str, Any], str]:
    """Verify, from tmp_path/harness.toml, the quota claim twice: perturbed as concurrency
    claims are, and with `perturb = plain`."""
    quota = {"tests": [TESTS["quota"]], "fix": [FIX_FILES["quota"]]}
    manifest = tmp_path / "harness.toml"
    manifest.write_text(
        claim_table(
            "quota-perturbed",
            "quota grants past the limit under contention",
            **quota,
            run={"concurrency": True},
        )
        + claim_table(
            "quota-plain",
            "the same claim, run plainly",
            **quota,
            run={"concurrency": True, "perturb": plain},
        )
    )
    return verify_cli(repo, tmp_path / "out", "--manifest", str(manifest))


@pytest.mark.slow
def test_a_manifest_concurrency_claim_is_verified_and_its_perturb_off_twin_is_not(
    quota_repo: Path, tmp_path: Path
) -> None:
    code, run, _ = verify_manifest(quota_repo, tmp_path, "off")
    claims = {c["claim_id"]: c for c in run["claims"]}
    assert {k: c["verdict"] for k, c in claims.items()} == {
        "quota-perturbed": "VERIFIED",
        "quota-plain": "NOT_REPRODUCED",
    }, {k: c["reason"] for k, c in claims.items()}
    assert code == 1
    perturbed, plain = claims["quota-perturbed"], claims["quota-plain"]
    assert perturbed["repeats"] == plain["repeats"] == 3
    assert [r["perturb"] for r in perturbed["base_runs"]] == [spec("quota", 1, "base")]
    assert [r["perturb"] for r in perturbed["head_runs"]] == [spec("quota", s) for s in (1, 2, 3)]
    assert mutant(perturbed, "with-lock-removal")["status"] == "killed"
    assert [r["perturb"] for r in plain["base_runs"] + plain["head_runs"]] == [""] * 6


def test_a_bad_perturb_value_in_the_manifest_is_one_line_and_exit_2(
    quota_repo: Path, tmp_path: Path
) -> None:
    code, run, stderr = verify_manifest(quota_repo, tmp_path, "sometimes")
    assert code == 2, stderr
    assert run == {} and not (tmp_path / "out").exists()
    [line] = stderr.strip().splitlines()
    assert str(tmp_path / "harness.toml") in line
    assert "claims[1](quota-plain).run.perturb='sometimes'" in line


# -- asyncio: the inbox -------------------------------------------------------------------------


@pytest.mark.slow
def test_inbox_is_verified_perturbed_and_not_reproduced_plain(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    tmp = tmp_path_factory.mktemp("inbox")
    repo = make_repo("inbox", tmp / "repo")
    code, run, _ = verify_cli(
        repo, tmp / "auto", "--tests", TESTS["inbox"], "--concurrency", *ANYIO
    )
    claim = run["claims"][0]
    assert claim["verdict"] == "VERIFIED", claim["reason"]
    assert code == 0
    assert claim["base_runs"][-1]["outcome"] == "failed"
    assert [r["outcome"] for r in claim["head_runs"]] == ["passed"] * 3
    for r in claim["base_runs"] + claim["head_runs"]:
        assert r["perturb"] == spec("inbox", r["index"] + 1, r["side"])
        # An async def test runs on the controlled loop ("auto" picks explore for it).
        assert f"seed={r['index'] + 1}: explore" in r["perturbed"][0], r["perturbed"]
    lock_removed = mutant(claim, "async-with-lock-removal")
    assert lock_removed["status"] == "killed", lock_removed

    code, run, _ = verify_cli(
        repo, tmp / "off", "--tests", TESTS["inbox"], "--concurrency", "--perturb", "off", *ANYIO
    )
    plain = run["claims"][0]
    assert plain["verdict"] == "NOT_REPRODUCED", plain["reason"]
    assert code == 1
    assert [r["outcome"] for r in plain["base_runs"]] == ["passed"] * 3
    assert all(r["perturb"] == "" for r in plain["base_runs"] + plain["head_runs"])


# -- units: settings and specs ------------------------------------------------------------------


def claim(run: RunSettings | None = None) -> Claim:
    return Claim(id="c", title="t", tests=("tests/test_x.py::test_x",), run=run)


def test_concurrency_from_the_command_line_gives_three_repeats_and_auto_perturbation() -> None:
    manifest = Manifest(claims=(claim(),))
    plain = manifest.settings_for(manifest.claims[0])
    assert plain.repeats == 1 and plain.perturb_mode is None
    settings = manifest.settings_for(manifest.claims[0], RunSettings(concurrency=True))
    assert settings.repeats == 3
    assert settings.perturb_mode == "auto"


@pytest.mark.parametrize(
    ("manifest_run", "claim_run", "overrides", "repeats"),
    [
        (RunSettings(), None, RunSettings(concurrency=True, repeats=5), 5),
        (RunSettings(), RunSettings(repeats=2), RunSettings(concurrency=True), 2),
        (RunSettings(repeats=1), RunSettings(concurrency=True), None, 1),
        (RunSettings(), RunSettings(concurrency=True), RunSettings(repeats=4), 4),
    ],
    ids=["cli", "claim", "manifest", "cli-repeats-manifest-concurrency"],
)
def test_explicit_repeats_win_over_the_concurrency_default(
    manifest_run: RunSettings,
    claim_run: RunSettings | None,
    overrides: RunSettings | None,
    repeats: int,
) -> None:
    manifest = Manifest(run=manifest_run, claims=(claim(claim_run),))
    settings = manifest.settings_for(manifest.claims[0], overrides)
    assert settings.concurrency is True
    assert settings.repeats == repeats
    assert settings.perturb_mode == "auto"


def test_perturb_mode_follows_the_perturb_setting() -> None:
    manifest = Manifest(claims=(claim(RunSettings(perturb="preempt")),))
    settings = manifest.settings_for(manifest.claims[0])
    assert not settings.concurrency and settings.repeats == 1
    assert settings.perturb_mode == "preempt"
    # A concurrency claim with perturb = "off" runs plainly; the command line overrides both.
    off = Manifest(claims=(claim(RunSettings(concurrency=True, perturb="off")),))
    assert off.settings_for(off.claims[0]).perturb_mode is None
    forced = off.settings_for(off.claims[0], RunSettings(perturb="pct"))
    assert forced.perturb_mode == "pct"


def test_a_run_spec_perturbs_only_the_files_the_checkout_has(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "store.py").write_text("")
    hot = {"pkg/store.py": frozenset({3, 4, 5, 9})}
    found = Targets(("pkg/new.py", "pkg/store.py"), base_hot={}, head_hot=hot)
    # A file the fix adds is not on the base: nothing to perturb there, a plain run.
    assert Targets(("pkg/new.py",)).spec("auto", "base", tmp_path, 1) is None
    assert Targets().spec("auto", "base", tmp_path, 1) is None
    assert found.spec(None, "head", tmp_path, 1) is None
    assert found.spec("auto", "base", tmp_path, 2) == "auto:seed=2:files=pkg/store.py"
    assert found.spec("preempt", "head", tmp_path, 7) == "preempt:seed=7:files=pkg/store.py@3-5+9"
    # A mutant moves code a line or two: its hot lines reach MUTANT_MARGIN past the head's.
    assert found.spec("auto", "mutant", tmp_path, None) == "auto:files=pkg/store.py@1-11"


def test_hot_lines_follow_the_claims_explicit_ranges(tmp_path: Path) -> None:
    repo = make_repo("quota", tmp_path / "repo")
    fix = (FixRange.parse("quota/store.py:13-18"),)
    found = targets(repo, "HEAD~1", "HEAD", fix, [TESTS["quota"]])
    # Only the hunk inside the range: the lock's import and its creation are left cold.
    assert sorted(found.head_hot["quota/store.py"]) == list(range(13, 19))
    assert sorted(found.base_hot["quota/store.py"]) == list(range(10, 15))

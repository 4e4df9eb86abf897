"""The pack calibration suite's offline parts: case files, the runner's judging, one real check.

Installing releases from the package index is the `nox -s realworld -- --packs` benchmark, not
CI; here the real case files are validated, and the runner's in-process run of a check is shown
on a stdlib static server.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import textwrap
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from harness.targets import launch
from harness.targets.spec import TargetSpec

PACKS = Path(__file__).resolve().parents[2] / "benchmarks" / "realworld" / "packs"
RUNNER = PACKS / "run.py"


def _load(name: str, path: Path) -> ModuleType:
    # tests/realworld/test_runner.py imports the fix-commit suite's `run`; this one must not
    # shadow it, so it is loaded under its own name.
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


packs_run = _load("packs_run", RUNNER)
packcase = sys.modules["packcase"]

GOOD = """\
name = "tiny-static"
check = "path_traversal.read_stays_inside_base"
package = "starlette"
old = "0.26.1"
new = "0.27.0"
bug = "a prefix check without a separator"
deps = ["uvicorn==0.29.0"]
app = "apps/starlette_static.py"
command = "{python} {app} --port {port} --directory {sandbox_base}"
sandbox = true
binding = { call = "GET /static/{name}", examples = 0 }
health = "/health"
why = "the sibling base-evil shares the base's prefix; the fix compares whole components"
history = ["2026-12-04: expectations written before the first run"]

[expected.old]
violation = true
violation_shows = ["returned the canary base-evil/secret.txt"]
findings = ["answered 500"]

[expected.new]
violation = false
findings = ["answered 500"]
"""


def write_case(folder: Path, text: str, name: str = "tiny-static") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.toml"
    path.write_text(text)
    return path


def test_every_case_file_in_the_suite_is_valid() -> None:
    cases = packcase.load_cases()
    assert cases, "the suite has no case files"
    for case in cases:
        # The binding is validated against the check's own model, sandbox included.
        assert case.app_path.is_file()
        assert case.expected.old.violation, f"{case.name}: the old release must show the bug"
        assert not case.expected.new.violation, f"{case.name}: the new release must pass"


def test_the_path_traversal_cases_are_there() -> None:
    checks = {c.name: c.check for c in packcase.load_cases()}
    traversal = [n for n, check in checks.items() if check.startswith("path_traversal.")]
    assert len(traversal) >= 3, traversal


def test_check_flag_validates_offline_and_exits_zero() -> None:
    proc = subprocess.run(
        [sys.executable, str(RUNNER), "--check"], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().endswith("pack case files valid")


@pytest.mark.parametrize(
    ("change", "line", "where"),
    [
        # A binding field the check's model rejects is named as binding.<field>.
        (("examples = 0 }", "examples = -1 }"), 11, "binding.examples"),
        (("examples = 0 }", "examples = 0, colour = 1 }"), 11, "binding.colour"),
        (
            ('check = "path_traversal.read_stays_inside_base"', 'check = "path_traversal.nope"'),
            2,
            "check",
        ),
        (('deps = ["uvicorn==0.29.0"]', 'deps = ["uvicorn>=0.29"]'), 7, "deps"),
        (('app = "apps/starlette_static.py"', 'app = "apps/missing.py"'), 8, "app"),
        (("violation = false\n", ""), 21, "expected.new.violation"),
        (
            (
                'history = ["2026-12-04: expectations written before the first run"]',
                'history = ["later"]',
            ),
            14,
            "history",
        ),
        (('"{python} {app} --port {port}', '"{python} {app} --port {port} {home}'), 9, "command"),
    ],
)
def test_a_bad_case_file_is_one_line_naming_file_and_field(
    tmp_path: Path, change: tuple[str, str], line: int, where: str
) -> None:
    text = GOOD.replace(*change)
    assert text != GOOD
    path = write_case(tmp_path, text)
    with pytest.raises(packcase.CaseError) as caught:
        packcase.load_case(path)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{path}:{line}: {where}"), message


def test_a_key_after_a_table_header_gets_a_hint(tmp_path: Path) -> None:
    # TOML files a key written after [expected.new] under that table, not at the top level.
    path = write_case(tmp_path, GOOD + 'note = "after the header"\n')
    with pytest.raises(
        packcase.CaseError, match=r":24: expected\.new\.note: unknown field \(top-level"
    ):
        packcase.load_case(path)


def test_the_cli_prints_one_line_and_exits_2_on_a_bad_case(tmp_path: Path) -> None:
    write_case(tmp_path, GOOD.replace("examples = 0 }", "examples = -1 }"))
    proc = subprocess.run(
        [sys.executable, str(RUNNER), "--check", "--cases-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "tiny-static.toml:11: binding.examples" in lines[0], lines


def _outcome(case: Any, release: str, **got: object) -> Any:
    outcome = packs_run.Outcome(
        "tiny-static",
        "path_traversal.read_stays_inside_base",
        release,
        "starlette",
        "0",
        case.expectation(release),
    )
    for key, value in got.items():
        setattr(outcome, key, value)
    return outcome


def test_findings_must_match_both_ways(tmp_path: Path) -> None:
    case = packcase.load_case(write_case(tmp_path, GOOD))
    five = "TraversalPayload('x\\x00.txt', family='null-byte'): HTTP 500, answered 500: bad input"
    slow = "answered after 9.0s"
    assert _outcome(case, "new", violation=False, findings=[five, five]).ok
    missing = _outcome(case, "new", violation=False, findings=[])
    assert missing.mismatches() == ["no finding shows 'answered 500'"]
    extra = _outcome(case, "new", violation=False, findings=[five, slow])
    assert extra.mismatches() == [f"unexpected finding: {slow}"]
    flipped = _outcome(case, "new", violation=True, findings=[five])
    assert flipped.mismatches() == ["violation: expected no violation, got violation"]


def test_the_violation_must_be_the_expected_one(tmp_path: Path) -> None:
    case = packcase.load_case(write_case(tmp_path, GOOD))
    other = _outcome(
        case,
        "old",
        violation=True,
        findings=["answered 500"],
        message="the legitimate file 'public.txt' was not served (HTTP 404)",
    )
    assert other.mismatches() == [
        "violation does not show 'returned the canary base-evil/secret.txt'"
    ]
    assert other.got() == "violation + 1 finding (answered 500 ×1)"


def test_target_spec_fills_the_app_and_sandbox_and_keeps_the_nox_env_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHONPATH", "/somewhere/else")
    text = GOOD.replace("sandbox = true", 'sandbox = true\nenv = { ROOT = "{sandbox}" }')
    case = packcase.load_case(write_case(tmp_path, text))
    box = tmp_path / "my box"
    spec = TargetSpec.parse(
        packs_run.target_spec(case, Path("/venv/bin/python"), box, tmp_path / "log")
    )
    assert spec.command == (f"{{python}} {case.app_path} --port {{port}} --directory '{box}/base'")
    assert spec.python == "/venv/bin/python"
    assert spec.env["ROOT"] == str(box)
    assert "PYTHONPATH" not in spec.env and not spec.inherit_env


STDLIB_STATIC = textwrap.dedent("""\
    import argparse, functools, http.server

    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int)
    parser.add_argument("--directory")
    args = parser.parse_args()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=args.directory)
    http.server.ThreadingHTTPServer(("127.0.0.1", args.port), handler).serve_forever()
""")


@pytest.mark.parametrize(("trusted", "violation"), [(False, True), (True, False)])
def test_a_check_runs_in_process_against_a_process_target(
    tmp_path: Path, trusted: bool, violation: bool
) -> None:
    # http.server drops every '..' but follows links: the sandbox's outward link is an escape
    # unless the binding trusts the base's own links.
    server = tmp_path / "static_server.py"
    server.write_text(STDLIB_STATIC)
    text = GOOD.replace('"{python} {app} --port', f'"{{python}} {server} --port')
    text = text.replace('health = "/health"', 'health = "/public.txt"')
    text = text.replace(
        "examples = 0 }",
        f'examples = 0, families = ["dotdot"], trusted_symlinks = {str(trusted).lower()} }}',
    )
    text = text.replace('call = "GET /static/{name}"', 'call = "GET /{name}"')
    case = packcase.load_case(write_case(tmp_path / "cases", text))
    sandbox = packs_run.make_sandbox(tmp_path / "sandbox")
    spec = packs_run.target_spec(case, Path(sys.executable), sandbox, tmp_path / "server.log")
    with launch(spec) as target:
        got, message, findings = packs_run.check_once(case, target, sandbox)
    assert got is violation
    assert findings == []
    if violation:
        assert "returned the canary outside/canary.txt" in message

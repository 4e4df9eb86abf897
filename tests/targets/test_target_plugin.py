"""The pytest plugin's fixtures, run in a child pytest so that teardown can be observed."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from target_helpers import APPS, assert_gone

REPO = Path(__file__).resolve().parents[2]

INNER = """
import json, os
from pathlib import Path

OUT = Path(os.environ["FG_OUT"])

def record(**kw):
    data = json.loads(OUT.read_text()) if OUT.exists() else {}
    data.update(kw)
    OUT.write_text(json.dumps(data))

def test_launch_then_fail(harness_launch, free_port):
    spec = {"kind": "process", "command": "{python} -m uvicorn hello:app --port {port}",
            "cwd": os.environ["FG_APPS"], "health": "/healthz"}
    target = harness_launch(spec, startup_timeout=15)
    record(launched=target.pid, free_port=free_port)
    assert False, "the test fails; the fixture must still stop the target"

def test_session_target(harness_target):
    with harness_target.client() as client:
        assert client.get("/").json() == {"pid": harness_target.pid}
    record(session=harness_target.pid, name=harness_target.spec.name)
"""


def run_inner(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], dict]:
    (tmp_path / "test_inner.py").write_text(textwrap.dedent(INNER))
    out = tmp_path / "out.json"
    env = {"FG_OUT": str(out), "FG_APPS": str(APPS), "PATH": "/usr/bin:/bin"}
    # Load only this plugin (fast, and independent of how the package was installed).
    env["PYTHONPATH"] = str(REPO)
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    plugin = ["-p", "no:cacheprovider", "-p", "harness.pytest_plugin"]
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", *plugin, "test_inner.py", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return proc, (json.loads(out.read_text()) if out.exists() else {})


def test_fixtures_tear_down_after_a_failing_test_and_at_session_end(tmp_path: Path) -> None:
    manifest = tmp_path / "harness.toml"
    manifest.write_text(
        textwrap.dedent(
            f"""
            [targets.hello]
            kind = "process"
            command = "{{python}} -m uvicorn hello:app --port {{port}}"
            cwd = "{APPS}"
            health = "/healthz"
            """
        )
    )
    proc, seen = run_inner(
        tmp_path, "--harness-target", "hello", "--harness-manifest", str(manifest)
    )
    assert "1 failed, 1 passed" in proc.stdout, proc.stdout + proc.stderr
    assert "the fixture must still stop the target" in proc.stdout
    assert isinstance(seen["free_port"], int)
    assert seen["name"] == "hello"
    assert_gone([seen["launched"], seen["session"]])


def test_session_target_is_skipped_without_the_option(tmp_path: Path) -> None:
    proc, seen = run_inner(tmp_path, "-k", "session", "-rs")
    assert "1 skipped" in proc.stdout and "no --harness-target given" in proc.stdout, proc.stdout
    assert "session" not in seen

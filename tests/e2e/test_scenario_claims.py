"""Claims bound to scenario packs, verified on the sample's corrected history: each fix's
fix-revert mutant is killed by the pack (lock removal by races, containment no-op by path
traversal, cleanup removal by leaks), through generated tests and the real launchers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.cli.main import main
from harness.sample import materialise
from scenarios.path_traversal.sandbox import create

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

MANIFEST = """
[targets.shop]
kind = "process"
command = "{{python}} -m uvicorn shopapp.app:app --host 127.0.0.1 --port {{port}} --log-level warning"
health = "/healthz"
startup_timeout = 30
# Relative: each checkout (base, head, every mutant copy) keeps its own database.
env = {{ SHOPAPP_DATA_DIR = ".fixguard-data", SHOPAPP_EXPORT_DIR = "{base}" }}

[targets.settings]
kind = "python"
factory = "importlib:import_module"
kwargs = {{ name = "shopapp.settings" }}

[[claims]]
id = "ticket-cap"
title = "Ticket cap holds under concurrent purchases"
scenario = "races.capacity_limit"
target = "shop"
fix = ["shopapp/tickets.py"]
[claims.binding]
call = "POST /tickets"
json = {{ user_id = "{{key}}" }}
cap = 5
workers = 12
success = [201]
conflict = [429]
effect = {{ sql = "SELECT count(*) FROM tickets WHERE user_id = :key AND used = 0", dsn = "sqlite:///.fixguard-data/shopapp.sqlite3" }}
[claims.run]
repeats = 3
concurrency = true

[[claims]]
id = "export-traversal"
title = "Export download stays inside the export dir"
scenario = "path_traversal.read_stays_inside_base"
target = "shop"
fix = ["shopapp/exports.py"]
[claims.binding]
call = "GET /exports/{{name}}"
param = "name"
sandbox = "{sandbox}"
allowed = ["4xx"]
examples = 20

[[claims]]
id = "settings-file-leak"
title = "Settings file handle is closed"
scenario = "leaks.in_process"
target = "settings"
fix = ["shopapp/settings.py"]
[claims.binding]
steps = [{{ call = "load_settings_file", args = ["{overrides}"] }}]
iterations = 50
"""


def test_packs_kill_the_fix_revert_mutants(tmp_path: Path) -> None:
    repo = materialise(tmp_path / "shop", corrected=True)
    sandbox = create(tmp_path / "sandbox")
    # Served through a symlink, as deployments often do: the fix's resolve() of the base matters.
    exports = tmp_path / "exports-link"
    exports.symlink_to(sandbox.base, target_is_directory=True)
    overrides = tmp_path / "overrides.json"
    overrides.write_text('{"currency": "EUR"}')
    manifest = tmp_path / "scenarios.toml"
    manifest.write_text(MANIFEST.format(base=exports, sandbox=sandbox.root, overrides=overrides))
    out = tmp_path / "out"
    where = ["--repo", str(repo.path), "--base", repo.base]
    code = main(["verify", *where, "--manifest", str(manifest), "--out", str(out)])
    doc = json.loads((out / "results.json").read_text())
    claims = {c["claim_id"]: c for c in doc["run"]["claims"]}
    for claim in claims.values():
        assert claim["verdict"] == "VERIFIED", (claim["claim_id"], claim["reason"])
    assert code == 0

    def killed(claim_id: str, family: str) -> list[dict]:
        found = [m for m in claims[claim_id]["mutants"] if m["family"] == family]
        assert found, f"no {family} mutant on {claim_id}"
        assert all(m["status"] in ("killed", "timeout") for m in found)
        return found

    lock = killed("ticket-cap", "sync removal")
    assert all(m["runs"] >= 1 and 1 <= m["kills"] <= m["runs"] for m in lock)  # k/n recorded
    killed("export-traversal", "containment no-op")
    killed("settings-file-leak", "cleanup removal")

"""The bundled sample service as a docker target: served from a mounted checkout, raced and
leak-checked through the launcher by the races and leaks packs."""

from __future__ import annotations

import importlib.util
import subprocess
from pathlib import Path
from typing import Any

import pytest

from harness import scenario
from harness.sample import SampleRepo, materialise
from harness.targets import launch

#: One xdist worker should take the whole module, so the sample is materialised once per run.
#: (With pytest 9.2 and xdist 3.8, --dist loadgroup ignores the group: pytest-xdist#1386. Then
#: each worker materialises its own; each test still starts only one container.)
pytestmark = [
    pytest.mark.docker,
    pytest.mark.usefixtures("docker_client"),
    pytest.mark.xdist_group("docker-sample"),
]

#: races.capacity_limit over HTTP on POST /tickets; the effect reads the SQLite file that the
#: container writes, through a directory mounted at the same path on both sides.
TICKET_CAP = {
    "call": "POST /tickets",
    "json": {"user_id": "{key}"},
    "success": [201],
    "conflict": [429],
    "cap": 5,
    "workers": 10,
    "effect": "SELECT count(*) FROM tickets WHERE user_id = :key",
    "budget": 4.0,
}


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> SampleRepo:
    return materialise(tmp_path_factory.mktemp("docker-sample") / "repo")


def checkout(repo: SampleRepo, sha: str, where: Path) -> Path:
    """A detached worktree of `repo` at `sha` (the way verify runs base and fix side by side)."""
    subprocess.run(
        ["git", "-C", str(repo.path), "worktree", "add", "--detach", "--quiet", str(where), sha],
        check=True,
    )
    return where


def sample_spec(tree: Path, data: Path, **overrides: Any) -> dict[str, Any]:
    data.mkdir(parents=True, exist_ok=True)
    spec: dict[str, Any] = {
        "kind": "docker",
        "name": "sample",
        "image": "fixguard/python:local",
        "command": "python3 -m uvicorn shopapp.app:app --host {host} --port {port}",
        "mounts": {str(tree): "/app:ro", str(data): str(data)},
        "cwd": "/app",
        # The app reads SHOPAPP_DB; the check's SQL effect reads DATABASE_URL (the same file).
        "env": {
            "SHOPAPP_DATA_DIR": str(data),
            "SHOPAPP_DB": f"{data}/shop.sqlite3",
            "DATABASE_URL": f"sqlite:///{data}/shop.sqlite3",
        },
        "health": "/healthz",
        "startup_timeout": 30,
        "stop_timeout": 3,
    }
    spec.update(overrides)
    return spec


def test_the_sample_base_serves_from_a_container_and_its_ticket_cap_race_is_found(
    sample: SampleRepo, tmp_path: Path
) -> None:
    tree = checkout(sample, sample.base, tmp_path / "base")
    with launch(sample_spec(tree, tmp_path / "data")) as target:
        with target.client() as client:
            response = client.get("/healthz")
        assert response.status_code == 200, response.text
        assert "Application startup complete" in target.logs()
        with pytest.raises(AssertionError, match=r"races\.capacity_limit: .* but the cap is 5"):
            scenario.run("races.capacity_limit", TICKET_CAP, target)


def test_the_races_and_leaks_packs_pass_on_the_sample_head_in_a_container(
    sample: SampleRepo, tmp_path: Path
) -> None:
    if "ticket-cap" not in sample.commits:
        pytest.skip("the sample has no ticket-cap fix commit yet (examples/sample_service/fixes)")
    tree = checkout(sample, sample.head, tmp_path / "head")
    with launch(sample_spec(tree, tmp_path / "data")) as target:
        scenario.run("races.capacity_limit", {**TICKET_CAP, "budget": 1.5}, target)
        if importlib.util.find_spec("scenarios.leaks") is None:
            pytest.skip("no leaks pack yet (scenarios/leaks); the race check passed")
        # Each of these opens a database connection or reads the store per request.
        for call in ("GET /stats", "GET /reports/summary"):
            binding = {"call": call, "expect": [200], "iterations": 30, "settle": 0.5}
            scenario.run("leaks.target_process", binding, target)


def test_the_leaks_pack_counts_the_containers_server_and_catches_a_leak(
    make_spec: Any,
) -> None:
    """The counters read the server's host pid, so a leak inside the container shows."""
    if importlib.util.find_spec("scenarios.leaks") is None:
        pytest.skip("no leaks pack yet (scenarios/leaks)")
    spec = make_spec(command="python3 -m uvicorn leaky:app --host {host} --port {port}",
                     health="/ok")  # fmt: skip
    with launch(spec) as target:
        quick = {"iterations": 20, "warmup": 2, "settle": 0.2}
        scenario.run("leaks.target_process", {"call": "GET /ok", **quick}, target)
        with pytest.raises(AssertionError, match="fds"):
            scenario.run(
                "leaks.target_process", {"call": "GET /leak", "count": ["fds"], **quick}, target
            )

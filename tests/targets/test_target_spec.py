"""TargetSpec validation, the kind registry, command rendering and spec lookup."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from harness.errors import TargetError, UserError
from harness.targets import TargetSpec, create, free_port, kinds, known_kinds, register_kind
from harness.targets.base import Target
from harness.targets.lookup import spec_from_text
from harness.targets.process import build_argv, build_env, looks_like_bind_failure
from harness.targets.spec import render
from harness.testrun import tail


@pytest.mark.parametrize(
    ("data", "where", "text"),
    [
        ({"kind": "procss"}, "kind", "unknown target kind (use one of: asgi, docker,"),
        (
            {"kind": "url", "url": "http://127.0.0.1:1", "comand": "x"},
            "comand",
            "unknown field (fields for url: health, kind, name, startup_timeout, url)",
        ),
        ({"kind": "url", "url": "http://127.0.0.1:1", "command": "x"}, "command", "not used by"),
        ({"kind": "process"}, "command", "missing; kind='process' needs command"),
        ({"kind": "asgi"}, "app", "needs app or factory"),
        ({"kind": "process", "command": "serve"}, "command", "never mentions {port}"),
        ({"kind": "process", "command": "s {port}", "health": "healthz"}, "health", "a path"),
        ({"kind": "process", "command": "s {port}", "startup_timeout": 0}, "startup_timeout", ""),
        ({"kind": "process", "command": "   "}, "command", "must not be empty"),
        ({"kind": "python", "factory": "not an import"}, "factory", "pkg.module:attribute"),
        ({"kind": "asgi", "app": "m:a", "factory": "m:f"}, "factory", "not both"),
        ({"kind": "asgi", "app": "m:a", "lifespan": "yes"}, "lifespan", "'auto', 'on' or 'off'"),
    ],
)
def test_bad_specs_name_the_field(data: dict[str, Any], where: str, text: str) -> None:
    with pytest.raises(UserError) as info:
        TargetSpec.parse(data, where="targets.t")
    assert info.value.where == f"targets.t.{where}"
    assert info.value.message.startswith(f"targets.t.{where}")
    assert text in info.value.message


def test_port_may_come_from_env_instead_of_the_command() -> None:
    spec = TargetSpec(kind="process", command="serve", env={"LISTEN": "127.0.0.1:{port}"})
    assert build_env(spec, 4321, base={"HOME": "/h"}) == {
        "HOME": "/h",
        "LISTEN": "127.0.0.1:4321",
        "PORT": "4321",
        "PYTHONUNBUFFERED": "1",
    }
    isolated = TargetSpec(kind="process", command="s {port}", inherit_env=False)
    assert "HOME" not in build_env(isolated, 1, base={"HOME": "/h"})


def test_command_rendering_splits_like_a_shell_and_keeps_other_braces() -> None:
    spec = TargetSpec(
        kind="process", command="{python} -c 'print({\"a\": 1})' --port={port} --host {host}"
    )
    assert build_argv(spec, 8123) == [
        sys.executable,
        "-c",
        'print({"a": 1})',
        "--port=8123",
        "--host",
        "127.0.0.1",
    ]
    own = TargetSpec(kind="process", command=["{python}", "{port}"], python="/opt/py/bin/python")
    assert build_argv(own, 1) == ["/opt/py/bin/python", "1"]
    assert render("{port}{unknown}", port=1, python="p", host="h") == "1{unknown}"


def test_log_helpers() -> None:
    assert tail("a\nb\nc\n", 2) == "b\nc"
    assert looks_like_bind_failure("OSError: [Errno 98] error while attempting to bind")
    assert not looks_like_bind_failure("ModuleNotFoundError: No module named 'app'")


def test_free_port_is_not_handed_out_twice() -> None:
    ports = [free_port() for _ in range(50)]
    assert len(set(ports)) == 50


def test_docker_kind_has_a_registered_slot() -> None:
    assert "docker" in known_kinds()
    spec = TargetSpec(kind="docker", image="fixguard/sample:test", container_port=8000)
    assert spec.image == "fixguard/sample:test"
    with pytest.raises(UserError, match="needs image"):
        TargetSpec(kind="docker")


class _EchoTarget(Target):
    kind = "echo"

    @property
    def base_url(self) -> str:
        return "echo://"

    def _start(self) -> None:
        if self.spec.options.get("fail"):
            raise TargetError("echo failed to start")

    def _stop(self) -> None:
        self.spec.options["stopped"].append(True)


def test_register_kind_plugs_a_new_launcher_in(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kinds, "_KINDS", dict(kinds._KINDS))  # keep "echo" out of other tests
    register_kind("echo", _EchoTarget, allowed={"options"})
    stopped: list[bool] = []
    with create({"kind": "echo", "options": {"stopped": stopped}}) as target:
        assert isinstance(target, _EchoTarget) and target.running
    assert stopped == [True]
    with pytest.raises(TargetError):
        create({"kind": "echo", "options": {"fail": True, "stopped": stopped}}).start()
    assert stopped == [True, True]  # a failed start is torn down too
    with pytest.raises(TypeError, match="no fields"):
        register_kind("bad", _EchoTarget, allowed={"imaginary"})


def test_spec_from_text_reads_json_toml_files_and_manifest_names(tmp_path: Path) -> None:
    assert spec_from_text('{"kind": "url", "url": "http://127.0.0.1:9"}').kind == "url"
    assert spec_from_text('kind = "url"\nurl = "http://127.0.0.1:9"').url == "http://127.0.0.1:9"
    manifest = tmp_path / "harness.toml"
    manifest.write_text(
        '[targets.sample]\nkind = "process"\ncommand = "{python} -m app {port}"\ncwd = "svc"\n'
    )
    spec = spec_from_text("sample", manifest=manifest)
    assert spec.name == "sample" and spec.cwd == tmp_path / "svc"
    with pytest.raises(UserError, match=r"no \[targets.other\] \(known: sample\)"):
        spec_from_text("other", manifest=manifest)
    with pytest.raises(UserError, match="--harness-manifest"):
        spec_from_text("sample")
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[tool.harness.targets.api]\nkind = "url"\nurl = "http://[::1]:80"\n')
    assert spec_from_text("api", manifest=pyproject).url == "http://[::1]:80"
    as_file = tmp_path / "t.json"
    as_file.write_text('{"kind": "url", "url": "http://10.1.1.1"}')
    with pytest.raises(UserError) as info:
        spec_from_text(str(as_file))
    assert info.value.where == f"{as_file}.url"

"""The scenario registry: registration, resolving packs by name, binding errors as UserErrors."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import BaseModel, ConfigDict

from harness import scenario as registry
from harness.bindings import HttpCall, StatusSet
from harness.errors import UserError
from harness.targets import TargetSpec, launch

PACK = '''
from pydantic import BaseModel, ConfigDict
from harness.bindings import HttpCall, StatusSet
from harness.scenario import scenario

class CapBinding(BaseModel):
    model_config = ConfigDict(extra="forbid")
    call: HttpCall
    cap: int
    success: StatusSet = frozenset({200, 201})

seen = []

@scenario("fgdemo.cap_holds", binding=CapBinding)
def cap_holds(binding, target):
    """The cap holds under load."""
    seen.append((binding, target))
    if binding.cap < 0:
        raise AssertionError("cap exceeded")
'''


@pytest.fixture
def packs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A throwaway packs package `fgpacks` with one pack, `fgdemo`, and a broken one."""
    root = tmp_path / "fgpacks"
    (root / "fgdemo").mkdir(parents=True)
    (root / "__init__.py").write_text("")
    (root / "fgdemo" / "__init__.py").write_text(textwrap.dedent(PACK))
    (root / "broken").mkdir()
    (root / "broken" / "__init__.py").write_text("raise ImportError('pack bug')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(registry, "PACKS_PACKAGE", "fgpacks")
    monkeypatch.setattr(registry, "_REGISTRY", {})
    yield "fgpacks"
    for name in [m for m in sys.modules if m == "fgpacks" or m.startswith("fgpacks.")]:
        del sys.modules[name]


def test_resolve_imports_the_pack_by_name(packs: str) -> None:
    entry = registry.resolve("fgdemo.cap_holds")
    assert entry.pack == "fgdemo" and entry.summary == "The cap holds under load."
    assert f"{packs}.fgdemo" in sys.modules


def test_unknown_scenario_lists_the_known_ones(packs: str) -> None:
    with pytest.raises(UserError) as info:
        registry.resolve("fgdemo.cap_hold")
    assert info.value.where == "scenario"
    assert info.value.message == (
        "scenario='fgdemo.cap_hold': unknown scenario (known: fgdemo.cap_holds)"
    )
    with pytest.raises(UserError, match=r"known: fgdemo\.cap_holds"):
        registry.resolve("nopack.anything")


def test_a_broken_named_pack_raises_its_own_error(packs: str) -> None:
    with pytest.raises(ImportError, match="pack bug"):
        registry.resolve("broken.anything")


def test_run_validates_the_binding_and_runs_the_check(packs: str) -> None:
    with launch(TargetSpec(kind="python", factory=dict)) as target:
        registry.run("fgdemo.cap_holds", {"call": "POST /events/{event}/tickets", "cap": 3}, target)
        seen = sys.modules[f"{packs}.fgdemo"].seen
        binding, got = seen[-1]
        assert got is target
        assert binding.call == HttpCall(method="POST", path="/events/{event}/tickets")
        assert binding.success == {200, 201}
        with pytest.raises(AssertionError, match="cap exceeded"):
            registry.run("fgdemo.cap_holds", {"call": "POST /t", "cap": -1}, target)


@pytest.mark.parametrize(
    ("binding", "where", "message"),
    [
        ({"call": "POST /t", "cap": "many"}, "binding.cap", "binding.cap='many': Input should be"),
        ({"call": "POST /t", "cap": 1, "capp": 2}, "binding.capp", "unknown field (known"),
        ({"cap": 1}, "binding.call", "binding.call: missing"),
        ({"call": "FETCH /t", "cap": 1}, "binding.call.method", "='FETCH': is not an HTTP"),
        ({"call": "POST t", "cap": 1}, "binding.call", "must be 'METHOD /path'"),
        ({"call": "POST /t", "cap": 1, "success": [200, 700]}, "binding.success", "700 is not"),
    ],
)
def test_bad_binding_is_a_user_error_naming_the_field(
    packs: str, binding: dict[str, object], where: str, message: str
) -> None:
    with launch(TargetSpec(kind="python", factory=dict)) as target:
        with pytest.raises(UserError) as info:
            registry.run("fgdemo.cap_holds", binding, target)
    assert info.value.where == where
    assert message in info.value.message


class Loose(BaseModel):
    cap: int


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")
    cap: int


def test_registration_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "_REGISTRY", {})
    with pytest.raises(TypeError, match="extra='forbid'"):
        registry.scenario("p.loose", binding=Loose)
    with pytest.raises(TypeError, match=r"'<pack>\.<check>'"):
        registry.scenario("no_pack", binding=Strict)

    @registry.scenario("p.one", binding=Strict)
    def one(binding: Strict, target: object) -> None:
        pass

    with pytest.raises(TypeError, match="registered twice"):

        @registry.scenario("p.one", binding=Strict)
        def other(binding: Strict, target: object) -> None:
            pass

    assert list(registry.registered()) == ["p.one"]


def test_status_set_forms() -> None:
    class B(BaseModel):
        model_config = ConfigDict(extra="forbid")
        ok: StatusSet

    assert B.model_validate({"ok": 201}).ok == {201}
    assert B.model_validate({"ok": ["2xx", 409]}).ok == set(range(200, 300)) | {409}
    bad: object
    for bad in (99, 600, "6xx", True, [], "teapot"):
        with pytest.raises(ValueError, match="status"):
            B.model_validate({"ok": bad})

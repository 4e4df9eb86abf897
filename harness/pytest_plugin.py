"""The pytest plugin (entry point `pytest11`): markers and fixtures for targets and scenarios.

It stays thin: options are prefixed with `--harness-`, and harness modules are imported lazily
inside fixtures so that loading the plugin costs nothing for projects that do not use it.

Fixtures:

- `free_port`: a free loopback TCP port.
- `harness_launch`: ``target = harness_launch({"kind": "process", ...})`` starts a target and
  stops it when the test ends, whether it passed, failed or was interrupted.
- `harness_target`: the target named by ``--harness-target`` (started once per session);
  skips the test when the option is not given.

It also registers `harness.perturb_plugin` (``--harness-perturb``: seeded schedule perturbation
of the named files, see docs/perturbation.md).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from .targets import Target, TargetSpec

PERTURB_PLUGIN = "fixguard_perturb"
EXPLORE_MARKER = (
    "explore(schedules=200, strategy='mixed()'): run this async test under the asyncio "
    "schedule explorer, once per schedule; e.g. @pytest.mark.explore(schedules=200, "
    "strategy='pct(depth=3)')"
)
MARKERS = (
    EXPLORE_MARKER,
    "harness_scenario(name): this test is a Fixguard scenario check; e.g. "
    "@pytest.mark.harness_scenario('races.capacity_limit')",
    "harness_concurrency: a concurrency test; the mutation runner repeats it k-of-n times, e.g. "
    "@pytest.mark.harness_concurrency",
)


def pytest_addoption(parser: pytest.Parser, pluginmanager: pytest.PytestPluginManager) -> None:
    # Schedule perturbation is its own standalone plugin (verify copies it into projects whose
    # interpreter lacks the harness, as `-p fixguard_perturb`); registered once, by that name.
    from . import perturb_plugin

    # `-p harness.perturb_plugin` (a replay command) registers the module under its own name.
    if not (
        pluginmanager.has_plugin(PERTURB_PLUGIN) or pluginmanager.is_registered(perturb_plugin)
    ):
        pluginmanager.register(perturb_plugin, PERTURB_PLUGIN)
    group = parser.getgroup("harness", "Fixguard targets")
    group.addoption(
        "--harness-target",
        metavar="SPEC",
        help='target for the harness_target fixture: inline JSON (\'{"kind": "url", ...}\'), '
        "TOML ('kind = \"url\"'), a .json/.toml file, or a NAME from --harness-manifest",
    )
    group.addoption(
        "--harness-manifest",
        metavar="PATH",
        help="harness.toml (or pyproject.toml) whose [targets.NAME] --harness-target may name",
    )
    explore = parser.getgroup("harness-explore", "Fixguard asyncio schedule explorer")
    explore.addoption(
        "--harness-explore-replay",
        default=None,
        metavar="TOKEN",
        help="rerun only the schedule an explore failure printed",
    )
    explore.addoption(
        "--harness-explore-schedules",
        type=int,
        default=None,
        metavar="N",
        help="override the schedules of every @pytest.mark.explore test",
    )


def pytest_configure(config: pytest.Config) -> None:
    for marker in MARKERS:
        config.addinivalue_line("markers", marker)


@pytest.fixture
def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    from .targets.ports import free_port as pick

    return pick()


LaunchFactory = Callable[..., "Target"]


@pytest.fixture
def harness_launch() -> Iterator[LaunchFactory]:
    """Start targets from a TargetSpec or dict (plus field overrides); all stop at test end."""
    from .targets import TargetSpec, create

    launched: list[Target] = []

    def launch(spec: TargetSpec | dict[str, Any], **overrides: Any) -> Target:
        if overrides:
            base = spec.model_dump(exclude_unset=True) if isinstance(spec, TargetSpec) else spec
            spec = {**base, **overrides}
        target = create(spec)
        launched.append(target)
        target.start()
        return target

    try:
        yield launch
    finally:
        _stop_all(launched)


def _stop_all(targets: list[Target]) -> None:
    first: BaseException | None = None
    for target in reversed(targets):
        try:
            target.stop()
        except BaseException as exc:  # keep stopping the others; re-raise the first after
            first = first or exc
    if first is not None:
        raise first


@pytest.fixture(scope="session")
def harness_target_spec(pytestconfig: pytest.Config) -> TargetSpec:
    """The spec given by --harness-target; skips the test when there is none."""
    text = pytestconfig.getoption("--harness-target")
    if not text:
        pytest.skip("no --harness-target given")
    from .targets.lookup import spec_from_text

    manifest = pytestconfig.getoption("--harness-manifest")
    return spec_from_text(str(text), manifest=Path(manifest) if manifest else None)


@pytest.fixture(scope="session")
def harness_target(harness_target_spec: TargetSpec) -> Iterator[Target]:
    """The --harness-target, started once for the session and always stopped at its end."""
    from .targets import launch

    with launch(harness_target_spec) as target:
        yield target


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """Run `@pytest.mark.explore` tests under the schedule explorer (imported only for them)."""
    if pyfuncitem.get_closest_marker("explore") is None:
        return None
    from .concurrency.explore.plugin import run_marked

    return run_marked(pyfuncitem)


@pytest.fixture
def explore(request: pytest.FixtureRequest) -> Any:
    """`explore(async_fn, "mixed()", schedules=500)`: raises on the first failing schedule."""
    from .concurrency.explore.plugin import make_explore

    return make_explore(request.node)

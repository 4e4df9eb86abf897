"""pytest plugin: `@pytest.mark.explore(...)` and the `explore` fixture run async tests per schedule.

    @pytest.mark.explore(schedules=200, strategy="pct(depth=3)")
    async def test_stop_is_serialised():
        service = Service()          # build state inside the test: it runs once per schedule
        await asyncio.gather(service.stop(), service.start())
        assert service.overlaps == 0

A failure reports strategy, seed, schedule and a `pytest <nodeid> --harness-explore-replay=...`
line that reruns exactly that schedule. Fixture values are created once per test and shared by
every schedule, so keep mutable state inside the test body. Async fixtures are not supported.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

import pytest

MARKER = (
    "explore(schedules=200, strategy='mixed()', check_orphans=True, max_steps=100000): run "
    "this async test under the asyncio schedule explorer, once per schedule; e.g. "
    "@pytest.mark.explore(schedules=200, strategy='pct(depth=3)')"
)

RESULT_KEY = pytest.StashKey[Any]()


def add_options(parser: pytest.Parser) -> None:
    """Add the `--harness-explore-*` options; a no-op when another plugin already added them."""
    group = parser.getgroup("harness-explore", "Fixguard asyncio schedule explorer")
    options: list[tuple[str, dict[str, Any]]] = [
        (
            "--harness-explore-replay",
            {
                "default": None,
                "metavar": "TOKEN",
                "help": "rerun only the schedule a failure printed, e.g. 'random(seed=8)'",
            },
        ),
        (
            "--harness-explore-schedules",
            {
                "type": int,
                "default": None,
                "metavar": "N",
                "help": "override the number of schedules of every explored test",
            },
        ),
    ]
    for name, spec in options:
        try:
            group.addoption(name, **spec)
        except ValueError:  # already added (harness.pytest_plugin and -p of this module)
            pass


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", MARKER)


def _replay_line(item: pytest.Item) -> str:
    return f"python -m pytest '{item.nodeid}' --harness-explore-replay={{token}}"


def _run(
    item: pytest.Item,
    scenario: Callable[[], Any],
    strategy: Any = "mixed()",
    schedules: int = 200,
    **options: Any,
) -> Any:
    __tracebackhide__ = True
    from . import explore, replay

    token = item.config.getoption("harness_explore_replay", None)
    override = item.config.getoption("harness_explore_schedules", None)
    common: dict[str, Any] = {"target": item.nodeid, "replay_command": _replay_line(item)}
    if token:
        result = replay(scenario, token, **common, **options)
    else:
        result = explore(scenario, strategy, override or schedules, **common, **options)
    item.stash[RESULT_KEY] = result
    if result.ok:
        item.add_report_section("call", "explore", result.report())
    result.raise_for_failure()
    return result


def run_marked(pyfuncitem: pytest.Function) -> bool | None:
    """Run an `@pytest.mark.explore` test under the explorer; None for any other test."""
    marker = pyfuncitem.get_closest_marker("explore")
    if marker is None:
        return None
    __tracebackhide__ = True
    function = pyfuncitem.obj
    if not inspect.iscoroutinefunction(function):
        raise pytest.UsageError(
            f"{pyfuncitem.nodeid}: @pytest.mark.explore needs an `async def` test, "
            f"got {function!r}; make the test async or use the `explore` fixture"
        )
    names = pyfuncitem._fixtureinfo.argnames
    kwargs = {name: pyfuncitem.funcargs[name] for name in names}
    _run(pyfuncitem, functools.partial(function, **kwargs), *marker.args, **marker.kwargs)
    return True


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    __tracebackhide__ = True
    return run_marked(pyfuncitem)


def make_explore(item: pytest.Item) -> Callable[..., Any]:
    """The `explore` fixture's value for a test item."""

    def run(
        scenario: Callable[[], Any], strategy: Any = "mixed()", schedules: int = 200, **options: Any
    ) -> Any:
        __tracebackhide__ = True
        return _run(item, scenario, strategy, schedules, **options)

    return run


@pytest.fixture
def explore(request: pytest.FixtureRequest) -> Callable[..., Any]:
    """`explore(scenario, strategy='mixed()', schedules=200)`: raise if any schedule fails."""
    return make_explore(request.node)

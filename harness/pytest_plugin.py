"""The pytest plugin (entry point `pytest11`): markers and fixtures for targets and scenarios.

It stays thin: options are prefixed with `--harness-`, and harness modules are imported lazily
inside fixtures so that loading the plugin costs nothing for projects that do not use it.
"""

from __future__ import annotations

import pytest

MARKERS = (
    "harness_scenario(name): this test is a Fixguard scenario check; e.g. "
    "@pytest.mark.harness_scenario('races.capacity_limit')",
    "harness_concurrency: a concurrency test; the mutation runner repeats it k-of-n times, e.g. "
    "@pytest.mark.harness_concurrency",
)


def pytest_configure(config: pytest.Config) -> None:
    for marker in MARKERS:
        config.addinivalue_line("markers", marker)

"""fixguard_probe: a standalone pytest plugin the mutation runner loads into the project's pytest.

It imports nothing from the harness (the project's interpreter may not have it). Loaded with
`-p fixguard_probe` from a directory put on PYTHONPATH, it:

- records which test reaches which line of the files in FIXGUARD_PROBE_FILES (a JSON list of
  absolute paths), with coverage.py dynamic contexts when coverage is importable, else with a
  `sys.settrace` tracer limited to those files; lines run outside any test (at import) are
  recorded under the empty context "";
- (child Python processes, e.g. a uvicorn target, are traced by the sitecustomize probe);
- records which tests are marked `harness_concurrency`, and every test's call and fixture time;
- runs only its share of the tests when FIXGUARD_SHARD is `k/n` (a baseline split over copies);
- writes all that as JSON to FIXGUARD_PROBE_OUT at the end of the session;
- applies FIXGUARD_SWITCH_INTERVAL (seconds) with `sys.setswitchinterval`, to perturb thread
  scheduling on k-of-n repeats (FIXGUARD_SEED and PYTHONHASHSEED are set by the runner).
"""

from __future__ import annotations

import json
import os
import sys
import threading

import pytest

_OUT = os.environ.get("FIXGUARD_PROBE_OUT")
_FILES = set(json.loads(os.environ.get("FIXGUARD_PROBE_FILES", "[]")))
_state = {"context": "", "engine": "none"}
_hits: dict[str, dict[int, set[str]]] = {}
_concurrency: list[str] = []
_durations: dict[str, float] = {}
#: Setup plus teardown seconds per test (a module's fixtures are charged to its first test).
_fixtures: dict[str, float] = {}
_cov = None


def _local(frame, event, arg):  # type: ignore[no-untyped-def]
    if event == "line":
        _hits.setdefault(frame.f_code.co_filename, {}).setdefault(frame.f_lineno, set()).add(
            _state["context"]
        )
    return _local


def _global(frame, event, arg):  # type: ignore[no-untyped-def]
    if frame.f_code.co_filename in _FILES:
        _local(frame, "line", arg)
        return _local
    return None


def _start() -> None:
    """Start recording at import: `-p` plugins load before conftest files import the project."""
    global _cov
    try:
        import coverage

        _cov = coverage.Coverage(
            data_file=None, include=sorted(_FILES), config_file=False, branch=False
        )
        _cov.start()
        _state["engine"] = "coverage"
    except Exception:
        _cov = None
        _state["engine"] = "settrace"
        threading.settrace(_global)
        sys.settrace(_global)


if _OUT:
    # This process records per test; the sitecustomize probe is for child processes only.
    _stop_child_probe = getattr(sys.modules.get("sitecustomize"), "fixguard_stop", None)
    if _stop_child_probe is not None:
        _stop_child_probe()
    _start()


def pytest_configure(config):  # type: ignore[no-untyped-def]
    interval = os.environ.get("FIXGUARD_SWITCH_INTERVAL")
    if interval:
        sys.setswitchinterval(float(interval))
    config.addinivalue_line(
        "markers", "harness_concurrency: a concurrency test, repeated k-of-n by the mutation runner"
    )


def _switch(context: str) -> None:
    _state["context"] = context
    if _cov is not None:
        _cov.switch_context(context)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(session, config, items):  # type: ignore[no-untyped-def]
    shard = os.environ.get("FIXGUARD_SHARD")
    if shard:
        # Every n-th test, like pytest-xdist's default `load` distribution: slow tests usually
        # sit together in one class, so splitting by class would leave one share with them all.
        k, n = (int(x) for x in shard.split("/"))
        dropped = [item for i, item in enumerate(items) if i % n != k]
        if dropped:
            config.hook.pytest_deselected(items=dropped)
        items[:] = items[k::n]
    for item in items:
        if item.get_closest_marker("harness_concurrency") is not None:
            _concurrency.append(item.nodeid)


def pytest_runtest_logstart(nodeid, location):  # type: ignore[no-untyped-def]
    if _OUT:
        _switch(nodeid)


def pytest_runtest_logfinish(nodeid, location):  # type: ignore[no-untyped-def]
    if _OUT:
        _switch("")


def pytest_runtest_makereport(item, call):  # type: ignore[no-untyped-def]
    """Drop Hypothesis's failing examples before its teardown report turns them into a patch.

    For each failing example Hypothesis writes an `@example(...)` patch of the test's source,
    parsing the file with libcst, when the teardown report is made and again at the end of the
    session: on a killed mutant that is most of the run's time. A mutant run needs only to know
    that a test failed; the failure, its traceback and its falsifying example stay in the report.
    """
    if call.when == "teardown":
        item.__dict__.pop("_hypothesis_failing_examples", None)


def pytest_runtest_logreport(report):  # type: ignore[no-untyped-def]
    if report.when == "call":
        _durations[report.nodeid] = report.duration
    else:
        _fixtures[report.nodeid] = _fixtures.get(report.nodeid, 0.0) + report.duration


def _warm_modules() -> list[str]:
    """What the run imported that a fork server may pre-import (fixguard_forkserver, beside
    this plugin in the probe folder, says which)."""
    try:
        from fixguard_forkserver import warmable_modules
    except ImportError:
        return []
    return list(warmable_modules())


def pytest_unconfigure(config):  # type: ignore[no-untyped-def]
    if not _OUT:
        return
    sys.settrace(None)
    threading.settrace(None)  # type: ignore[arg-type,unused-ignore]
    lines: dict[str, dict[str, list[str]]] = {}
    if _cov is not None:
        _cov.stop()
        data = _cov.get_data()
        for filename in data.measured_files():
            by_line = data.contexts_by_lineno(filename)
            lines[filename] = {str(n): sorted(set(c)) for n, c in by_line.items()}
    else:
        for filename, hits in _hits.items():
            lines[filename] = {str(n): sorted(c) for n, c in hits.items()}
    payload = {
        "warm": _warm_modules(),
        "engine": _state["engine"],
        "lines": lines,
        "concurrency": _concurrency,
        "durations": _durations,
        "fixtures": _fixtures,
    }
    with open(_OUT, "w", encoding="utf-8") as fh:
        json.dump(payload, fh)

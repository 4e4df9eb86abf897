"""sitecustomize for the baseline run: records fix-line hits in *subprocesses* of the tests.

A scenario test that starts its target as a process (uvicorn on a loopback port) runs the fix
lines in a child interpreter, which the pytest plugin cannot see. This file is copied as
`sitecustomize.py` into the probe directory that the runner puts on PYTHONPATH, so every child
Python started during the baseline imports it. When FIXGUARD_PROBE_OUT is set it traces the
files in FIXGUARD_PROBE_FILES with `sys.settrace` and writes `<OUT>.sub-<pid>.json` every half
second and at exit. The pytest process itself calls `fixguard_stop()` from the plugin (which
records per test instead). Any other sitecustomize on sys.path is still loaded afterwards.
"""

from __future__ import annotations

import atexit
import importlib.machinery
import importlib.util
import json
import os
import sys
import threading

_OUT = os.environ.get("FIXGUARD_PROBE_OUT")
_FILES = set(json.loads(os.environ.get("FIXGUARD_PROBE_FILES", "[]"))) if _OUT else set()
_hits: dict[str, set[int]] = {}
_stopped = threading.Event()
_written = [0]


def _local(frame, event, arg):  # type: ignore[no-untyped-def]
    if event == "line":
        _hits.setdefault(frame.f_code.co_filename, set()).add(frame.f_lineno)
    return _local


def _global(frame, event, arg):  # type: ignore[no-untyped-def]
    if frame.f_code.co_filename in _FILES:
        _hits.setdefault(frame.f_code.co_filename, set()).add(frame.f_lineno)
        return _local
    return None


def _flush() -> None:
    size = sum(len(v) for v in _hits.values())
    if not _OUT or size == _written[0]:
        return
    _written[0] = size
    payload = {
        "lines": {f: {str(n): [""] for n in sorted(lines)} for f, lines in list(_hits.items())}
    }
    target = f"{_OUT}.sub-{os.getpid()}.json"
    tmp = target + ".tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(payload, fh)
    os.replace(tmp, target)


def _flusher() -> None:
    while not _stopped.wait(0.5):
        try:
            _flush()
        except Exception:
            return


def fixguard_stop() -> None:
    """Called by the pytest plugin in the pytest process: stop, record nothing from here."""
    _stopped.set()
    sys.settrace(None)
    threading.settrace(None)  # type: ignore[arg-type,unused-ignore]
    _hits.clear()
    _written[0] = 0


if _OUT and _FILES:
    sys.settrace(_global)
    threading.settrace(_global)
    threading.Thread(target=_flusher, name="fixguard-probe-flush", daemon=True).start()
    atexit.register(lambda: None if _stopped.is_set() else _flush())


def _chain() -> None:
    """Load the sitecustomize this file shadows, if there is one further down sys.path."""
    here = os.path.dirname(os.path.abspath(__file__))
    rest = [p for p in sys.path if os.path.abspath(p or ".") != here]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", rest)
    if spec is None or spec.loader is None:
        return
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception:
        pass


_chain()

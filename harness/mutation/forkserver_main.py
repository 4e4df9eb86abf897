"""fixguard_forkserver: a warm pytest launcher that forks one child per mutant test run.

Standalone (imports nothing from the harness): the runner copies it into the probe directory
and starts it with the project's interpreter, in an isolated copy, with that copy's env. It
imports pytest, the installed pytest plugins, and the third-party modules the baseline loaded
(FIXGUARD_WARM_MODULES, a JSON list: never a module of the project itself), then serves
requests, one JSON object per line on stdin:

    {"args": [...pytest args...], "env": {...}, "log": "/path/log.txt"}

For each it forks; the child starts a new session, applies `env`, sends its output to `log`,
runs `pytest.main(args)` and exits with its code. The server answers `{"pid": N}` at once and
`{"pid": N, "exit": CODE}` when the child ends. The project's modules are imported fresh in
each child, from the (mutated) files on disk.
"""

from __future__ import annotations

import gc
import importlib
import json
import os
import sys


def _warm() -> None:
    import pytest  # noqa: F401

    try:
        from importlib.metadata import entry_points

        for ep in entry_points(group="pytest11"):
            try:
                ep.load()
            except Exception:
                pass
    except Exception:
        pass
    for name in json.loads(os.environ.get("FIXGUARD_WARM_MODULES", "[]")):
        try:
            importlib.import_module(name)
        except BaseException:
            pass


def _child(request: dict) -> None:  # type: ignore[type-arg,unused-ignore]
    os.setsid()
    sys.path.insert(0, os.getcwd())  # as `python -m pytest` does
    os.environ.update(request.get("env", {}))
    interval = os.environ.get("FIXGUARD_SWITCH_INTERVAL")
    if interval:
        sys.setswitchinterval(float(interval))
    fd = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    code = 3
    try:
        import pytest

        code = int(pytest.main(list(request["args"])))
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        import traceback

        traceback.print_exc()
        code = 3
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except Exception:
            pass
        os._exit(code)


def _project_modules() -> list[str]:
    """Modules of the checkout itself: if warming imported any, children would run stale code."""
    root = os.path.realpath(os.getcwd()) + os.sep
    found = []
    for name, module in list(sys.modules.items()):
        path = getattr(module, "__file__", None)
        if path and os.path.realpath(path).startswith(root):
            found.append(name)
    return found


def main() -> None:
    _warm()
    # What warming imported lives as long as the server: out of the collector's reach, each
    # child's collections (pytest runs several at the end of a session) walk only its own objects.
    gc.freeze()
    out = sys.stdout
    stale = _project_modules()
    print(json.dumps({"ready": not stale, "project_modules": stale}), file=out, flush=True)
    if stale:
        return
    for line in sys.stdin:
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            _child(request)
        print(json.dumps({"pid": pid}), file=out, flush=True)
        _, status = os.waitpid(pid, 0)
        code = os.waitstatus_to_exitcode(status)
        print(json.dumps({"pid": pid, "exit": code}), file=out, flush=True)


if __name__ == "__main__":
    main()

"""fixguard_forkserver: a warm pytest launcher that forks one child per test run.

Standalone (imports nothing from the harness): the runner copies it into the probe directory
and starts it with the project's interpreter, in an isolated copy, with that copy's env. It
imports pytest and the installed pytest plugins, says `{"ready": true}`, then serves requests,
one JSON object per line on stdin:

- `{"warm": [...]}`: import these third-party modules too (the ones the baseline loaded, never
  a module of the project); answered `{"ready": bool, "project_modules": [...]}`.
- `{"preload": [...pytest args...]}`: start the preloaded server (below); answered
  `{"preloaded": bool, "why": "..."}`.
- `{"args": [...], "env": {...}, "log": "/path/log.txt", "path": [...], "modules": null,
  "preloaded": bool, "patch": null}`: fork a child that starts a new session, applies `env`,
  puts `path` on `sys.path` right after the work tree (as PYTHONPATH would have), sends its
  output to `log`, runs `pytest.main(args)` and exits with its code. With "modules" (a path)
  the child writes there, as a JSON list, the installed modules the run imported: what a
  later `warm` may pre-import for the next runs. Answered `{"pid": N, "mode": M}` at once and
  `{"pid": N, "exit": CODE}` when the child ends. In the "fresh" mode the project's modules are
  imported in each child, from the (mutated) files on disk.

The preloaded mode is mutmut's idea without its trampolines. A second server, forked from the
warm one, collects the given tests once: the project and its test modules are imported,
assertion-rewritten, and kept. A request with "preloaded" forks from it; with "patch" (the
mutated file, relative to the copy) the child first swaps the mutated function's code object
into every live function made from it. That is exact only when the mutant changes nothing but
function bodies that did not run while the modules loaded, so anything else (a module-level
line, a default argument, a decorator, a function that import or collection called, a live
generator of it) is answered from the fresh mode instead, and the answer's "mode" says which ran.
"""

from __future__ import annotations

import gc
import importlib
import json
import os
import sys
import types
from typing import IO, Any

#: A function's code (lambdas and comprehensions too); module and class bodies lack it.
CO_NEWLOCALS = 0x2


def _cache_metadata() -> None:
    """Read the installed distributions once for every child, not once per run.

    Each pytest start lists them twice (plugin entry points, and the files to assertion-rewrite)
    and reads their metadata files anew: a fifth of a small run. Children never install anything
    that a run would need to see.
    """
    import functools
    import importlib.metadata as metadata

    found = list(metadata.distributions())
    for dist in found:
        dist.read_text = functools.lru_cache(maxsize=None)(dist.read_text)  # type: ignore[method-assign]
    everything = metadata.distributions

    def distributions(**kwargs: Any) -> Any:
        return everything(**kwargs) if kwargs else iter(found)

    metadata.distributions = distributions  # type: ignore[assignment,unused-ignore]


#: What a new interpreter has imported by the time pytest installs its assertion rewriter.
_BARE: frozenset[str] = frozenset()


def _warm() -> None:
    global _BARE
    import pytest  # noqa: F401

    _BARE = frozenset(sys.modules)
    try:
        _cache_metadata()
    except Exception:
        pass
    if os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD"):
        return  # pytest will not load them: nor does the server
    try:
        from importlib.metadata import entry_points

        for ep in entry_points(group="pytest11"):
            try:
                ep.load()
            except Exception:
                pass
    except Exception:
        pass


def _import_all(names: list[str]) -> None:
    for name in names:
        try:
            importlib.import_module(name)
        except BaseException:
            pass


def warmable_modules() -> list[str]:
    """Installed third-party and stdlib modules this process imported: safe to pre-import in a
    fork server, because none of them is a file of the checkout (those are imported fresh)."""
    import site
    import sysconfig

    roots = [*site.getsitepackages(), site.getusersitepackages()]
    paths = sysconfig.get_paths()
    roots += [paths.get("stdlib", ""), paths.get("platstdlib", "")]
    roots = [os.path.realpath(r) + os.sep for r in roots if r]
    here = os.path.realpath(os.getcwd()) + os.sep
    found = []
    for name, module in list(sys.modules.items()):
        if name.startswith(("fixguard_", "sitecustomize", "coverage", "__main__", "__mp_main__")):
            continue
        path = getattr(module, "__file__", None)
        if not path:
            continue
        real = os.path.realpath(path)
        if real.startswith(here) or not any(real.startswith(r) for r in roots):
            continue
        found.append(name)
    return sorted(found)


def _quiet_preimported() -> None:
    """Let pytest's rewriter pass over the modules the server imported ahead of it.

    A new interpreter imports the installed plugins (and whatever a run imports) after pytest
    installs its assertion rewriter, which rewrites the plugins' modules; here the server has
    imported them already, and pytest would warn "Module already imported so cannot be
    rewritten", an error under `-W error`. That warning is the server's doing, never the run's,
    so it is dropped for those modules only; their asserts stay plain asserts (the same outcome,
    a shorter message).
    """
    try:
        from _pytest.assertion.rewrite import AssertionRewritingHook
    except ImportError:
        return
    warn = getattr(AssertionRewritingHook, "_warn_already_imported", None)
    if warn is None:
        return
    preimported = frozenset(sys.modules) - _BARE

    def _warn_already_imported(self: Any, name: str) -> None:
        if name not in preimported:
            warn(self, name)

    AssertionRewritingHook._warn_already_imported = _warn_already_imported  # type: ignore[method-assign]


def _child(request: dict[str, Any], patches: list[Any], close: tuple[int, ...]) -> None:
    os.setsid()
    for fd in close:
        try:
            os.close(fd)
        except OSError:
            pass
    for function, code in patches:
        function.__code__ = code
    if sys.path[0] != os.getcwd():
        sys.path.insert(0, os.getcwd())  # as `python -m pytest` does
    sys.path[1:1] = list(request.get("path", ()))
    os.environ.update(request.get("env", {}))
    interval = os.environ.get("FIXGUARD_SWITCH_INTERVAL")
    if interval:
        sys.setswitchinterval(float(interval))
    fd = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    # The server's stdin carries its requests: a test that reads fd 0 must not take them.
    os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
    code = 3
    try:
        import pytest

        # What `python -m pytest ARGS` shows the code under test (argparse reads it).
        sys.argv = [os.path.join(os.path.dirname(pytest.__file__), "__main__.py")]
        sys.argv += list(request["args"])
        _quiet_preimported()
        code = int(pytest.main(list(request["args"])))
        if request.get("modules"):
            with open(request["modules"], "w", encoding="utf-8") as handle:
                json.dump(warmable_modules(), handle)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        import traceback

        traceback.print_exc()
        code = 3
    finally:
        _end_as_an_interpreter_does()
        os._exit(code)


def _end_as_an_interpreter_does() -> None:
    """What a new interpreter does after its last line, before the process exits.

    It waits for every non-daemon thread (a thread the code under test leaked and never
    stopped keeps a `python -m pytest` from ending: the run times out) and runs the atexit
    handlers; `os._exit` alone would skip both, and such a run would pass here and fail there.
    """
    import atexit
    import threading

    for step in (getattr(threading, "_shutdown", None), atexit._run_exitfuncs):
        try:
            if step is not None:
                step()
        except BaseException:
            pass
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except Exception:
        pass


def _serve_one(
    request: dict[str, Any],
    out: IO[str],
    patches: list[Any],
    close: tuple[int, ...],
    mode: str,
    why: str = "",
) -> None:
    """Fork a child for `request`, answer its pid at once and its exit code when it ends."""
    pid = os.fork()
    if pid == 0:
        _child(request, patches, close)
    hello: dict[str, Any] = {"pid": pid, "mode": mode}
    if why:
        hello["why"] = why
    out.write(json.dumps(hello) + "\n")
    out.flush()
    _, status = os.waitpid(pid, 0)
    out.write(json.dumps({"pid": pid, "exit": os.waitstatus_to_exitcode(status)}) + "\n")
    out.flush()


def _project_modules() -> list[str]:
    """Modules of the checkout itself: if warming imported any, children would run stale code."""
    root = os.path.realpath(os.getcwd()) + os.sep
    found = []
    for name, module in list(sys.modules.items()):
        path = getattr(module, "__file__", None)
        if path and os.path.realpath(path).startswith(root):
            found.append(name)
    return found


class Preloaded:
    """The project collected once; each request forks from here, patched where that is exact."""

    def __init__(self, args: list[str]) -> None:
        self.root = os.path.realpath(os.getcwd()) + os.sep
        self.env = dict(os.environ)
        #: Functions whose code ran while the modules loaded (their effects are already made).
        self.ran: set[tuple[str, int, str]] = set()
        #: A code object's filename -> its realpath when it is the project's, else "".
        self._where: dict[str, str] = {}
        self.failure = self._collect(args)
        if not self.failure and len(sys._current_frames()) > 1:
            # A lock that thread holds as a child forks would be held in the child forever.
            self.failure = "collecting the tests started a thread"
        #: realpath of a project file -> its live functions, and its text as loaded.
        self.functions: dict[str, list[types.FunctionType]] = {}
        self.sources: dict[str, tuple[str, str]] = {}
        self._compiled: dict[str, types.CodeType] = {}
        if self.failure:
            return
        for module in list(sys.modules.values()):
            path = getattr(module, "__file__", None)
            if path and path.endswith(".py") and os.path.realpath(path).startswith(self.root):
                try:
                    with open(path, encoding="utf-8") as f:
                        self.sources[os.path.realpath(path)] = (path, f.read())
                except (OSError, UnicodeDecodeError):
                    continue
        for obj in gc.get_objects():
            if isinstance(obj, types.FunctionType):
                where = self._project_file(obj.__code__.co_filename)
                if where:
                    self.functions.setdefault(where, []).append(obj)
            elif isinstance(
                obj, (types.GeneratorType, types.CoroutineType, types.AsyncGeneratorType)
            ):
                code = getattr(obj, "gi_code", None) or getattr(obj, "cr_code", None)
                code = code or getattr(obj, "ag_code", None)
                if code is not None and self._project_file(code.co_filename):
                    self.ran.add(self._key(code))

    def _project_file(self, filename: str) -> str:
        """`filename`'s realpath when it is in the project, else "" (cached: the tracer asks
        on every call)."""
        where = self._where.get(filename)
        if where is None:
            real = os.path.realpath(filename)
            where = self._where[filename] = real if real.startswith(self.root) else ""
        return where

    def _key(self, code: types.CodeType) -> tuple[str, int, str]:
        return (
            self._project_file(code.co_filename),
            code.co_firstlineno,
            getattr(code, "co_qualname", code.co_name),
        )

    def _trace(self, frame: types.FrameType, event: str, arg: Any) -> None:
        if event == "call" and self._project_file(frame.f_code.co_filename):
            self.ran.add(self._key(frame.f_code))
        return None

    def _collect(self, args: list[str]) -> str:
        import threading

        import pytest

        if sys.path[0] != os.getcwd():
            sys.path.insert(0, os.getcwd())
        _quiet_preimported()
        sys.settrace(self._trace)
        threading.settrace(self._trace)
        try:
            code = int(pytest.main(["--collect-only", "-q", *args]))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        except BaseException as exc:
            return f"collection raised {type(exc).__name__}"
        finally:
            replaced = sys.gettrace() != self._trace
            sys.settrace(None)
            threading.settrace(None)  # type: ignore[arg-type,unused-ignore]
        if replaced:
            return "a plugin replaced the collection tracer"
        if code not in (0, 5):
            return f"collection exited with {code}"
        return ""

    def patches(self, request: dict[str, Any]) -> tuple[list[Any], str]:
        """(function, code) swaps that make the preloaded state the mutant's, or why none can."""
        for name, value in request.get("env", {}).items():
            if self.env.get(name) != value:
                return [], f"the run sets {name} differently from the preload"
        relpath = request.get("patch")
        if not relpath:
            return [], ""
        where = os.path.realpath(os.path.join(os.getcwd(), relpath))
        if where not in self.sources:
            return [], ""  # never loaded here: the child imports the mutated file itself
        filename, text = self.sources[where]
        try:
            with open(where, encoding="utf-8") as f:
                mutated = compile(f.read(), filename, "exec", dont_inherit=True)
            old = self._compiled.get(where)
            if old is None:
                old = self._compiled[where] = compile(text, filename, "exec", dont_inherit=True)
        except (OSError, SyntaxError, ValueError, UnicodeDecodeError) as exc:
            return [], f"{relpath} does not compile here ({type(exc).__name__})"
        pairs = _changed_functions(old, mutated)
        if isinstance(pairs, str):
            return [], pairs
        swaps = []
        for before, after in pairs:
            if self._key(before) in self.ran:
                return [], f"{before.co_name} ran while the modules loaded"
            live = [f for f in self.functions.get(where, []) if f.__code__ == before]
            if not live:
                return [], f"no live function is made from {before.co_name}"
            for function in live:
                if len(function.__code__.co_freevars) != len(after.co_freevars):
                    return [], f"{before.co_name} changes its closure"
                swaps.append((function, after))
        return swaps, ""


def _shell(code: types.CodeType) -> types.CodeType:
    """`code` with its nested code objects and its position table blanked out.

    A `def` or `class` statement's position spans its whole body, so a mutant that changes a
    line's length inside a function moves the end column recorded in the enclosing body: no
    behaviour of it. Its line numbers still have to match (`_lines`).
    """
    consts = tuple(
        ("<code>", c.co_name) if isinstance(c, types.CodeType) else c for c in code.co_consts
    )
    if hasattr(code, "co_linetable"):
        return code.replace(co_consts=consts, co_linetable=b"")
    return code.replace(co_consts=consts, co_lnotab=b"")  # type: ignore[call-arg,unused-ignore]


def _lines(code: types.CodeType) -> object:
    return list(code.co_lines()) if hasattr(code, "co_lines") else code.co_lnotab


def _changed_functions(old: types.CodeType, new: types.CodeType) -> list[Any] | str:
    """The (old, new) code of each function a module's change is confined to, or why not."""
    if _shell(old) != _shell(new) or _lines(old) != _lines(new):
        kind = "module" if old.co_name == "<module>" else f"class {old.co_name}"
        return f"the change is in the {kind} body"
    pairs = []
    olds = [c for c in old.co_consts if isinstance(c, types.CodeType)]
    news = [c for c in new.co_consts if isinstance(c, types.CodeType)]
    # Equal shells hold their code objects at the same places: the lists have one length.
    for before, after in zip(olds, news):  # noqa: B905 (the server may run on Python < 3.10)
        if before == after:
            continue
        if before.co_flags & CO_NEWLOCALS:
            same = (before.co_name, before.co_firstlineno, before.co_freevars)
            if same != (after.co_name, after.co_firstlineno, after.co_freevars):
                return f"{before.co_name} changes its name, first line or closure"
            pairs.append((before, after))
        else:
            inner = _changed_functions(before, after)
            if isinstance(inner, str):
                return inner
            pairs.extend(inner)
    return pairs


class PreloadLink:
    """The warm server's end of the pipes to the preloaded server (its child)."""

    def __init__(self, args: list[str]) -> None:
        to_child, self._child_in = os.pipe()
        self._child_out, from_child = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(self._child_in)
            os.close(self._child_out)
            _preloaded_main(args, to_child, from_child)
        os.close(to_child)
        os.close(from_child)
        self.pid = pid
        self._send = os.fdopen(self._child_in, "w")
        self._recv = os.fdopen(self._child_out)
        hello = self.recv()
        self.why = str(hello.get("why", "")) if hello else "the preload server exited"
        self.ready = bool(hello and hello.get("preloaded"))
        if not self.ready:
            self.close()

    @property
    def fds(self) -> tuple[int, int]:
        return (self._child_in, self._child_out)

    def recv(self) -> dict[str, Any] | None:
        line = self._recv.readline()
        return json.loads(line) if line else None

    def ask(self, request: dict[str, Any], out: IO[str]) -> str:
        """Relay `request`; '' once the preloaded child ran it, else why it could not."""
        try:
            self._send.write(json.dumps(request) + "\n")
            self._send.flush()
            first = self.recv()
        except OSError:
            first = None
        if first is None:
            self.ready = False
            return "the preload server exited"
        if "fallback" in first:
            return str(first["fallback"])
        out.write(json.dumps(first) + "\n")
        out.flush()
        done = self.recv()
        if done is None:  # the preload server died with its child: report it as killed
            self.ready = False
            done = {"pid": first["pid"], "exit": -9}
        out.write(json.dumps(done) + "\n")
        out.flush()
        return ""

    def close(self) -> None:
        for f in (self._send, self._recv):
            try:
                f.close()
            except OSError:
                pass
        try:
            os.waitpid(self.pid, 0)
        except ChildProcessError:
            pass


def _preloaded_main(args: list[str], requests_fd: int, answers_fd: int) -> None:
    """The preloaded server's life: collect, then fork a (patched) child per request."""
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):  # the runner's pipes belong to the warm server
        os.dup2(devnull, fd)
    out = os.fdopen(answers_fd, "w")
    code = 0
    try:
        state = Preloaded(args)
        out.write(json.dumps({"preloaded": not state.failure, "why": state.failure}) + "\n")
        out.flush()
        if state.failure:
            return
        gc.freeze()
        for line in os.fdopen(requests_fd):
            request = json.loads(line)
            patches, why = state.patches(request)
            if why:
                out.write(json.dumps({"fallback": why}) + "\n")
                out.flush()
                continue
            _serve_one(request, out, patches, (requests_fd, answers_fd), "preloaded")
    except BaseException:
        code = 1
    finally:
        os._exit(code)


def _ready(out: IO[str]) -> bool:
    """Say whether children may fork from here, and why not.

    Not when the server holds a module of the checkout (children would run stale code), nor
    when an import started a thread: a lock that thread held as the server forked would stay
    held in the child forever, and the child would hang where a new interpreter runs on.
    """
    stale = _project_modules()
    threads = len(sys._current_frames())
    ready = not stale and threads == 1
    _say(out, {"ready": ready, "project_modules": stale, "threads": threads})
    return ready


def _say(out: IO[str], answer: dict[str, Any]) -> None:
    out.write(json.dumps(answer) + "\n")
    out.flush()


def main() -> None:
    # The work tree, not this script's folder, leads sys.path, as in `python -m pytest`: a
    # plugin that imports the project then finds the tree's copy, and `_project_modules` sees it.
    sys.path[0] = os.getcwd()
    _warm()
    # What warming imported lives as long as the server: out of the collector's reach, each
    # child's collections (pytest runs several at the end of a session) walk only its own objects.
    gc.freeze()
    out = sys.stdout
    if not _ready(out):
        return
    preload = None
    for line in sys.stdin:
        request = json.loads(line)
        if "warm" in request:
            _import_all(list(request["warm"]))
            gc.freeze()
            if not _ready(out):
                return
            continue
        if "preload" in request:
            if preload is not None:
                preload.close()
            preload = PreloadLink(list(request["preload"]))
            _say(out, {"preloaded": preload.ready, "why": preload.why})
            if not preload.ready:
                preload = None
            continue
        why = ""
        if request.get("preloaded"):
            if preload is None:
                why = "no preload server"
            else:
                why = preload.ask(request, out)
                if not why:
                    continue
                if not preload.ready:
                    preload.close()
                    preload = None
        _serve_one(request, out, [], preload.fds if preload else (), "fresh", why)
    if preload is not None:
        preload.close()


if __name__ == "__main__":
    main()

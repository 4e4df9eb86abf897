"""The `docker` kind: a server in a container on its own network, published on 127.0.0.1 only.

    spec = TargetSpec(kind="docker", image="fixguard/python:local",
                      command="python3 -m uvicorn app:app --host {host} --port {port}",
                      mounts={"/path/to/tree": "/src"}, cwd="/src", health="/healthz")
    with launch(spec) as target:
        target.client().get("/healthz")
        psutil.Process(target.pid).num_fds()      # the server's host pid (State.Pid)

`{port}` is the port inside the container (`container_port`, default 8000), `{host}` is
0.0.0.0 (a server bound to 127.0.0.1 inside cannot be reached through the published port),
`{python}` is python3. `mounts` maps host paths to container paths (append ``:ro`` for
read-only), so a mutated source tree runs inside. `cwd` is the working directory inside the
container; when it names a host directory that no mount covers, that directory is mounted at
the same path (so the verify pipeline, which sets `cwd` to its checkout, just works). `options` passes extra keyword arguments to
the Docker SDK's `containers.create` (``mem_limit``, ``user``, ``init``...).

Every container and network carries the label ``org.fixguard.target`` plus its owner's pid and
host, so that `reap()` removes what a killed run left behind; each start reaps leftovers of
dead owners first. The image is never pulled: build it locally (`.ci/docker-setup`).
"""

from __future__ import annotations

import os
import socket
import uuid
import warnings
from collections.abc import Callable, Mapping
from functools import partial
from pathlib import Path, PurePosixPath
from typing import Any

import docker
import docker.errors
import httpx
import psutil
import requests
from docker.models.containers import Container

from ..errors import TargetError, UserError
from ..testrun import tail
from .docker_engine import (
    LABEL,
    LABEL_NAME,
    LABEL_OWNER_HOST,
    LABEL_OWNER_PID,
    engine,
    ignore_gone,
    reap,
    short_error,
)
from .ports import LOOPBACK, free_port
from .procnet import listening_inside
from .server import ServerTarget, StartFailed, answer_of, live
from .spec import TargetSpec, render

DEFAULT_CONTAINER_PORT = 8000
#: What the server binds inside the container, and `{python}` inside it.
CONTAINER_HOST = "0.0.0.0"
CONTAINER_PYTHON = "python3"
#: Extra tries with a new free port when the one picked was taken meanwhile.
PORT_RETRIES = 3
#: `options` keys the launcher sets itself.
RESERVED_OPTIONS = frozenset({
    "image", "command", "name", "labels", "ports", "network", "network_mode", "environment",
    "volumes", "working_dir", "detach", "auto_remove", "remove", "publish_all_ports",
})  # fmt: skip
_PORT_TAKEN = ("port is already allocated", "address already in use")


def parse_mounts(mounts: dict[str, str]) -> dict[str, dict[str, str]]:
    """`{"./src": "/src:ro"}` -> the SDK's `volumes` argument; host paths must exist."""
    volumes: dict[str, dict[str, str]] = {}
    for host, target in mounts.items():
        path = Path(host).expanduser().resolve()
        if not path.exists():
            raise UserError(
                f"mounts={{{host!r}: {target!r}}}: host path {str(path)!r} does not exist "
                "(mount an existing directory, e.g. the source tree)",
                where=f"mounts.{host}",
            )
        bind, _, mode = target.partition(":")
        if not bind.startswith("/") or mode not in {"", "ro", "rw"}:
            raise UserError(
                f"mounts={{{host!r}: {target!r}}}: the container side must be an absolute "
                "path, optionally with ':ro' or ':rw' (e.g. '/src' or '/src:ro')",
                where=f"mounts.{host}",
            )
        volumes[str(path)] = {"bind": bind, "mode": mode or "rw"}
    return volumes


def mount_cwd(
    volumes: dict[str, dict[str, str]], cwd: Path | str | None
) -> dict[str, dict[str, str]]:
    """Add a same-path mount of `cwd` when it is a host directory that no mount covers.

    So a spec without mounts serves the checkout it is given (the verify pipeline sets `cwd`
    to the base, head or mutant copy it runs in) from the same path inside the container.
    """
    if cwd is None:
        return volumes
    inside = PurePosixPath(cwd)
    for mount in volumes.values():
        bind = PurePosixPath(mount["bind"])
        if inside == bind or bind in inside.parents:
            return volumes
    host = Path(cwd)
    if not (host.is_absolute() and host.is_dir()):
        return volumes
    return {**volumes, str(host.resolve()): {"bind": str(inside), "mode": "rw"}}


def line_probe(environ: Mapping[str, str], suffix: str) -> tuple[dict[str, str], list[str]]:
    """Carry the mutation baseline's line probe into the container: (env, same-path mounts).

    The baseline run (`harness.mutation.lab`) sets FIXGUARD_PROBE_OUT/FILES and puts a probe
    `sitecustomize` on PYTHONPATH so that a target server records which fix lines it runs. The
    workspaces, the probe and its output share one temp dir, which is mounted at the same
    path, so file names inside match the host's. Every container's server is pid 1, so each
    writes under its own `<OUT>.sub-<suffix>` prefix (the lab reads `<OUT>.sub-*.json`).
    """
    out = environ.get("FIXGUARD_PROBE_OUT")
    if not out:
        return {}, []
    env = {
        "FIXGUARD_PROBE_OUT": f"{out}.sub-{suffix}",
        "FIXGUARD_PROBE_FILES": environ.get("FIXGUARD_PROBE_FILES", "[]"),
    }
    if environ.get("PYTHONPATH"):
        env["PYTHONPATH"] = environ["PYTHONPATH"]
    return env, [str(Path(out).parent)]


class DockerTarget(ServerTarget):
    """A container of `spec.image`, its `container_port` published on a loopback host port."""

    kind = "docker"

    def __init__(self, spec: TargetSpec) -> None:
        super().__init__(spec)
        assert spec.image is not None  # the kind's registration requires it
        self._suffix = uuid.uuid4().hex[:12]
        self.container_name = f"fixguard-{self._suffix}"
        self.network_name = f"fixguard-{self._suffix}"
        self.container_port = spec.container_port or DEFAULT_CONTAINER_PORT
        self._client: docker.DockerClient | None = None
        self._container: Container | None = None
        self._final_log: str | None = None
        self._probe_env: dict[str, str] = {}
        self.teardown_error: str | None = None

    # --- what scenarios read -------------------------------------------------------------

    @property
    def container_id(self) -> str | None:
        return self._container.id if self._container is not None else None

    def container_pids(self) -> list[int]:
        """Host pids of every process in the container, from `docker top`."""
        if self._container is None:
            return []
        top = self._container.top(ps_args="-o pid")
        column = top["Titles"].index("PID")
        return [int(row[column]) for row in top.get("Processes") or []]

    def logs(self) -> str:
        """The container's stdout and stderr so far (kept after the container is removed)."""
        if self._final_log is not None:
            return self._final_log
        if self._container is None:
            return ""
        try:
            return bytes(self._container.logs(stdout=True, stderr=True)).decode(errors="replace")
        except (docker.errors.DockerException, requests.RequestException):
            return ""

    # --- start ---------------------------------------------------------------------------

    def _start(self) -> None:
        spec, image = self.spec, str(self.spec.image)
        self._client = client = engine()
        try:
            reap(client)
        except (docker.errors.DockerException, requests.RequestException):
            pass  # a leftover being removed by someone else; the next start tries again
        try:
            client.images.get(image)
        except docker.errors.ImageNotFound:
            raise UserError(
                f"image={image!r}: not on the docker engine, and the docker target never "
                "pulls (build or load it first; .ci/docker-setup builds fixguard/python:local)",
                where=self._where("image"),
            ) from None
        probe_env, probe_dirs = line_probe(os.environ, self._suffix)
        volumes = parse_mounts(spec.mounts)
        for shared in [*probe_dirs, spec.cwd]:
            volumes = mount_cwd(volumes, shared)
        self._probe_env = probe_env
        create_kwargs = self._create_kwargs(volumes)
        live.add(self)
        try:
            client.networks.create(self.network_name, driver="bridge", labels=self._labels())
        except docker.errors.APIError as exc:
            raise TargetError(
                f"target {spec.label!r}: could not create docker network "
                f"{self.network_name!r}: {short_error(exc)}",
                where=self._where("kind"),
                hint="leftover networks use up the address pools; "
                "`python -m harness.targets.docker` removes fixguard's",
            ) from None
        attempts = 1 if spec.port is not None else PORT_RETRIES + 1
        for attempt in range(attempts):
            port = spec.port if spec.port is not None else free_port()
            try:
                self._run(port, create_kwargs)
                return
            except StartFailed as failure:
                log = self._final_log = self.logs()
                self._remove_container()
                if failure.retry and attempt + 1 < attempts:
                    continue
                if failure.retry:
                    raise TargetError(
                        f"port={port!r}: {LOOPBACK}:{port} is already in use on the host, so "
                        f"the docker engine cannot publish it (choose another port, or leave "
                        f"port unset to pick a free one)",
                        where=self._where("port"),
                    ) from None
                raise TargetError(
                    f"target {spec.label!r}: container of image {image!r} {failure.reason}",
                    where=self._where("command"),
                    hint=f"full log: {spec.log_file}" if spec.log_file else None,
                    log_tail=tail(log) or "(the container wrote nothing)",
                ) from None

    def _where(self, field: str) -> str:
        return f"targets.{self.spec.name}.{field}" if self.spec.name else field

    def _labels(self) -> dict[str, str]:
        return {
            LABEL: "1",
            LABEL_OWNER_PID: str(os.getpid()),
            LABEL_OWNER_HOST: socket.gethostname(),
            LABEL_NAME: self.spec.label,
        }

    def _render(self, text: str) -> str:
        return render(text, port=self.container_port, python=CONTAINER_PYTHON, host=CONTAINER_HOST)

    def _create_kwargs(self, volumes: dict[str, dict[str, str]]) -> dict[str, Any]:
        spec = self.spec
        clash = sorted(RESERVED_OPTIONS & set(spec.options))
        if clash:
            raise UserError(
                f"options.{clash[0]}={spec.options[clash[0]]!r}: set by the docker target "
                "itself (use the spec's own fields: command, env, mounts, cwd, port)",
                where=self._where(f"options.{clash[0]}"),
            )
        command: str | list[str] | None = None
        if isinstance(spec.command, str):
            command = self._render(spec.command)
        elif spec.command is not None:
            command = [self._render(word) for word in spec.command]
        environment = {"PYTHONUNBUFFERED": "1", "PYTHONDONTWRITEBYTECODE": "1", **self._probe_env}
        user_env = {k: self._render(v) for k, v in spec.env.items()}
        if "PYTHONPATH" in user_env and "PYTHONPATH" in environment:
            user_env["PYTHONPATH"] = f"{environment['PYTHONPATH']}:{user_env['PYTHONPATH']}"
        environment.update(user_env)
        environment["PORT"] = str(self.container_port)
        return {
            **spec.options,
            "command": command,
            "name": self.container_name,
            "labels": self._labels(),
            "network": self.network_name,
            "environment": environment,
            "volumes": volumes,
            "working_dir": str(spec.cwd) if spec.cwd is not None else None,
            "detach": True,
        }

    def _run(self, port: int, create_kwargs: dict[str, Any]) -> None:
        assert self._client is not None
        self._port = port
        self._final_log = None  # a retry after a taken port starts a fresh log
        ports = {f"{self.container_port}/tcp": (LOOPBACK, port)}
        try:
            self._container = self._client.containers.create(
                str(self.spec.image), ports=ports, **create_kwargs
            )
        except TypeError as exc:  # an unknown key in `options`
            raise UserError(
                f"options={self.spec.options!r}: {exc} (see the Docker SDK's containers.create)",
                where=self._where("options"),
            ) from None
        except docker.errors.APIError as exc:
            raise StartFailed(f"could not be created: {short_error(exc)}") from None
        try:
            self._container.start()
        except docker.errors.APIError as exc:
            message = short_error(exc)
            taken = any(marker in message.lower() for marker in _PORT_TAKEN)
            raise StartFailed(f"could not be started: {message}", retry=taken) from None
        self._container.reload()
        state_pid = int(self._container.attrs["State"]["Pid"])
        self._pid = state_pid  # in the container's network namespace, enough for the wait
        self._wait_healthy(port)
        self._pid = self._server_pid(state_pid)  # an init has forked the server by now

    @staticmethod
    def _server_pid(pid: int) -> int:
        """State.Pid, or its only child when that is an init (`options={"init": True}`)."""
        try:
            proc = psutil.Process(pid)
            if proc.name() in {"docker-init", "tini", "tini-static", "dumb-init"}:
                children = proc.children()
                if len(children) == 1:
                    return children[0].pid
        except psutil.Error:
            pass
        return pid

    def _wait_healthy(self, port: int) -> None:
        container = self._container
        assert container is not None
        url = self.health_url(port)
        what = (
            f"health check GET {url}"
            if self.spec.health
            else f"a listener on port {self.container_port} inside the container"
        )

        def check(http: httpx.Client) -> tuple[bool, str]:
            container.reload()
            state = container.attrs["State"]
            if not state.get("Running"):
                raise StartFailed(
                    f"exited with code {state.get('ExitCode')} before {what} succeeded"
                    + (f" ({state['Error']})" if state.get("Error") else "")
                )
            return self._probe(http, url)

        hint = (
            f"; the server must listen on {CONTAINER_HOST}:{self.container_port} inside the "
            "container"
        )
        self.poll_until_healthy(check, what, first_delay=0.05, hint=hint)

    def _probe(self, http: httpx.Client, url: str) -> tuple[bool, str]:
        # docker-proxy accepts on the host port even when nothing listens inside, so an open
        # host port proves nothing: look at the container's own listening sockets first.
        listening = listening_inside(self._pid, self.container_port) if self._pid else None
        if listening is not None:
            if not listening:
                return False, f"nothing listens on port {self.container_port} yet"
            if listening <= {"127.0.0.1", "::1"}:
                # Final: that bind also keeps 0.0.0.0 on this port from being bound later.
                raise StartFailed(
                    f"listens on {sorted(listening)[0]}:{self.container_port} inside the "
                    f"container, which the published port cannot reach (bind "
                    f"{CONTAINER_HOST}: use '--host {{host}}' in the command)"
                )
            if self.spec.health is None:
                return True, "listening"
        ok, seen = answer_of(http, url)
        # Without a health path, any answer at all means the server is up.
        return ok or (self.spec.health is None and seen.startswith("HTTP")), seen

    # --- stop ----------------------------------------------------------------------------

    def _stop(self) -> None:
        """Stop and remove the container, then its network; a Ctrl-C meanwhile is deferred."""
        interrupted: KeyboardInterrupt | None = None
        steps: list[Callable[[], None]] = [
            self._graceful_stop,
            self._keep_log,
            self._remove_container,
            self._remove_network,
            self._close_client,
        ]
        for step in steps:
            for _ in range(3):
                try:
                    step()
                    break
                except KeyboardInterrupt as exc:  # finish tearing down, then re-raise
                    interrupted = exc
                except (docker.errors.DockerException, requests.RequestException, OSError) as exc:
                    self.teardown_error = f"{step.__name__}: {short_error(exc)}"
                    break
        live.discard(self)
        if self.teardown_error is not None:
            warnings.warn(
                f"docker target {self.spec.label!r}: teardown incomplete "
                f"({self.teardown_error}); `python -m harness.targets.docker` removes leftovers",
                RuntimeWarning,
                stacklevel=3,
            )
        if interrupted is not None:
            raise interrupted

    def _graceful_stop(self) -> None:
        container = self._container
        if container is not None:
            ignore_gone(partial(container.stop, timeout=int(self.spec.stop_timeout)))

    def _keep_log(self) -> None:
        if self._container is not None:
            self._final_log = None
            self._final_log = self.logs()
        if self.spec.log_file is not None and self._final_log is not None:
            path = Path(self.spec.log_file)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(self._final_log)

    def _remove_container(self) -> None:
        """Remove the container by name (also one whose create call was interrupted)."""
        self._container = None
        if self._client is not None:
            self._remove(self._client.containers, self.container_name, force=True, v=True)

    def _remove_network(self) -> None:
        if self._client is not None:
            self._remove(self._client.networks, self.network_name)

    @staticmethod
    def _remove(collection: Any, name: str, **options: Any) -> None:
        """Remove the container or network `name`, if there is one."""
        try:
            found = collection.get(name)
        except docker.errors.NotFound:
            return
        ignore_gone(partial(found.remove, **options))

    def _close_client(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.close()


if __name__ == "__main__":  # python -m harness.targets.docker: remove every leftover
    for name in reap(everything=True):
        print(f"removed {name}")

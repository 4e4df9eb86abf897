"""The Docker engine, for the `docker` kind: a checked client, and reaping what dead runs left.

Every container and network a target makes carries `LABEL` plus its owner's pid and host, so
`reap()` can tell a dead run's leftovers from a live run's.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from functools import partial

import docker
import docker.errors
import psutil
import requests

from ..errors import TargetError

LABEL = "org.fixguard.target"
LABEL_OWNER_PID = "org.fixguard.owner-pid"
LABEL_OWNER_HOST = "org.fixguard.owner-host"
LABEL_NAME = "org.fixguard.target-name"


def engine(timeout: float = 30.0) -> docker.DockerClient:
    """A client for the engine `DOCKER_HOST` names (default: the local socket), checked alive."""
    where = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    try:
        client = docker.from_env(timeout=int(timeout))
        client.ping()
    except (docker.errors.DockerException, requests.RequestException) as exc:
        raise TargetError(
            f"docker engine at {where} is not reachable: {short_error(exc)}",
            where="kind",
            hint="start dockerd, e.g. run .ci/docker-setup as root (see docs/docker.md)",
        ) from None
    return client


def reap(client: docker.DockerClient | None = None, *, everything: bool = False) -> list[str]:
    """Remove fixguard containers and networks whose owner process is gone; their names.

    `everything=True` also removes those of live owners (for a manual clean-up).
    """
    client = client or engine()
    host = socket.gethostname()

    def orphaned(labels: dict[str, str]) -> bool:
        if everything:
            return True
        if labels.get(LABEL_OWNER_HOST) != host:
            return False  # another machine's engine user; not ours to judge
        try:
            return not psutil.pid_exists(int(labels.get(LABEL_OWNER_PID, "0")))
        except ValueError:
            return True

    removed: list[str] = []
    for container in client.containers.list(all=True, filters={"label": LABEL}):
        if orphaned(container.labels):
            ignore_gone(partial(container.remove, force=True, v=True))
            removed.append(container.name)
    for network in client.networks.list(filters={"label": LABEL}):
        if orphaned(network.attrs.get("Labels") or {}):
            ignore_gone(network.remove)
            removed.append(network.name)
    return removed


def ignore_gone(action: Callable[[], object]) -> None:
    try:
        action()
    except docker.errors.NotFound:
        pass
    except docker.errors.APIError as exc:
        if exc.status_code != 409 or "in progress" not in str(exc):  # already being removed
            raise


def short_error(exc: BaseException) -> str:
    """One line of an engine error: the daemon's explanation, not the HTTP plumbing."""
    if isinstance(exc, docker.errors.APIError) and exc.explanation:
        return str(exc.explanation).strip()
    text = str(exc).strip()
    if "FileNotFoundError" in text or "No such file or directory" in text:
        return "no socket there (dockerd is not running)"
    if "ConnectionRefusedError" in text or "Connection refused" in text:
        return "connection refused (dockerd is not running or not listening there)"
    if "PermissionError" in text or "Permission denied" in text:
        return "permission denied on the socket (run as root or join the docker group)"
    lines = text.splitlines()
    return lines[0] if lines else type(exc).__name__

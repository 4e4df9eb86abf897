"""files.hot_folder_waits_for_complete_files: a watcher never imports a file still being written."""

from __future__ import annotations

import os
import tempfile
import threading
import time
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from harness.pack import Target, scenario
from scenarios.invariants._inprocess import attribute


class HotFolderBinding(BaseModel):
    """``watcher(folder, handler)`` builds the watcher; ``scan()`` imports what is ready."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: Attribute of the target object: ``watcher(folder, handler(name, data))``.
    watcher: str
    scan: str = "scan"
    #: How writers deliver: "rename" writes ``<name><suffix>`` then renames it; "in-place" writes
    #: the final name directly (the watcher must notice it is still growing).
    protocol: Literal["rename", "in-place"] = "rename"
    suffix: str = ".part"
    name: str = "orders.csv"
    chunks: int = Field(default=8, ge=2, le=10_000)
    chunk_size: int = Field(default=4096, ge=1)
    #: Pause between chunks: the slow writer.
    write_interval: float = Field(default=0.02, ge=0)
    #: Pause between scans while the writer writes (scan faster than it writes).
    scan_interval: float = Field(default=0.005, ge=0)
    #: How long after the writer finishes the complete file may take to be imported.
    settle: float = Field(default=5.0, gt=0)


@scenario("files.hot_folder_waits_for_complete_files", binding=HotFolderBinding)
def a_file_is_imported_once_complete_and_never_while_being_written(
    binding: HotFolderBinding, target: Target
) -> None:
    """Scans race a slow writer; every import holds the whole file, once, within ``settle``."""
    make = attribute(target, binding.watcher, field="watcher")
    content = b"".join(
        f"{i:06d},".encode() + bytes([48 + i % 10]) * (binding.chunk_size - 7)
        for i in range(binding.chunks)
    )
    imports: list[tuple[str, bytes, bool]] = []
    writing = threading.Event()

    def handler(name: str, data: bytes) -> None:
        imports.append((name, bytes(data), writing.is_set()))

    with tempfile.TemporaryDirectory(prefix="fixguard-hotfolder-") as folder_name:
        folder = Path(folder_name)
        watcher = make(folder, handler)
        scan = getattr(watcher, binding.scan)
        final = folder / binding.name
        staged = folder / (binding.name + binding.suffix) if binding.protocol == "rename" else final

        def write() -> None:
            with open(staged, "wb") as fh:
                for i in range(binding.chunks):
                    fh.write(content[i * binding.chunk_size : (i + 1) * binding.chunk_size])
                    fh.flush()
                    time.sleep(binding.write_interval)
            if staged != final:
                os.rename(staged, final)
            writing.clear()

        writing.set()
        writer = threading.Thread(target=write, name="fixguard-slow-writer", daemon=True)
        writer.start()
        scans = 0
        while writing.is_set():
            scan()
            scans += 1
            time.sleep(binding.scan_interval)
        writer.join(timeout=binding.settle)
        deadline = time.monotonic() + binding.settle
        while time.monotonic() < deadline and not any(n == binding.name for n, _, _ in imports):
            scan()
            scans += 1
            time.sleep(min(0.05, binding.settle / 20))

    problems = [
        f"imported {name!r} with {len(data)} of {len(content)} bytes"
        + (" while the writer was still writing" if during else "")
        for name, data, during in imports
        if data != content
    ]
    complete = [name for name, data, _ in imports if data == content]
    if len(complete) > 1:
        problems.append(f"imported the complete file {len(complete)} times: {complete}")
    if not complete:
        problems.append(
            f"never imported the complete {binding.name!r} within "
            f"{binding.settle}s of the writer finishing"
        )
    if problems:
        raise AssertionError(
            f"files.hot_folder_waits_for_complete_files: {binding.watcher}.{binding.scan} "
            f"({scans} scans against a writer of {binding.chunks} chunks, "
            f"{binding.write_interval}s apart, protocol={binding.protocol})\n  "
            + "\n  ".join(problems)
        )

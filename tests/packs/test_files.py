"""The files pack in process against the sample: staged uploads and the hot folder."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from harness.scenario import run
from harness.targets import launch
from harness.targets.base import Target


@contextmanager
def module_target(tree: Path, module: str, sample_modules: Any) -> Iterator[Target]:
    with (
        sample_modules(tree),
        launch(
            {"kind": "python", "factory": "importlib:import_module", "kwargs": {"name": module}}
        ) as target,
    ):
        yield target


STAGING = {"call": "process_upload", "workers": 8, "budget": 2.0}


def test_staging_fails_on_the_buggy_base_shared_path(checkout: Any, sample_modules: Any) -> None:
    with module_target(checkout("base"), "shopapp.uploads", sample_modules) as target:
        with pytest.raises(AssertionError) as caught:
            run("files.concurrent_staging_keeps_data_apart", STAGING, target)
    message = str(caught.value)
    assert "files.concurrent_staging_keeps_data_apart:" in message
    assert (
        "concurrent calls got data that is not their own" in message
        or "raised FileNotFoundError" in message
    )
    assert "repro: FIXGUARD_SEED=" in message


def test_staging_passes_on_the_fixed_head(
    checkout: Any, sample_modules: Any, fixed: Callable[[str], None]
) -> None:
    fixed("tempfile-shared")
    with module_target(checkout("head"), "shopapp.uploads", sample_modules) as target:
        run("files.concurrent_staging_keeps_data_apart", {**STAGING, "budget": 1.0}, target)


HOT = {"watcher": "HotFolder"}


def test_hot_folder_fails_on_the_buggy_base(checkout: Any, sample_modules: Any) -> None:
    with module_target(checkout("base"), "shopapp.hotfolder", sample_modules) as target:
        with pytest.raises(AssertionError) as caught:
            run("files.hot_folder_waits_for_complete_files", HOT, target)
    message = str(caught.value)
    assert "imported 'orders.csv.part' with" in message
    assert "while the writer was still writing" in message


def test_hot_folder_passes_on_the_fixed_head(
    checkout: Any, sample_modules: Any, fixed: Callable[[str], None]
) -> None:
    fixed("hotfolder-partial")
    with module_target(checkout("head"), "shopapp.hotfolder", sample_modules) as target:
        run("files.hot_folder_waits_for_complete_files", HOT, target)


def test_hot_folder_in_place_writer_defeats_the_suffix_fix(
    checkout: Any, sample_modules: Any, fixed: Callable[[str], None]
) -> None:
    # The head's fix relies on writers using '.part'; a writer that writes the final name in
    # place is still imported half-written. The check says so instead of passing.
    fixed("hotfolder-partial")
    with module_target(checkout("head"), "shopapp.hotfolder", sample_modules) as target:
        with pytest.raises(AssertionError, match=r"imported 'orders\.csv' with"):
            run(
                "files.hot_folder_waits_for_complete_files", {**HOT, "protocol": "in-place"}, target
            )


# --- precision: a call that fails alone, or leaves files, is not mixing data ---------------------


class _Stager:
    """Stages each upload in its own temp file (no mix-up), but refuses one input on its own
    and forgets to delete what it staged."""

    def process_upload(self, data: bytes) -> bytes:
        import os
        import tempfile

        if data.startswith(b"worker-0-"):
            raise ValueError("uploads from worker 0 are over quota")
        fd, path = tempfile.mkstemp(prefix="upload-")
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        with open(path, "rb") as fh:
            return fh.read()  # the staged file is left behind


def test_staging_reports_errors_of_the_call_alone_and_leftovers_apart() -> None:
    from harness.findings import collect

    binding = {**STAGING, "budget": 0.5}
    with launch({"kind": "python", "factory": _Stager}) as target:
        with collect() as seen:
            run("files.concurrent_staging_keeps_data_apart", binding, target)
        problems = [f.problem for f in seen]
        assert problems[0] == (
            "process_upload(data) raised ValueError: uploads from worker 0 "
            "are over quota with no other call running"
        ), problems
        assert problems[1].startswith("staged files were left behind: ['upload-"), problems
        with pytest.raises(AssertionError, match='server_errors = "fail"'):
            run(
                "files.concurrent_staging_keeps_data_apart",
                {**binding, "server_errors": "fail"},
                target,
            )

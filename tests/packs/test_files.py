"""The files pack in process against the sample: staged uploads and the hot folder."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from harness.scenario import run
from harness.targets import launch
from tests.packs.support import failure, findings_apart

STAGING = {"call": "process_upload", "workers": 8, "budget": 2.0}
STAGE = "files.concurrent_staging_keeps_data_apart"
HOT = {"watcher": "HotFolder"}
WAIT = "files.hot_folder_waits_for_complete_files"


def test_staging_fails_on_the_buggy_base_shared_path(sample_target: Any) -> None:
    with sample_target("base", "shopapp.uploads") as target:
        message = failure(STAGE, STAGING, target)
    assert f"{STAGE}:" in message
    assert (
        "concurrent calls got data that is not their own" in message
        or "raised FileNotFoundError" in message
    )
    assert "repro: FIXGUARD_SEED=" in message


def test_hot_folder_fails_on_the_buggy_base(sample_target: Any) -> None:
    with sample_target("base", "shopapp.hotfolder") as target:
        message = failure(WAIT, HOT, target)
    assert "imported 'orders.csv.part' with" in message
    assert "while the writer was still writing" in message


@pytest.mark.parametrize(
    ("finding", "module", "check", "binding"),
    [
        ("tempfile-shared", "shopapp.uploads", STAGE, {**STAGING, "budget": 1.0}),
        ("hotfolder-partial", "shopapp.hotfolder", WAIT, HOT),
    ],
    ids=["staging", "hot-folder"],
)
def test_passes_on_the_fixed_head(
    sample_target: Any,
    fixed: Callable[[str], None],
    finding: str,
    module: str,
    check: str,
    binding: dict[str, Any],
) -> None:
    fixed(finding)
    with sample_target("head", module) as target:
        run(check, binding, target)


def test_hot_folder_in_place_writer_defeats_the_suffix_fix(
    sample_target: Any, fixed: Callable[[str], None]
) -> None:
    # The head's fix relies on writers using '.part'; a writer that writes the final name in
    # place is still imported half-written. The check says so instead of passing.
    fixed("hotfolder-partial")
    with sample_target("head", "shopapp.hotfolder") as target:
        with pytest.raises(AssertionError, match=r"imported 'orders\.csv' with"):
            run(WAIT, {**HOT, "protocol": "in-place"}, target)


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
    binding = {**STAGING, "budget": 0.5}
    with launch({"kind": "python", "factory": _Stager}) as target:
        problems = [f.problem for f in findings_apart(STAGE, binding, target)]
    assert problems[0] == (
        "process_upload(data) raised ValueError: uploads from worker 0 "
        "are over quota with no other call running"
    ), problems
    assert problems[1].startswith("staged files were left behind: ['upload-"), problems

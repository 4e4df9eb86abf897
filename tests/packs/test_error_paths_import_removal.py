"""The import-removal operator: what it generates, and on the sample's publisher-import fix that
it is killed by the error_paths pack (which drives the except branch) and survives a test that
only runs the success path."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from harness import git
from harness.mutation import Family, MutationOptions, run_mutation, scope_from_diff
from harness.mutation.options import MutantResult
from harness.mutation.scope import FileScope, Scope
from harness.mutation.visit import Discovery, discover, mutants_of_file
from harness.outcomes import MutantStatus
from harness.sample import SampleRepo

FAST_PYTEST = (
    "-q",
    "-p",
    "no:hypothesispytest",
    "-p",
    "no:xdist",
    "-p",
    "no:timeout",
    "-p",
    "no:cacheprovider",
)

PACK_TEST = '''
"""Runs the error_paths pack against the checkout pytest runs in (a mutant copy)."""
from pathlib import Path

from harness.scenario import run
from harness.targets import launch


def test_publisher_handlers_survive_faults():
    spec = {"kind": "python", "factory": "shopapp.publisher:Publisher",
            "kwargs": {"upstream_url": "http://127.0.0.1:9"}, "cwd": str(Path.cwd())}
    with launch(spec) as target:
        run("error_paths.handlers_survive_faults",
            {"functions": ["shopapp.publisher:Publisher.publish"],
             "dependencies": ["shopapp.publisher:httpx.post"],
             "invoke": "publish", "args": ["order-1", "paid"]}, target)
'''

SUCCESS_ONLY_TEST = '''
"""Only the happy path: the upstream takes the event, the except branch never runs."""
import os
import sys

import httpx

sys.path.insert(0, os.getcwd())
from shopapp.publisher import Publisher  # noqa: E402


def accepted(url, **kwargs):
    return httpx.Response(202, request=httpx.Request("POST", url))


def test_publish_reaches_the_upstream(monkeypatch):
    monkeypatch.setattr(httpx, "post", accepted)
    assert Publisher("http://upstream.invalid").publish("order-1", "paid") is True
'''


def _mutants(source: str, lines: set[int]) -> Discovery:
    found = Discovery()
    scope = FileScope("m.py", frozenset(lines))
    mutants_of_file("m.py", textwrap.dedent(source), scope, strict=False, into=found)
    return found


def _import_removals(found: Discovery) -> list[str]:
    return [m.source for m in found.mutants if m.family is Family.IMPORT_REMOVAL]


def test_one_name_of_a_multi_name_import_is_removed() -> None:
    found = _mutants("from datetime import datetime, timezone\nimport os\n", {1})
    (source,) = _import_removals(found)
    assert source == "from datetime import timezone\nimport os\n"
    assert found.mutants[0].operator == "import-removal"


def test_a_single_import_is_deleted_instead_of_a_statement_deletion() -> None:
    found = _mutants("import wave\n\n\ndef f():\n    return wave.open\n", {1})
    assert _import_removals(found) == ["\n\ndef f():\n    return wave.open\n"]
    assert not [m for m in found.mutants if m.operator == "delete-statement"]


def test_parenthesised_import_and_the_lines_outside_the_fix() -> None:
    found = _mutants("import json\nfrom os import (\n    path,\n    sep,\n)\n", {2, 3, 4, 5})
    (source,) = _import_removals(found)
    # one name left: the parentheses go too; `json` is not on a fix line, so it stays
    assert source == "import json\nfrom os import sep\n"


def test_future_and_star_imports_are_left_alone() -> None:
    found = _mutants("from __future__ import annotations\nfrom os.path import *\n", {1, 2})
    assert _import_removals(found) == []


@pytest.fixture(scope="module")
def publisher_fix(sample_repo: SampleRepo) -> tuple[str, Scope]:
    if "publisher-import" not in sample_repo.commits:
        pytest.fail("the sample has no publisher-import fix commit")
    head = sample_repo.commits["publisher-import"]
    parent = git.git(sample_repo.path, "rev-parse", f"{head}^").strip()
    return head, scope_from_diff(sample_repo.path, parent, head, files=["shopapp/publisher.py"])


def _run(
    sample_repo: SampleRepo, publisher_fix: tuple[str, Scope], tests: Path, store: Path
) -> list[MutantResult]:
    head, scope = publisher_fix
    found = discover(scope, lambda path: git.show(sample_repo.path, head, path))
    wanted = [m.id for m in found.mutants if m.family is Family.IMPORT_REMOVAL]
    options = MutationOptions(
        repo=sample_repo.path,
        rev=head,
        scope=scope,
        tests=[str(tests)],
        python=sys.executable,
        pytest_args=list(FAST_PYTEST),
        workers=1,
        store=store,
        mutant_ids=wanted,
        fork=False,
    )  # only this operator's mutant: CPU is scarce
    result = run_mutation(options)
    removal = [m for m in result.mutants if m.operator == "import-removal"]
    assert len(removal) == 1, [(m.operator, m.line) for m in result.mutants]
    assert (
        "-from datetime import datetime, timezone\n+from datetime import timezone"
        in removal[0].diff
    )
    return removal


@pytest.mark.parametrize(
    ("name", "source", "status"),
    [
        ("test_pack_publisher.py", PACK_TEST, MutantStatus.KILLED),
        ("test_publisher_success_only.py", SUCCESS_ONLY_TEST, MutantStatus.SURVIVED),
    ],
    ids=["killed-by-the-error-paths-pack", "survives-when-no-test-drives-the-except-branch"],
)
def test_import_removal(
    sample_repo: SampleRepo,
    publisher_fix: tuple[str, Scope],
    tmp_path: Path,
    name: str,
    source: str,
    status: MutantStatus,
) -> None:
    tests = tmp_path / "outside" / name
    tests.parent.mkdir()
    tests.write_text(source)
    (mutant,) = _run(sample_repo, publisher_fix, tests, tmp_path / "store.sqlite3")
    assert mutant.status is status, mutant

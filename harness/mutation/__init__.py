"""Mutation testing scoped to a fix: line-precise scope, fix-revert operators, isolated runner.

Public API (stable; the verify pipeline calls it)::

    from harness.mutation import MutationOptions, run_mutation, scope_from_diff, scope_from_ranges

    scope = scope_from_diff(repo, base, head, files=None)      # non-test .py lines of base..head
    scope = scope_from_ranges(repo, head, ["f.py:3-9"])        # or explicit head line ranges
    result = run_mutation(MutationOptions(repo=repo, rev=head, scope=scope,
                                          tests=["tests/t.py::test_x"] or None,
                                          python=sys.executable, pytest_args=[], env={},
                                          setup=None, workers=2, repeats=3, min_kills=1,
                                          concurrency=False, strict=False,
                                          store=Path(".../mutation.sqlite3"),
                                          timeout_factor=3.0, shard=None, fork=True),
                          reporter=None)                       # any MutationReporter
    result.mutants            # [MutantResult(id, family, operator, file, line, diff, status,
                              #               killing_test, runs, kills, duration, tests, cached)]
    result.no_mutants         # True: nothing to mutate on the fix lines (never a pass)
    result.skipped            # {reason: count}: arid code, duplicates, pragmas, invalid code
    result.baseline_duration  # seconds

Errors: a bad ref, range, shard or k-of-n setting raises `UserError`; a red baseline, a probe
that wrote nothing, or tests that never reach the fix lines raise `TargetError` (with a log tail).

Stages (one module each, as in cargo-mutants): `scope` (what lines), `families`/`generic`/`arid`
(operators and what is not worth mutating), `visit` (find mutants), `mutant` (apply, diff),
`inputs` (what a run reads, by content: the keys of stored results), `workspace` (isolated
copies), `copies` (one set of copies and servers per verify run, lent to each claim), `lab` (baseline, then mutants, k-of-n; `count_mutants` sizes a run before it
starts), `warm` (the fork servers of the worker copies, harness.forkserver's, one per copy and
hash seed; `probe_plugin` and `probe_sitecustomize` run inside the project's interpreter and
import nothing from the harness), `filters` (pure
shard/selection/status functions), `store` (SQLite, resumable), `events` (reporter protocol),
`console` and `output` (the only modules that print or write reports).
"""

from .events import MutationReporter, NullReporter
from .families import Family
from .lab import count_mutants, run_mutation
from .mutant import Mutant
from .options import MutantResult, MutationOptions, MutationResult
from .scope import FileScope, Scope, scope_from_diff, scope_from_ranges

__all__ = [
    "Family",
    "FileScope",
    "Mutant",
    "MutantResult",
    "MutationOptions",
    "MutationReporter",
    "MutationResult",
    "NullReporter",
    "Scope",
    "count_mutants",
    "run_mutation",
    "scope_from_diff",
    "scope_from_ranges",
]

"""The reporter protocol: the lab sends events here and never formats text itself."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from .mutant import Mutant
from .options import MutantResult, MutationResult
from .scope import Scope


class MutationReporter(Protocol):
    def scope_ready(
        self, scope: Scope, mutants: Sequence[Mutant], skipped: Mapping[str, int]
    ) -> None: ...

    def baseline_started(self, tests: Sequence[str] | None) -> None: ...

    def baseline_finished(self, duration: float, reaching: Sequence[str], engine: str) -> None: ...

    def mutant_started(self, mutant: Mutant) -> None: ...

    def mutant_finished(self, result: MutantResult) -> None: ...

    def run_finished(self, result: MutationResult) -> None: ...


class NullReporter:
    """Drops every event; the default when the caller passes no reporter."""

    def scope_ready(
        self, scope: Scope, mutants: Sequence[Mutant], skipped: Mapping[str, int]
    ) -> None:
        pass

    def baseline_started(self, tests: Sequence[str] | None) -> None:
        pass

    def baseline_finished(self, duration: float, reaching: Sequence[str], engine: str) -> None:
        pass

    def mutant_started(self, mutant: Mutant) -> None:
        pass

    def mutant_finished(self, result: MutantResult) -> None:
        pass

    def run_finished(self, result: MutationResult) -> None:
        pass

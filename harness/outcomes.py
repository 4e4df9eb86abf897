"""Outcome types shared by every stage: exit codes, run outcomes, mutant statuses, verdicts."""

from __future__ import annotations

from enum import IntEnum, StrEnum


class ExitCode(IntEnum):
    """Process exit codes, documented in the README's CLI reference."""

    OK = 0
    #: A verdict or the gate policy failed (for example a claim is UNGUARDED).
    POLICY_FAILURE = 1
    #: Bad input: manifest, git ref, scenario name, binding, flag. One line, no traceback.
    USER_ERROR = 2
    #: A bug in the harness. The message says where the logs are.
    INTERNAL = 3
    #: Interrupted (Ctrl-C), as a shell reports SIGINT: 128 + 2.
    INTERRUPTED = 130


class RunOutcome(StrEnum):
    """What one pytest (or scenario) run ended as. Never collapsed into pass/fail early."""

    PASSED = "passed"
    FAILED = "failed"
    #: The tests could not be collected (for example they import a name the fix adds).
    NOT_COLLECTED = "not_collected"
    #: pytest's own internal error (exit code 3) or a usage error (4).
    INTERNAL_ERROR = "internal_error"
    TIMED_OUT = "timed_out"
    #: pytest ran but selected nothing (exit code 5).
    NO_TESTS = "no_tests"
    #: A scenario's target did not start (the generated test exits with TARGET_EXIT_CODE).
    TARGET_ERROR = "target_error"
    #: pytest started but never finished, and no test had failed: the process exited in the
    #: middle (`os._exit` or a signal in a test, a crash in native code). Never a pass.
    CRASHED = "crashed"


#: Exit code a generated scenario test uses when its target fails to start.
TARGET_EXIT_CODE = 97


class MutantStatus(StrEnum):
    KILLED = "killed"
    #: Killed because the tests hung past the mutant's timeout.
    TIMEOUT = "timeout"
    SURVIVED = "survived"
    #: No selected test reaches the mutant's lines.
    NO_COVERAGE = "no_coverage"
    #: The mutated source does not compile or import.
    INVALID = "invalid"
    PENDING = "pending"
    #: Skipped by configuration (arid code, filters).
    SKIPPED = "skipped"

    @property
    def is_detected(self) -> bool:
        return self in (MutantStatus.KILLED, MutantStatus.TIMEOUT)


class Verdict(StrEnum):
    """The per-claim outcome; the rule is in harness.verify.verdict, explained in the README
    ("Reverting mutants and weak spots")."""

    VERIFIED = "VERIFIED"
    UNGUARDED = "UNGUARDED"
    NOT_REPRODUCED = "NOT_REPRODUCED"
    STILL_FAILING = "STILL_FAILING"
    FLAKY = "FLAKY"
    NO_MUTANTS = "NO_MUTANTS"
    ERROR = "ERROR"

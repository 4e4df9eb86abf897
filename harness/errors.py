"""The error hierarchy: whose fault a failure is decides the exit code and the message."""

from __future__ import annotations

from .outcomes import ExitCode


class HarnessError(Exception):
    """Base of every error the harness raises on purpose."""

    exit_code: ExitCode = ExitCode.INTERNAL

    def __init__(self, message: str, *, where: str | None = None, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.where = where
        self.hint = hint

    def one_line(self) -> str:
        """Render as `where: message (hint)`, the single line the CLI prints."""
        text = f"{self.where}: {self.message}" if self.where else self.message
        if self.hint:
            text += f" ({self.hint})"
        return text


class UserError(HarnessError):
    """The input was wrong: a manifest field, a git ref, a binding, a flag. Exit 2."""

    exit_code = ExitCode.USER_ERROR


class TargetError(HarnessError):
    """The system under test failed: it did not start, or its baseline tests fail."""

    exit_code = ExitCode.USER_ERROR

    def __init__(
        self,
        message: str,
        *,
        where: str | None = None,
        hint: str | None = None,
        log_tail: str = "",
    ):
        super().__init__(message, where=where, hint=hint)
        self.log_tail = log_tail

    def __str__(self) -> str:
        if not self.log_tail:
            return self.message
        return f"{self.message}\n--- log tail ---\n{self.log_tail}"


class InternalError(HarnessError):
    """A bug in the harness itself. Please report it with the logs it names. Exit 3."""

    exit_code = ExitCode.INTERNAL

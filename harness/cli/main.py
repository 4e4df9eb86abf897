"""The `harness` command: parses arguments, calls the library, maps errors to exit codes."""

from __future__ import annotations

import logging
import signal
import sys
import threading
import traceback
from collections.abc import Sequence
from types import FrameType
from typing import Any

import click
from rich.console import Console
from rich.markup import escape

from .. import __version__, testrun
from ..errors import HarnessError
from ..outcomes import ExitCode
from .options import EXIT_CODES_HELP

err_console = Console(stderr=True, highlight=False)


@click.group(
    help=f"Verify claimed fixes before merge.\n\n{EXIT_CODES_HELP}",
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="harness")
@click.option(
    "-v",
    "--verbose",
    count=True,
    help="Log what the engine decides to stderr: -v each run, stage and fallback, -vv also "
    "every git command, pytest run and mutant.",
)
def cli(verbose: int) -> None:
    configure_logging(verbose)


class _CurrentStderr(logging.StreamHandler):
    """Writes to whatever sys.stderr is at each record: while rich draws the progress display
    it swaps sys.stderr for a proxy that prints above it, and the log lines must go there."""

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass


def configure_logging(verbose: int) -> None:
    """The `harness` loggers to stderr, at INFO for -v and DEBUG for -vv; quiet otherwise.

    The library itself only logs (`logging.getLogger(__name__)`); a program that imports it
    sets up its own handlers.
    """
    logger = logging.getLogger("harness")
    for handler in [h for h in logger.handlers if getattr(h, "_fixguard", False)]:
        logger.removeHandler(handler)
    if verbose <= 0:
        logger.setLevel(logging.WARNING)
        return
    # One plain line per record, never wrapped: a log is for grep.
    handler = _CurrentStderr()
    handler._fixguard = True  # type: ignore[attr-defined]
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S")
    )
    logger.addHandler(handler)
    logger.setLevel(logging.INFO if verbose == 1 else logging.DEBUG)


def _register_commands() -> None:
    # Each command lives in its own module; registration order is the order in --help.
    from . import commands

    for command in commands.all_commands():
        cli.add_command(command)


def _on_sigint(signum: int, frame: FrameType | None) -> None:
    # Test processes run in their own sessions and never see this Ctrl-C: stop them now, so
    # the command does not wait for the test that is running.
    testrun.interrupt_all()
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point for the console script; returns (and exits with) an ExitCode."""
    _register_commands()
    testrun.reset_interrupt()
    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, _on_sigint) if in_main_thread else None
    try:
        result = cli.main(args=list(argv) if argv is not None else None, standalone_mode=False)
    except HarnessError as exc:
        # Escaped: messages quote manifest syntax such as [targets.NAME], which is not markup.
        err_console.print(f"[bold red]error:[/] {escape(exc.one_line())}", soft_wrap=True)
        code = int(exc.exit_code)
        if exc.exit_code == ExitCode.INTERNAL:
            err_console.print(
                "This is a bug in the harness; please report it with the output above."
            )
    except click.exceptions.Abort:
        err_console.print("aborted")
        code = int(ExitCode.INTERRUPTED)
    except click.ClickException as exc:
        exc.show()
        code = int(ExitCode.USER_ERROR)
    except click.exceptions.Exit as exc:
        code = exc.exit_code
    except KeyboardInterrupt:
        err_console.print("interrupted")
        code = int(ExitCode.INTERRUPTED)
    except Exception:
        traceback.print_exc()
        err_console.print(
            "[bold red]internal error[/]: this is a bug in the harness; please report it."
        )
        code = int(ExitCode.INTERNAL)
    else:
        code = int(result) if isinstance(result, int) else 0
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
    if argv is None:
        sys.exit(code)
    return code

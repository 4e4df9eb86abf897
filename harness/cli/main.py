"""The `harness` command: parses arguments, calls the library, maps errors to exit codes."""

from __future__ import annotations

import sys
import traceback
from collections.abc import Sequence

import click
from rich.console import Console
from rich.markup import escape

from .. import __version__
from ..errors import HarnessError
from ..outcomes import ExitCode

err_console = Console(stderr=True, highlight=False)

EXIT_CODES_HELP = """\b
Exit codes:
  0  every claim passed the policy
  1  a verdict or the gate policy failed
  2  user error: bad manifest, bad ref, unknown scenario (one line, no traceback)
  3  internal error in the harness (please report it)"""


@click.group(
    help=f"Verify claimed fixes before merge.\n\n{EXIT_CODES_HELP}",
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="harness")
def cli() -> None:
    pass


def _register_commands() -> None:
    # Each command lives in its own module; registration order is the order in --help.
    from . import commands

    for command in commands.all_commands():
        cli.add_command(command)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point for the console script; returns (and exits with) an ExitCode."""
    _register_commands()
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
        code = 130
    except click.ClickException as exc:
        exc.show()
        code = int(ExitCode.USER_ERROR)
    except click.exceptions.Exit as exc:
        code = exc.exit_code
    except KeyboardInterrupt:
        err_console.print("interrupted")
        code = 130
    except Exception:
        traceback.print_exc()
        err_console.print(
            "[bold red]internal error[/]: this is a bug in the harness; please report it."
        )
        code = int(ExitCode.INTERNAL)
    else:
        code = int(result) if isinstance(result, int) else 0
    if argv is None:
        sys.exit(code)
    return code

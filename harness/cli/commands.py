"""The list of implemented subcommands, in --help order. Add one line per new command module."""

from __future__ import annotations

import click


def all_commands() -> list[click.Command]:
    commands: list[click.Command] = []
    return commands

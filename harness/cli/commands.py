"""The list of implemented subcommands, in --help order. Add one line per new command module."""

from __future__ import annotations

from importlib import import_module

import click

#: (module, attribute) of each command, imported only when the CLI starts.
COMMANDS: list[tuple[str, str]] = [
    ("harness.cli.demo_cmd", "demo_command"),
    ("harness.cli.verify_cmd", "verify_command"),
    ("harness.cli.gate_cmd", "gate_command"),
    ("harness.cli.merge_cmd", "merge_command"),
    ("harness.cli.claims_cmd", "claims_group"),
    ("harness.cli.report_cmd", "report_command"),
    ("harness.cli.sample_cmd", "sample_command"),
    ("harness.cli.mutate_cmd", "mutate"),
]


def all_commands() -> list[click.Command]:
    return [getattr(import_module(module), attr) for module, attr in COMMANDS]

"""Parser pieces the command groups share, so that each option is spelt once: every command's
--config, --storage, --database and --log-level, and --output, --json and --format.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    Subparsers = argparse._SubParsersAction[argparse.ArgumentParser]

Command = Callable[[argparse.Namespace], int]

# A group's commands in the order `--help` lists them: name -> (function, help, description).
Commands = dict[str, tuple[Command, str, str]]


def add_commands(sub: Subparsers, commands: Commands) -> dict[str, argparse.ArgumentParser]:
    """Add each command (or `feeds` action) with the options every command takes; the parsers
    are returned by name so that each command can add its own options."""
    parsers = {}
    for name, (func, help, description) in commands.items():
        parser = sub.add_parser(name, help=help, description=description)
        parser.add_argument(
            "--config", default=None, help="path to feeds.yaml (default ./feeds.yaml)"
        )
        parser.add_argument(
            "--storage",
            default=None,
            help="data directory (default: settings.storage, else ./storage)",
        )
        parser.add_argument(
            "--database",
            default=None,
            metavar="URL",
            help="postgresql://USER@HOST:PORT/DB (default: settings.database, else env "
            "AGGREGATOR_DATABASE, else SQLite in the storage directory)",
        )
        parser.add_argument("--log-level", default=None, help="debug, info, warning or error")
        parser.set_defaults(func=func)
        parsers[name] = parser
    return parsers


def add_group(
    sub: Subparsers, name: str, help: str, description: str, actions: Commands
) -> dict[str, argparse.ArgumentParser]:
    """A command with ACTIONs of its own (`feeds add`, `stories split`); their parsers by name."""
    group = sub.add_parser(name, help=help, description=description)
    nested = group.add_subparsers(dest=f"{name}_command", required=True, metavar="ACTION")
    return add_commands(nested, actions)


def add_output(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--output", "-o", default=None, help="write to this file instead of stdout")


def add_json(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def add_format(parser: argparse.ArgumentParser, help: str) -> None:
    """--format: one of the digest renderings (text, markdown, json, html, atom, ...)."""
    from aggregator.read import FORMATS

    parser.add_argument("--format", "-f", choices=FORMATS, default="text", help=help)

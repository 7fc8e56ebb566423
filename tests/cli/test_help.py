"""The parser stays in step with its help texts and with the README's command list.

Each command group adds its own parsers (cli/run.py, read.py, feeds.py); these tests walk the
whole tree, so a command, action or option added without help, or left out of the README's
"Commands" section, fails here.
"""

from __future__ import annotations

import argparse
import re
import shlex
from collections.abc import Iterator
from pathlib import Path

import pytest

from aggregator.cli.main import build_parser

README = Path(__file__).resolve().parents[2] / "README.md"


def _subcommands(parser: argparse.ArgumentParser) -> argparse._SubParsersAction | None:
    found = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return found[0] if found else None


def _walk(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    """Every parser in the tree with the words that reach it (the top one has none)."""
    yield path, parser
    sub = _subcommands(parser)
    if sub is not None:
        for name, child in sub.choices.items():
            yield from _walk(child, (*path, name))


def _leaves() -> dict[tuple[str, ...], argparse.ArgumentParser]:
    """The commands that run something: `run`, `feeds add`, ... (not `feeds` itself)."""
    return {path: p for path, p in _walk(build_parser()) if path and _subcommands(p) is None}


def test_every_command_and_action_has_help_and_description() -> None:
    for path, parser in _walk(build_parser()):
        sub = _subcommands(parser)
        if sub is None:
            continue
        listed = {choice.dest: choice.help for choice in sub._choices_actions}
        assert set(listed) == set(sub.choices), path
        for name, text in listed.items():
            assert text and text.strip(), f"`aggregator {' '.join((*path, name))}` has no help"
            assert sub.choices[name].description, f"`{' '.join((*path, name))}` no description"


def test_every_option_and_argument_has_help() -> None:
    for path, parser in _walk(build_parser()):
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                continue
            name = "/".join(action.option_strings) or action.dest
            assert action.help and action.help != argparse.SUPPRESS, (
                f"`aggregator {' '.join(path)}` {name} has no help"
            )


@pytest.mark.parametrize("path", [(), *sorted(_leaves())], ids=lambda p: " ".join(p) or "top")
def test_help_prints_and_exits_zero(
    path: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args([*path, "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: aggregator {' '.join(path)}".rstrip())


def test_every_command_takes_config_and_storage() -> None:
    # README: "All commands take `--config PATH`, `--storage DIR` and `--database URL`"
    for path in _leaves():
        args = _parse_or_fail(
            [*path, "--config", "c.yaml", "--storage", "s", "--database", "d", *_required(path)]
        )
        assert (args.config, args.storage, args.database) == ("c.yaml", "s", "d"), path


def _required(path: tuple[str, ...]) -> list[str]:
    """A value for each positional argument the command needs."""
    parser = _leaves()[path]
    return [
        "x"
        for a in parser._actions
        if not a.option_strings and a.nargs not in ("*", "?", argparse.SUPPRESS)
    ]


def _parse_or_fail(argv: list[str]) -> argparse.Namespace:
    try:
        return build_parser().parse_args(argv)
    except SystemExit:
        pytest.fail(f"`aggregator {shlex.join(argv)}` does not parse")


def _readme_examples() -> list[list[str]]:
    """The `aggregator ...` lines of the README's "Commands" block, without comments,
    redirections and [optional] placeholders."""
    text = README.read_text(encoding="utf-8")
    section = text.split("\n## Commands\n", 1)[1].split("\n## ", 1)[0]
    block = section.split("```sh\n", 1)[1].split("```", 1)[0]
    examples = []
    for line in block.splitlines():
        if not line.startswith("aggregator "):
            continue
        line = re.sub(r"\[[^\]]*\]", "", line.split("#", 1)[0]).split(">", 1)[0]
        examples.append(shlex.split(line)[1:])
    return examples


def test_readme_lists_every_command_and_action() -> None:
    examples = _readme_examples()
    leaves = set(_leaves())
    listed = {path for path in leaves if any(tuple(e[: len(path)]) == path for e in examples)}
    assert listed == leaves, f"not in README's Commands: {sorted(leaves - listed)}"
    unknown = [e for e in examples if not any(tuple(e[: len(p)]) == p for p in leaves)]
    assert not unknown, f"README lists commands the parser lacks: {unknown}"


def test_readme_examples_parse() -> None:
    for argv in _readme_examples():
        _parse_or_fail(argv)

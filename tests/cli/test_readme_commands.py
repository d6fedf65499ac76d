"""Every `qts …` example in README.md names a real command and only options that command has.

Examples come from fenced code blocks (real command lines, parsed in full by the command's own
click parser) and from inline code in the command table (usage patterns: the command path must
exist and every `--option` they mention must belong to it).
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import typer
import typer.core

from qts.cli.main import app

README = Path(__file__).resolve().parents[2] / "README.md"
ROOT_COMMAND = typer.main.get_command(app)
QTS_PREFIX = re.compile(r"(?:^|\s)(?:\.venv/bin/)?qts\s+(.*)$")


def _fenced_lines(text: str) -> list[str]:
    lines: list[str] = []
    for block in re.findall(r"```(?:bash|sh)\n(.*?)```", text, flags=re.S):
        for raw in block.replace("\\\n", " ").splitlines():
            line = raw.split(" #", 1)[0].strip()
            match = QTS_PREFIX.search(line)
            if match:
                lines.append(match.group(1).strip())
    return lines


def _inline_examples(text: str) -> list[str]:
    outside_fences = re.sub(r"```.*?```", "", text, flags=re.S)
    spans = re.findall(r"`((?:\.venv/bin/)?qts [^`]+)`", outside_fences)
    return [QTS_PREFIX.search(" " + span.replace("\\|", "|")).group(1).strip() for span in spans]  # type: ignore[union-attr]


def _resolve(
    words: list[str],
) -> tuple[typer.core.TyperCommand | typer.core.TyperGroup, list[str], list[str]]:
    """Walk sub-commands; return the command, its path and the remaining words."""
    command: typer.core.TyperCommand | typer.core.TyperGroup = ROOT_COMMAND
    path: list[str] = []
    rest = list(words)
    while _is_group(command) and rest and not rest[0].startswith("-"):
        name = rest[0].split("|")[0]
        sub = command.get_command(typer.Context(command), name)
        if sub is None:
            raise AssertionError(f"`qts {' '.join([*path, name])}` is not a command")
        command, path, rest = sub, [*path, name], rest[1:]
    return command, path, rest


def _is_group(command: object) -> bool:
    return hasattr(command, "list_commands")


def _option_names(command: typer.core.TyperCommand | typer.core.TyperGroup) -> set[str]:
    names = {"--help"}
    for param in command.params:
        if param.opts[0].startswith("-"):
            names.update(param.opts)
            names.update(param.secondary_opts)
    return names


def test_readme_has_examples_to_check() -> None:
    text = README.read_text()
    assert len(_fenced_lines(text)) >= 5
    assert len(_inline_examples(text)) >= 15


@pytest.mark.parametrize("line", _fenced_lines(README.read_text()))
def test_fenced_readme_command_parses(line: str) -> None:
    words = shlex.split(re.sub(r"\$\([^)]*\)", "X", line))
    command, path, rest = _resolve(words)
    if _is_group(command):
        assert not rest, f"`qts {line}`: {path} needs a sub-command"
        return
    # Parse with the command's own parser: an unknown option or a missing argument fails here.
    command.make_context(" ".join(["qts", *path]), rest)


@pytest.mark.parametrize("example", _inline_examples(README.read_text()))
def test_inline_readme_command_names_real_options(example: str) -> None:
    words = re.split(r"[\s\[\]()]+", example)
    command, _path, rest = _resolve([w for w in words if w and w != "..."])
    known = _option_names(command)
    for group in (_option_names(c) for c in _subcommands(command)):
        known |= group
    mentioned = {w.split("=")[0] for w in rest if w.startswith("-") and w not in ("-", "--")}
    for option in mentioned:
        for alternative in option.split("|"):
            assert alternative in known, f"`qts {example}`: {alternative} is not an option"


def _subcommands(
    command: typer.core.TyperCommand | typer.core.TyperGroup,
) -> list[typer.core.TyperCommand | typer.core.TyperGroup]:
    if not _is_group(command):
        return []
    ctx = typer.Context(command)
    return [c for name in command.list_commands(ctx) if (c := command.get_command(ctx, name))]


def test_checker_catches_an_unknown_option() -> None:
    with pytest.raises(AssertionError, match="--walk-forward"):
        test_inline_readme_command_names_real_options("optimize --strategy S --walk-forward")
    with pytest.raises(Exception, match="No such option"):
        test_fenced_readme_command_parses("backtest --strategy sma_cross --no-such-option 1")
    with pytest.raises(AssertionError, match="not a command"):
        test_inline_readme_command_names_real_options("no-such-command --x")

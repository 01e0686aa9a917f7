"""The parser of the command being run alone (``_parser(only=...)``) parses as the whole command
line does and prints the same usage; --help, --version and unknown commands get the whole one."""

from __future__ import annotations

import argparse
import contextlib
import io

import pytest

from mcp_push.cli import COMMANDS, _parser, named_command, with_default_command

COMMAND_LINES = [
    ["hook"],
    ["hook", '{"type": "agent-turn-complete"}'],
    ["-v", "hook"],
    ["send", "Deploy", "done", "--event", "end", "--run-id", "r-1", "--wait", "--json", "-v"],
    ["send", "t", "-", "--channel", "ntfy", "--channel", "telegram:2", "--priority", "high"],
    ["ask", "Ship it?", "--choice", "Yes", "--choice", "No", "--wait", "0"],
    ["status", "r-1", "--wait", "5"],
    ["channels", "--json"],
    ["serve", "--transport", "http", "--port", "9000"],
    ["worker", "--drain"],
    ["setup", "codex", "--dry-run"],
    ["retry", "--failed", "--since", "2h"],
    ["purge", "--older-than", "30d"],
]


def test_commands_are_listed_in_the_order_the_parser_declares_them() -> None:
    (sub,) = (a for a in _parser()._actions if isinstance(a, argparse._SubParsersAction))
    assert tuple(sub.choices) == tuple(COMMANDS)


@pytest.mark.parametrize("argv", COMMAND_LINES, ids=" ".join)
def test_the_parser_of_one_command_parses_as_the_whole_one(argv: list[str]) -> None:
    only = named_command(argv)
    assert only == argv[argv[0] == "-v"]
    assert vars(_parser(only=only).parse_args(argv)) == vars(_parser().parse_args(argv))


@pytest.mark.parametrize("argv", [["hook", "--bogus"], ["-x", "hook"], ["send", "only-a-title"]], ids=" ".join)
def test_an_error_reads_the_same(argv: list[str]) -> None:
    def error(parser: argparse.ArgumentParser) -> str:
        out = io.StringIO()
        with contextlib.redirect_stderr(out), pytest.raises(SystemExit):
            parser.parse_args(argv)
        return out.getvalue()

    assert error(_parser(only="hook" if "hook" in argv else "send")) == error(_parser())


def test_usage_and_command_help_are_the_same() -> None:
    assert _parser(only="hook").format_usage() == _parser().format_usage()
    for name in COMMANDS:
        with contextlib.redirect_stdout(io.StringIO()) as alone, pytest.raises(SystemExit):
            _parser(only=name).parse_args([name, "--help"])
        with contextlib.redirect_stdout(io.StringIO()) as whole, pytest.raises(SystemExit):
            _parser().parse_args([name, "--help"])
        assert alone.getvalue() == whole.getvalue()


@pytest.mark.parametrize(
    "argv", [[], ["--help"], ["hook", "--help"], ["-h"], ["--version"], ["frob"], ["--verb", "hook"]], ids=" ".join
)
def test_help_version_and_unknown_commands_get_the_whole_parser(argv: list[str]) -> None:
    assert named_command(argv) is None


def test_serve_implied_by_its_options_is_the_command() -> None:
    assert named_command(with_default_command(["--transport", "http"])) == "serve"
    assert named_command(with_default_command([])) == "serve"

"""Issue 12 point 5: help that teaches, ``--version``, no abbreviations, the right usage."""

from __future__ import annotations

import argparse

from orq_async import __version__
from orq_async.cli._main import build_parser

from ._support import run


def _parsers(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    found = [parser]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                found += _parsers(sub)
    return found


def test_every_flag_of_every_command_has_help_and_no_markup() -> None:
    for parser in _parsers(build_parser()):
        assert parser.allow_abbrev is False, parser.prog
        assert "``" not in (parser.description or ""), parser.prog
        for action in parser._actions:
            if action.option_strings:
                assert action.help, (parser.prog, action.option_strings)


def test_each_command_has_three_worked_examples() -> None:
    for command in (["images", "edit"], ["images", "edit-batch"], []):
        proc = run(*command, "--help")
        assert proc.returncode == 0, proc.stderr
        examples = proc.stdout.split("examples:", 1)[1]
        assert examples.count("orq-async ") >= 3, command


def test_edit_help_names_the_fields_and_the_environment() -> None:
    text = run("images", "edit", "--help").stdout
    for words in ("repeat for up to 16", "ORQ_API_KEY", "ORQ_SERVER_URL", "field: retry.count",
                  "field: fallbacks", "<input>-edited.<ext>", "--api-key-file"):  # fmt: skip
        assert words in " ".join(text.split()), words


def test_no_arguments_prints_help() -> None:
    proc = run()
    assert proc.returncode == 2
    assert proc.stderr.startswith("usage: orq-async")
    assert "images" in proc.stderr
    assert "required" not in proc.stderr


def test_version() -> None:
    proc = run("--version")
    assert (proc.returncode, proc.stdout) == (0, f"orq-async {__version__}\n")


def test_an_abbreviated_or_unknown_flag_shows_the_subcommands_usage() -> None:
    proc = run("images", "edit", "--imag", "x.png", "--model", "m", "--prompt", "p")
    assert proc.returncode == 2
    assert proc.stderr.startswith("usage: orq-async images edit")
    assert proc.stderr.endswith("error: unrecognized arguments: --imag\n")
    proc = run("images", "edit", "--image", "x.png", "--model", "m", "--prompt", "p", "--bogus")
    assert proc.stderr.startswith("usage: orq-async images edit")
    assert "unrecognized arguments: --bogus" in proc.stderr

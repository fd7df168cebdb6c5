"""The top-level parser and ``main``: dispatch, help, exit codes."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import NoReturn

from orq_async import __version__
from orq_async.cli._output import EXIT_INTERRUPTED, EXIT_USAGE, PROG, print_warnings_as_lines
from orq_async.cli.batch import add_batch_parser
from orq_async.cli.edit import add_edit_parser
from orq_async.cli.emulator import add_emulator_parser

__all__ = ["build_parser", "main"]

DESCRIPTION = """\
Image edits through the orq.ai gateway from the shell, and a local emulator of the gateway.

Environment: ORQ_API_KEY (the key), ORQ_SERVER_URL (the gateway, default https://my.orq.ai).
Exit codes: 0 done, 1 API or network error, 2 usage or input error, 130 interrupted."""

EXAMPLES = """\
examples:
  orq-async images edit --emulator --model local/invert --prompt "Invert" \\
      --image examples/mug.png --out out/
  orq-async images edit-batch photos/ --prompt "Remove the background" \\
      --model openai/gpt-image-1 --out edited/ --concurrency 8
  orq-async emulator serve --port 8080 --api-key test-key

'orq-async COMMAND --help' shows a command's flags."""


class _Parser(argparse.ArgumentParser):
    """Reports a mistyped flag as such, even when required flags are missing too."""

    _given: Sequence[str] = ()

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        self._given = list(sys.argv[1:] if args is None else args)
        if namespace is None:
            return super().parse_known_args(self._given)
        return super().parse_known_args(self._given, namespace)

    def error(self, message: str) -> NoReturn:
        unknown = [
            token
            for token in self._given
            if token.startswith("-")
            and not token[1:2].isdigit()  # a negative number is a value
            and token.split("=", 1)[0] not in self._option_string_actions
        ]
        if unknown and not message.startswith("unrecognized"):
            message = f"unrecognized arguments: {' '.join(unknown)}"
        super().error(message)


def build_parser() -> argparse.ArgumentParser:
    """The whole command line: ``images edit``, ``images edit-batch``, ``emulator serve``."""
    parser = _Parser(
        prog=PROG,
        description=DESCRIPTION,
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    parser.set_defaults(command_parser=parser)
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")
    images = commands.add_parser(
        "images", help="image edits", description="Image edits.", allow_abbrev=False
    )
    images.set_defaults(command_parser=images)
    operations = images.add_subparsers(title="commands", metavar="COMMAND")
    add_edit_parser(operations)
    add_batch_parser(operations)
    add_emulator_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; returns the exit code."""
    print_warnings_as_lines()
    try:
        parser = build_parser()
        args, unknown = parser.parse_known_args(argv)
        command: argparse.ArgumentParser = args.command_parser
        if unknown:
            command.error(f"unrecognized arguments: {' '.join(unknown)}")
        if "run" not in vars(args):  # a group without its command: show what it offers
            command.print_help(sys.stderr)
            return EXIT_USAGE
        code: int = args.run(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr, flush=True)
        return EXIT_INTERRUPTED
    return code

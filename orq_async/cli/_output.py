"""What the command prints: one-line errors and notes, JSON mode, exit codes, warnings."""

from __future__ import annotations

import json
import sys
import warnings
from collections.abc import Coroutine
from typing import Any, TextIO

from orq_async.errors import (
    APIError,
    InvalidRequestError,
    OrqError,
    ResponseValidationError,
    SDKValidationError,
)

__all__ = [
    "EXIT_API",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_USAGE",
    "CliError",
    "Output",
    "error_json",
    "exit_code",
    "guarded",
    "print_warnings_as_lines",
]

EXIT_OK, EXIT_API, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
PROG = "orq-async"


class CliError(Exception):
    """A failure the command reports in one line; ``code`` is the exit code (2 by default)."""

    def __init__(self, message: str, code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def exit_code(error: BaseException) -> int:
    """2 for usage and input errors, 1 for API and network errors."""
    if isinstance(error, CliError):
        return error.code
    if isinstance(error, SDKValidationError | InvalidRequestError | OSError):
        return EXIT_USAGE
    return EXIT_API


def error_json(error: BaseException) -> dict[str, Any]:
    """``{"type", "message", "status_code", "request_id"}`` of an error."""
    status = error.status_code if isinstance(error, APIError | ResponseValidationError) else None
    message = error.message if isinstance(error, OrqError | CliError) else str(error)
    return {
        "type": type(error).__name__,
        "message": message,
        "status_code": status,
        "request_id": error.request_id if isinstance(error, APIError) else None,
    }


class Output:
    """Prints results on stdout (text or ``--json``) and everything else on stderr.

    Args:
        json_mode: print one JSON object on stdout, for success and failure alike.
        quiet: no progress, spinner or retry lines (errors are still printed).
        stderr: where notes and errors go.
    """

    def __init__(self, *, json_mode: bool, quiet: bool, stderr: TextIO | None = None) -> None:
        self.json_mode = json_mode
        self.stderr = stderr or sys.stderr
        self.interactive = not quiet and self.stderr.isatty()

    def line(self, text: str) -> None:
        """A line of the text result (stdout; nothing in JSON mode)."""
        if not self.json_mode:
            print(text, flush=True)

    def note(self, text: str) -> None:
        """A one-line note on stderr, e.g. a corrected file name or where a response was kept."""
        print(f"{PROG}: {text}", file=self.stderr, flush=True)

    def result(self, summary: dict[str, Any], *, ok: bool = True) -> None:
        """The JSON result of a run (JSON mode only): ``{"ok": ok, **summary}``."""
        if self.json_mode:
            print(json.dumps({"ok": ok, **summary}), flush=True)

    def fail(self, error: BaseException, extra: dict[str, Any] | None = None) -> int:
        """Report ``error`` (one stderr line, and a JSON object in JSON mode); return the code."""
        message = error.message if isinstance(error, OrqError | CliError) else str(error)
        print(f"{PROG}: error: {' '.join(message.split())}", file=self.stderr, flush=True)
        if self.json_mode:
            print(json.dumps({"ok": False, "error": error_json(error), **(extra or {})}))
        return exit_code(error)


def print_warnings_as_lines(stream: TextIO | None = None) -> None:
    """Show every warning as one ``orq-async: warning: ...`` line, without source lines."""

    def show(
        message: Warning | str,
        category: type[Warning],
        filename: str,
        lineno: int,
        file: TextIO | None = None,
        line: str | None = None,
    ) -> None:
        print(f"{PROG}: warning: {message}", file=stream or sys.stderr, flush=True)

    warnings.showwarning = show


async def guarded(command: Coroutine[Any, Any, int], output: Output) -> int:
    """Run ``command``, reporting the errors it raises in one line (JSON too) as exit codes."""
    try:
        return await command
    except (CliError, OrqError, OSError) as exc:
        return output.fail(exc)

"""Running a command's coroutine with Ctrl-C handled the way a shell user expects.

The first Ctrl-C either asks the command to stop gracefully (when it offers ``stop``, as the
batch command does: no new calls, let the ones in flight finish) or cancels it. Once cancelled,
the command gets :data:`GRACE` seconds to clean up (a paid result that already arrived is kept,
see ``edit``); after that the process ends anyway, so a slow server handler (the in-process
emulator's) never holds the terminal. Either way it prints one line, ``interrupted``, and
exits 130, without a traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Callable, Coroutine
from typing import Any

from orq_async.cli._output import EXIT_INTERRUPTED, PROG

__all__ = ["GRACE", "run"]

#: Seconds a cancelled command has to finish its clean-up before the process exits anyway.
GRACE = 0.25


def _say(text: str) -> None:
    """A line on stderr, over a status line (spinner, progress bar) if one is shown."""
    erase = "\r\x1b[K" if sys.stderr.isatty() else ""
    print(f"{erase}{text}", file=sys.stderr, flush=True)


def _interrupted() -> int:
    _say("interrupted")
    return EXIT_INTERRUPTED


def _hard_exit() -> None:
    with contextlib.suppress(Exception):
        sys.stdout.flush()
    _interrupted()
    os._exit(EXIT_INTERRUPTED)


def run(main: Coroutine[Any, Any, int], *, stop: Callable[[], str | None] | None = None) -> int:
    """Run ``main`` in a new event loop and return its exit code (130 when interrupted).

    Args:
        main: the command.
        stop: called on the first Ctrl-C; it returns a line to print when it stops the command
            gracefully, or None to have the command cancelled at once.
    """
    loop = asyncio.new_event_loop()
    task = loop.create_task(main)
    presses = 0

    def on_sigint() -> None:
        nonlocal presses
        presses += 1
        if presses == 1 and stop is not None:
            said = stop()
            if said is not None:
                _say(f"{PROG}: {said}")
                return
        if not task.cancelled():
            task.cancel()
            loop.call_later(GRACE, _hard_exit)

    with contextlib.suppress(NotImplementedError, RuntimeError):  # Windows, not main thread
        loop.add_signal_handler(signal.SIGINT, on_sigint)
    try:
        code = loop.run_until_complete(task)
        if code == EXIT_INTERRUPTED:  # stopped gracefully by the first Ctrl-C
            _interrupted()
    except (asyncio.CancelledError, KeyboardInterrupt):
        code = _interrupted()
    finally:
        _close(loop)
    if code == EXIT_INTERRUPTED:
        # The command is over. Interpreter shutdown would still finalise what the cancelled
        # work left behind (an in-process emulator's sockets), and some finalisers print
        # errors then (seen on CPython 3.13.0): leave at once, so "interrupted" stays the
        # only line. Everything the command wrote was flushed (and the journal fsynced).
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(EXIT_INTERRUPTED)
    return code


def _close(loop: asyncio.AbstractEventLoop) -> None:
    try:
        pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
        for leftover in pending:
            leftover.cancel()
        if pending:
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.run_until_complete(loop.shutdown_default_executor())
    finally:
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.remove_signal_handler(signal.SIGINT)
        loop.close()

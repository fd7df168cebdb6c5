"""Where calls go and with which key: the checks made before anything is sent, and the core.

The API key comes from ``ORQ_API_KEY`` or ``--api-key-file PATH`` (``-`` reads stdin), never
from a flag value that would land in the shell's history. Without a key, only the emulator and
loopback servers are called: a real gateway would answer 401 after the whole upload.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import AsyncGenerator, MutableMapping
from contextlib import asynccontextmanager
from pathlib import Path
from types import SimpleNamespace

import aiohttp
from yarl import URL

from orq_async._guards import is_loopback
from orq_async.cli._output import CliError
from orq_async.cli._terminal import StatusLine
from orq_async.core import DEFAULT_SERVER_URL, OrqCore
from orq_async.hooks import HookContext, Hooks
from orq_async.retries import SAFE_DEFAULT
from orq_async.throttle import Throttle

__all__ = ["is_loopback", "open_core", "read_api_key", "server_url"]


def server_url(args: argparse.Namespace) -> str:
    """The base URL chosen by the flags, checked (a bad one is a usage error)."""
    raw = args.server_url or os.environ.get("ORQ_SERVER_URL") or DEFAULT_SERVER_URL
    try:
        url = URL(raw)
    except (TypeError, ValueError) as exc:
        raise CliError(f"--server-url {raw!r} is not a URL: {exc}") from None
    if url.scheme not in ("http", "https") or not url.host:
        raise CliError(f"--server-url must be an absolute http(s) URL, got {raw!r}")
    return raw


def read_api_key(path: str | None) -> str | None:
    """The key from ``--api-key-file`` (``-`` is stdin), else ``ORQ_API_KEY``, else None."""
    if path is None:
        return os.environ.get("ORQ_API_KEY") or None
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise CliError(f"--api-key-file: cannot read {path}: {exc}") from None
    key = text.strip()
    if not key or "\n" in key:
        raise CliError(f"--api-key-file: {path} must hold the key on one line")
    return key


class _RetryLines:
    """Prints ``rate limited; retrying in 1.0 s, attempt 2/4`` before each client retry."""

    def __init__(self, status: StatusLine, max_attempts: int) -> None:
        self.status = status
        self.max_attempts = max_attempts
        self.attempt = 0
        self.last_status: int | None = None

    def before_request(self, ctx: HookContext, headers: MutableMapping[str, str]) -> None:
        self.attempt = ctx.attempt
        self.last_status = None

    async def on_request_end(
        self,
        session: aiohttp.ClientSession,
        ctx: SimpleNamespace,
        params: aiohttp.TraceRequestEndParams,
    ) -> None:
        self.last_status = params.response.status

    async def sleep(self, seconds: float) -> None:
        code = self.last_status
        if code == 429:
            why = "rate limited"
        elif code is not None:
            why = f"HTTP {code}"
        else:
            why = "connection failed"
        self.status.print(
            f"{why}; retrying in {seconds:.1f} s, attempt {self.attempt + 1}/{self.max_attempts}"
        )
        self.status.waiting("waiting to retry")
        await asyncio.sleep(seconds)
        self.status.waiting("waiting for the model")


@asynccontextmanager
async def open_core(
    args: argparse.Namespace,
    status: StatusLine,
    *,
    retry_lines: bool = True,
    adaptive_limit: int | None = None,
) -> AsyncGenerator[OrqCore, None]:
    """An open core for the flags, after the key and URL checks; starts ``--emulator``.

    Args:
        args: the parsed flags.
        status: the terminal's status line.
        retry_lines: print a line before each client retry (for one call at a time).
        adaptive_limit: adapt the calls in flight to the server's pace, up to this many.
    """
    # Its own throttle: the core's default one would sleep through ``sleep=``, which prints
    # retry lines, and a cooldown wait is not a retry.
    if adaptive_limit is None:
        throttle = Throttle()
    else:
        throttle = Throttle(adaptive=True, max_limit=adaptive_limit)
    key = read_api_key(args.api_key_file)
    if args.emulator:
        if args.server_url:
            raise CliError("--emulator and --server-url exclude each other")
        from orq_async.testing import Emulator

        async with (
            Emulator() as emulator,
            _core(key, emulator.url, status, retry_lines, throttle) as core,
        ):
            yield core
        return
    url = server_url(args)
    if key is None and not is_loopback(URL(url).host):
        raise CliError(
            f"no API key for {url}: set ORQ_API_KEY or pass --api-key-file (nothing was sent)"
        )
    async with _core(key, url, status, retry_lines, throttle) as core:
        yield core


@asynccontextmanager
async def _core(
    key: str | None, url: str, status: StatusLine, retry_lines: bool, throttle: Throttle
) -> AsyncGenerator[OrqCore, None]:
    printer = status if retry_lines else StatusLine(status.stream, enabled=False)
    lines = _RetryLines(printer, SAFE_DEFAULT.max_retries + 1)
    trace = aiohttp.TraceConfig()
    trace.on_request_end.append(lines.on_request_end)
    async with aiohttp.ClientSession(trace_configs=[trace]) as session:
        hooks = Hooks(before_request=[lines.before_request])
        async with OrqCore(
            api_key=key,
            server_url=url,
            retry_config=SAFE_DEFAULT,
            session=session,
            hooks=hooks,
            sleep=lines.sleep,
            throttle=throttle,
        ) as core:
            yield core

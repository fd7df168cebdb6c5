"""Shared pieces of the adversarial tests: policies, a wire-level recording server, probes.

Everything runs over real loopback sockets. ``RawServer`` and ``http_response`` come from the
reliability suite; :class:`WireServer` here records the raw bytes a connection carries after
the request head, so a test can see a body longer or shorter than its ``Content-Length``.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from orq_async import BackoffStrategy, Err, OrqCore, RequestOptions, RetryConfig
from orq_async.errors import OrqError
from orq_async.funcs.router_images_edits_create import router_images_edits_create
from orq_async.result import Result
from tests.conftest import OK_BODY, PNG
from tests.reliability._support import LoopbackServer, http_response

__all__ = [
    "KEY",
    "OFF",
    "OK_JSON",
    "ON",
    "WireConnection",
    "WireServer",
    "body",
    "chain",
    "edit",
    "err_of",
    "instant",
    "new_error",
]

KEY = "sk-orq/7f3a+9c1e=5b2d_4f60-SECRET"
"""A key with ``/``, ``+`` and ``=``, so its JSON, percent and base64 forms all differ from it."""

OFF = RetryConfig("none")
ON = RetryConfig("backoff", BackoffStrategy(1, 5, 2.0, 60_000), retry_connection_errors=True)
"""Retries on for everything, with waits of a few milliseconds (max_retries 3: 4 attempts)."""

OK_JSON = json.dumps(OK_BODY).encode()


async def instant(_seconds: float) -> None:
    """A retry sleep that does not wait."""


def body(image: Any = PNG) -> dict[str, Any]:
    """A valid request body around ``image``."""
    return {"model": "openai/gpt-image-1", "prompt": "p", "image": image}


async def edit(core: OrqCore, request: Any = None, **options: Any) -> Result[Any, OrqError]:
    """Call the operation with ``RequestOptions(**options)`` (none when no option is given)."""
    opts = RequestOptions(**options) if options else None
    payload: Any = body() if request is None else request
    return await router_images_edits_create(core, payload, opts)


def new_error(name: str) -> type[OrqError]:
    """The error class ``orq_async.errors.<name>``, or fail the test saying it is missing."""
    cls = getattr(importlib.import_module("orq_async.errors"), name, None)
    if not (isinstance(cls, type) and issubclass(cls, OrqError)):
        pytest.fail(f"orq_async.errors.{name} does not exist (issue 10 adds it)")
    return cls


def err_of(result: Result[Any, OrqError], cls: type[OrqError]) -> Any:
    """The error of ``result``, asserting it is an ``Err`` holding a ``cls``."""
    assert isinstance(result, Err), f"expected Err({cls.__name__}), got {result!r}"
    assert isinstance(result.error, cls), f"expected {cls.__name__}, got {result.error!r}"
    return result.error


def chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and every exception reachable through ``__cause__`` / ``__context__``."""
    seen: set[int] = set()
    todo = [exc]
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        todo += [e for e in (current.__cause__, current.__context__) if e is not None]


@dataclass
class WireConnection:
    """What one connection carried after the request head."""

    head: bytes = b""
    announced: int | None = None
    body: bytearray = field(default_factory=bytearray)
    closed_by_client: bool = False
    done: bool = False

    @property
    def overflow(self) -> int:
        """Bytes beyond the announced ``Content-Length`` (smuggled into the next request)."""
        return max(0, len(self.body) - (self.announced or 0))


class WireServer(LoopbackServer):
    """Reads each connection to its end and records every byte after the request head.

    It answers 200 (keep-alive) as soon as ``Content-Length`` bytes arrived, then keeps reading
    for up to ``linger`` seconds: a client that reuses or keeps the connection shows up as
    ``closed_by_client`` False, extra bytes as ``overflow``.
    """

    def __init__(self, linger: float = 3.0) -> None:
        super().__init__()
        self.linger = linger
        self.connections: list[WireConnection] = []

    async def __aenter__(self) -> WireServer:
        await self._listen()
        return self

    async def all_done(self, timeout: float) -> bool:
        """Wait (bounded) until every connection seen so far has ended."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not all(c.done for c in self.connections):
            if loop.time() > deadline:
                return False
            await asyncio.sleep(0.01)
        return True

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        conn = WireConnection()
        self.connections.append(conn)
        answered = False
        try:
            conn.head = await reader.readuntil(b"\r\n\r\n")
            for line in conn.head.decode("latin-1").split("\r\n")[1:]:
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    conn.announced = int(value)
            while True:
                chunk = await asyncio.wait_for(reader.read(1 << 16), self.linger)
                if not chunk:
                    conn.closed_by_client = True
                    return
                conn.body += chunk
                full = conn.announced is not None and len(conn.body) >= conn.announced
                if full and not answered:
                    writer.write(http_response(200, OK_JSON, keep_alive=True))
                    answered = True
        except (asyncio.TimeoutError, asyncio.IncompleteReadError, asyncio.CancelledError):
            return
        except ConnectionError:
            conn.closed_by_client = True
        finally:
            conn.done = True
            self._tasks.discard(task)
            writer.close()
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await writer.wait_closed()

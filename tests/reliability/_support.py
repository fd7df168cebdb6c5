"""Loopback servers and probes shared by the reliability tests (real sockets, no mocks).

``RawServer`` is a bare ``asyncio.start_server`` HTTP/1.1 server whose behaviour per request is
a coroutine: it can answer normally, close before the status line, stall, send half a body, or
read the upload slowly. It records every request (headers, body, SHA-256) and counts the
connections it holds open, so tests can see leaks from the server side too.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import socket
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from orq_async import OrqCore

__all__ = [
    "Behaviour",
    "RawServer",
    "RecordingSleep",
    "Seen",
    "fds_to",
    "http_response",
    "open_fd_count",
    "pool",
    "settle",
    "settle_ticks",
    "stable_fd_count",
]


@dataclass
class Seen:
    """One request as the raw server read it."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    reader: asyncio.StreamReader | None = field(default=None, repr=False, compare=False)

    async def until_disconnected(self, limit: float = 60.0) -> None:
        """Stall: wait (bounded) until the client closes the connection."""
        assert self.reader is not None
        with contextlib.suppress(asyncio.TimeoutError, ConnectionError):
            await asyncio.wait_for(self.reader.read(), limit)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.body).hexdigest()


Behaviour = Callable[[int, Seen, asyncio.StreamWriter], Awaitable[bool]]
"""``(request number from 1, request, writer) -> keep the connection open``."""


def http_response(
    status: int,
    body: bytes = b"",
    *,
    content_type: str | None = "application/json",
    headers: Mapping[str, str] | None = None,
    reason: str = "X",
    length: int | None = None,
    keep_alive: bool = False,
) -> bytes:
    """A complete HTTP/1.1 response; ``length`` may lie about the body.

    ``Connection: close`` unless ``keep_alive`` (then the behaviour must return True).
    """
    lines = [f"HTTP/1.1 {status} {reason}"]
    if content_type is not None:
        lines.append(f"Content-Type: {content_type}")
    lines.append(f"Content-Length: {len(body) if length is None else length}")
    if not keep_alive:
        lines.append("Connection: close")
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


class LoopbackServer:
    """An asyncio TCP server on a loopback port; its connection handlers register their tasks
    in ``_tasks``, and leaving the ``async with`` cancels them and closes the server."""

    def __init__(self) -> None:
        self.url = ""
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        raise NotImplementedError

    async def _listen(self, host: str = "127.0.0.1", **options: Any) -> asyncio.Server:
        self._server = await asyncio.start_server(self._handle, host, 0, **options)
        self.url = f"http://{host}:{self._server.sockets[0].getsockname()[1]}"
        return self._server

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()


class RawServer(LoopbackServer):
    """An HTTP/1.1 server on 127.0.0.1 driven by a behaviour coroutine.

    Args:
        behaviour: what to do with each request once it is read.
        host: the loopback address to bind (``127.0.0.2`` works too on Linux).
        read_chunk: with ``read_delay``, read the body this many bytes at a time...
        read_delay: ...sleeping this long between reads (a slow link or a slow server).
        rcvbuf: the kernel receive buffer of the server's sockets (small: a narrow window, so
            the client cannot park megabytes of the upload in the kernel and call it sent).
        drop_after: close the connection once this many body bytes were read (mid-upload).
    """

    def __init__(
        self,
        behaviour: Behaviour,
        *,
        host: str = "127.0.0.1",
        read_chunk: int = 64 * 1024,
        read_delay: float = 0.0,
        rcvbuf: int | None = None,
        drop_after: int | None = None,
    ) -> None:
        super().__init__()
        self.behaviour = behaviour
        self.host = host
        self.read_chunk = read_chunk
        self.read_delay = read_delay
        self.rcvbuf = rcvbuf
        self.drop_after = drop_after
        self.requests: list[Seen] = []
        self.connections = 0
        self.open_connections = 0
        self.body_bytes_read = 0
        self.dropped = 0
        self.body_started = asyncio.Event()
        self.request_read = asyncio.Event()

    async def __aenter__(self) -> RawServer:
        server = await self._listen(self.host, limit=1 << 20)
        if self.rcvbuf is not None:  # accepted sockets inherit it from the listener
            server.sockets[0].setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self.rcvbuf)
        return self

    async def _read_body(self, reader: asyncio.StreamReader, headers: dict[str, str]) -> bytes:
        if "content-length" in headers:
            remaining = int(headers["content-length"])
            chunks: list[bytes] = []
            while remaining:
                chunk = await reader.readexactly(min(self.read_chunk, remaining))
                self._progress(chunks, chunk)
                remaining -= len(chunk)
                if self.read_delay:
                    await asyncio.sleep(self.read_delay)
            return b"".join(chunks)
        if headers.get("transfer-encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
                if size == 0:
                    await reader.readuntil(b"\r\n")
                    return b"".join(chunks)
                self._progress(chunks, await reader.readexactly(size))
                await reader.readexactly(2)
                if self.read_delay:
                    await asyncio.sleep(self.read_delay)
        return b""

    def _progress(self, chunks: list[bytes], chunk: bytes) -> None:
        chunks.append(chunk)
        self.body_bytes_read += len(chunk)
        self.body_started.set()
        if self.drop_after is not None and sum(map(len, chunks)) >= self.drop_after:
            self.dropped += 1
            raise ConnectionAbortedError("dropping the connection mid-upload")

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self.connections += 1
        self.open_connections += 1
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except asyncio.IncompleteReadError:
                    return
                first, *lines = head.decode("latin-1").split("\r\n")
                method, path, _ = first.split(" ", 2)
                headers = {}
                for line in lines:
                    if line:
                        name, value = line.split(":", 1)
                        headers[name.strip().lower()] = value.strip()
                body = await self._read_body(reader, headers)
                seen = Seen(method, path, headers, body, reader)
                self.requests.append(seen)
                self.request_read.set()
                if not await self.behaviour(len(self.requests), seen, writer):
                    return
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            return
        except asyncio.CancelledError:
            return  # our own teardown: end quietly (3.11's start_server logs a cancelled task)
        finally:
            self.open_connections -= 1
            self._tasks.discard(task)
            writer.close()
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await writer.wait_closed()


def open_fd_count() -> int:
    """File descriptors open in this process."""
    return len(os.listdir("/proc/self/fd"))


def fds_to(path: Path) -> list[int]:
    """Descriptors of this process open on ``path``."""
    target = str(path.resolve())
    found = []
    for name in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):
            if os.readlink(f"/proc/self/fd/{name}") == target:
                found.append(int(name))
    return found


def pool(core: OrqCore) -> tuple[int, int]:
    """``(acquired, idle)`` connections of the core's own connector."""
    session = core._session
    if session is None:
        return 0, 0
    connector: Any = session.connector
    idle = sum(len(conns) for conns in connector._conns.values())
    return len(connector._acquired), idle


async def settle(predicate: Callable[[], bool], timeout: float = 2.0) -> bool:
    """Let the loop run until ``predicate()`` holds (bounded); return whether it did."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            return False
        await asyncio.sleep(0.01)
    return True


async def settle_ticks(predicate: Callable[[], bool], ticks: int = 10) -> bool:
    """Whether ``predicate()`` holds within ``ticks`` iterations of the loop (no waiting)."""
    for _ in range(ticks):
        if predicate():
            return True
        await asyncio.sleep(0)
    return predicate()


async def stable_fd_count(timeout: float = 2.0) -> int:
    """The descriptor count once it stops moving (closing transports finish on a later tick)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    last = open_fd_count()
    while loop.time() < deadline:
        await asyncio.sleep(0.05)
        now = open_fd_count()
        if now == last:
            return now
        last = now
    return last


@dataclass
class RecordingSleep:
    """A real ``asyncio.sleep`` that also records the waits the retry loop asked for."""

    waits: list[float] = field(default_factory=list)
    sleeping: asyncio.Event = field(default_factory=asyncio.Event)

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.sleeping.set()
        await asyncio.sleep(seconds)

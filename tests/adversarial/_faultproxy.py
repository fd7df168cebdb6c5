"""A loopback TCP fault proxy: real sockets between the client and a real server.

``FaultProxy`` listens on 127.0.0.1 and forwards every connection to an upstream address,
applying one :class:`Fault`: added latency, a bandwidth cap, a reset (RST on both sides) after
N upload bytes, a blackhole (accept, read, never forward or answer), or a slow close (the
upstream's close reaches the client late). It counts connections, so tests can assert the
attempts made and that none is left open.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from dataclasses import dataclass

from tests.reliability._support import LoopbackServer

__all__ = ["Fault", "FaultProxy"]

_CHUNK = 16 * 1024


@dataclass(frozen=True)
class Fault:
    """What the proxy does to the traffic (the default forwards it untouched).

    Attributes:
        latency: seconds added before each forwarded chunk, both ways.
        bandwidth: bytes per second, each way (None: no cap).
        reset_after: upload bytes after which both sides get a TCP RST.
        blackhole: accept and read the upload, forward nothing, never answer.
        slow_close: seconds the upstream's close is held back from the client.
    """

    latency: float = 0.0
    bandwidth: int | None = None
    reset_after: int | None = None
    blackhole: bool = False
    slow_close: float = 0.0


class _Reset(Exception):
    """The connection reached ``reset_after`` upload bytes."""


def _rst(writer: asyncio.StreamWriter) -> None:
    """Close with a TCP RST (SO_LINGER 0), not a FIN."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


class FaultProxy(LoopbackServer):
    """Forward 127.0.0.1:<port> to ``upstream`` (``host``, ``port``) through a :class:`Fault`."""

    def __init__(self, upstream: tuple[str, int], fault: Fault) -> None:
        super().__init__()
        self.upstream = upstream
        self.fault = fault
        self.connections = 0
        self.open_connections = 0
        self.resets = 0

    async def __aenter__(self) -> FaultProxy:
        await self._listen()
        return self

    async def _pump(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, upload: bool
    ) -> None:
        fault, moved = self.fault, 0
        while chunk := await reader.read(_CHUNK):
            if fault.latency:
                await asyncio.sleep(fault.latency)
            if upload and fault.reset_after is not None and moved + len(chunk) > fault.reset_after:
                writer.write(chunk[: fault.reset_after - moved])
                raise _Reset
            moved += len(chunk)
            writer.write(chunk)
            await writer.drain()
            if fault.bandwidth:
                await asyncio.sleep(len(chunk) / fault.bandwidth)
        if not upload and fault.slow_close:
            await asyncio.sleep(fault.slow_close)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self.connections += 1
        self.open_connections += 1
        upstream: asyncio.StreamWriter | None = None
        try:
            if self.fault.blackhole:
                while await reader.read(_CHUNK):
                    pass
                return
            up_reader, upstream = await asyncio.open_connection(*self.upstream)
            pumps = {
                asyncio.create_task(self._pump(reader, upstream, upload=True)),
                asyncio.create_task(self._pump(up_reader, writer, upload=False)),
            }
            try:
                done, _ = await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for pump in pumps:
                    pump.cancel()
                await asyncio.gather(*pumps, return_exceptions=True)
            if any(isinstance(p.exception(), _Reset) for p in done if not p.cancelled()):
                self.resets += 1
                _rst(writer)
                _rst(upstream)
        except (ConnectionError, OSError, asyncio.CancelledError):
            return
        finally:
            self.open_connections -= 1
            self._tasks.discard(task)
            for end in (writer, upstream):
                if end is not None:
                    end.close()
                    with contextlib.suppress(Exception, asyncio.CancelledError):
                        await end.wait_closed()

"""Issue 10, points 1 and 2: memory is bounded whatever the server sends.

``max_response_bytes`` (core and per call, default 64 MiB, ``None`` for no cap) bounds the
*decoded* body, error bodies included. Over it the call returns ``Err(ResponseTooLargeError)``
at once (never retried), with peak memory near the cap; a ``Content-Length`` above the cap
fails before the body is read. An encoding the client cannot decode is a connection fault
(``APIConnectionError``), never ``UnexpectedClientError``.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import tracemalloc
import zlib
from typing import Any

import pytest

from orq_async import Ok, OrqCore
from orq_async.errors import APIConnectionError, OrqError
from tests.adversarial._support import OFF, OK_JSON, ON, edit, err_of, instant, new_error
from tests.reliability._support import Behaviour, RawServer, Seen, http_response

CAP = 1 << 20  # 1 MiB
BIG = 64 << 20  # what the hostile server sends (or inflates to)
CHUNK = b"x" * (1 << 16)


class Streamer:
    """A raw server sending a huge body; it records how far it got before the client left."""

    def __init__(self, status: int = 200, framing: str = "close", announce: int | None = None):
        self.status = status
        self.framing = framing  # "close" (read to EOF), "chunked", or "length"
        self.announce = announce
        self.written = 0
        self.client_left = asyncio.Event()

    async def __call__(self, _n: int, _seen: Seen, writer: asyncio.StreamWriter) -> bool:
        head = [f"HTTP/1.1 {self.status} X", "Content-Type: application/json"]
        if self.framing == "chunked":
            head.append("Transfer-Encoding: chunked")
        elif self.framing == "length":
            head.append(f"Content-Length: {self.announce or BIG}")
        head.append("Connection: close")
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode())
        frame = f"{len(CHUNK):x}\r\n".encode() + CHUNK + b"\r\n"
        piece = frame if self.framing == "chunked" else CHUNK
        try:
            while self.written < BIG:
                writer.write(piece)
                self.written += len(CHUNK)
                await writer.drain()
        except ConnectionError:
            self.client_left.set()
        return False


@pytest.mark.parametrize("framing", ["close", "chunked"])
async def test_a_huge_streamed_body_stops_at_the_cap_with_memory_near_it(framing: str) -> None:
    """Point 1: reading stops at the cap; peak traced memory stays near 1 MiB, not 64 MiB."""
    too_large = new_error("ResponseTooLargeError")
    streamer = Streamer(framing=framing)
    async with (
        RawServer(streamer) as srv,
        OrqCore(server_url=srv.url, retry_config=OFF, max_response_bytes=CAP) as core,
    ):
        await edit(core)  # warm up: the session and imports do not count in the peak
        streamer.written = 0
        gc.collect()
        tracemalloc.start()
        try:
            base = tracemalloc.get_traced_memory()[0]
            result = await asyncio.wait_for(edit(core), 20)
            peak = tracemalloc.get_traced_memory()[1] - base
        finally:
            tracemalloc.stop()
        assert await asyncio.wait_for(streamer.client_left.wait(), 5)
    error = err_of(result, too_large)
    assert error.limit == CAP
    assert error.status_code == 200
    assert peak < 8 * CAP, f"peak {peak / CAP:.1f} MiB while reading a body capped at 1 MiB"
    assert streamer.written < BIG // 2, f"the client read {streamer.written} bytes"


async def test_a_content_length_above_the_cap_fails_before_the_body() -> None:
    """Point 1: a 2 GiB ``Content-Length`` is refused on the headers; the client closes."""
    too_large = new_error("ResponseTooLargeError")
    streamer = Streamer(framing="length", announce=2 << 30)
    async with (
        RawServer(streamer) as srv,
        OrqCore(server_url=srv.url, retry_config=ON, sleep=instant, timeout_ms=10_000) as core,
    ):
        result = await asyncio.wait_for(edit(core, max_response_bytes=CAP), 8)
        assert await asyncio.wait_for(streamer.client_left.wait(), 5)
    error = err_of(result, too_large)
    assert (error.limit, error.status_code) == (CAP, 200)
    assert error.headers["Content-Length"] == str(2 << 30)
    assert len(srv.requests) == 1, "a response over the cap is never retried"
    assert streamer.written < BIG // 2


async def test_an_error_body_over_the_cap_is_capped_and_not_retried() -> None:
    """Point 1: a 503 whose body is huge is ``ResponseTooLargeError``, never retried."""
    too_large = new_error("ResponseTooLargeError")
    async with (
        RawServer(Streamer(status=503, framing="chunked")) as srv,
        OrqCore(server_url=srv.url, retry_config=ON, sleep=instant, max_response_bytes=CAP) as core,
    ):
        result = await asyncio.wait_for(edit(core), 20)
    error = err_of(result, too_large)
    assert (error.status_code, error.limit) == (503, CAP)
    assert len(srv.requests) == 1


def _padded(size: int) -> Behaviour:
    """A 200 of exactly ``size`` bytes: valid response JSON padded with spaces, streamed."""

    async def send(_n: int, _seen: Seen, writer: asyncio.StreamWriter) -> bool:
        writer.write(http_response(200, OK_JSON, length=size))
        left = size - len(OK_JSON)
        while left > 0:
            writer.write(b" " * min(left, 1 << 20))
            left -= 1 << 20
            await writer.drain()
        return False

    return send


async def test_the_default_cap_is_64_mib() -> None:
    """Point 1: with no setting, a ``Content-Length`` of 64 MiB + 1 is over the cap."""
    too_large = new_error("ResponseTooLargeError")
    async with (
        RawServer(Streamer(framing="length", announce=BIG + 1)) as srv,
        OrqCore(server_url=srv.url, retry_config=OFF) as core,
    ):
        result = await asyncio.wait_for(edit(core), 10)
    assert err_of(result, too_large).limit == 67_108_864


@pytest.mark.parametrize("where", ["core", "call"])
async def test_none_means_no_cap(where: str) -> None:
    """Point 1: ``max_response_bytes=None`` reads a body above the default cap whole."""
    per_call: dict[str, Any] = {"max_response_bytes": None} if where == "call" else {}
    on_core: dict[str, Any] = {"max_response_bytes": None} if where == "core" else {}
    async with (
        RawServer(_padded(BIG + 1)) as srv,
        OrqCore(server_url=srv.url, retry_config=OFF, **on_core) as core,
    ):
        result = await asyncio.wait_for(edit(core, **per_call), 20)
    assert isinstance(result, Ok), result


def test_the_new_error_sits_in_the_hierarchy() -> None:
    """Point 1: ``ResponseTooLargeError`` is an ``OrqError``."""
    assert issubclass(new_error("ResponseTooLargeError"), OrqError)


async def test_a_body_exactly_at_the_cap_is_ok() -> None:
    """Point 1: a body of exactly ``max_response_bytes`` bytes is within the cap."""
    async with (
        RawServer(_padded(CAP)) as srv,
        OrqCore(server_url=srv.url, retry_config=OFF, max_response_bytes=CAP) as core,
    ):
        result = await edit(core)
    assert isinstance(result, Ok), result


@functools.cache
def _bomb(encoding: str) -> bytes:
    """Valid response JSON padded with 64 MiB of spaces, compressed (about 64 KiB)."""
    wbits = {"gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}[encoding]
    packer = zlib.compressobj(9, zlib.DEFLATED, wbits)
    spaces = b" " * (1 << 20)
    out = [packer.compress(OK_JSON)]
    out += [packer.compress(spaces) for _ in range(BIG >> 20)]
    return b"".join([*out, packer.flush()])


def _encoded(encoding: str, payload: bytes, status: int = 200) -> Behaviour:
    async def send(_n: int, _seen: Seen, writer: asyncio.StreamWriter) -> bool:
        headers = {"Content-Encoding": encoding}
        writer.write(http_response(status, payload, headers=headers))
        await writer.drain()
        return False

    return send


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
@pytest.mark.parametrize("status", [200, 500])
async def test_a_decompression_bomb_is_capped_on_the_decoded_bytes(
    encoding: str, status: int
) -> None:
    """Point 2: ~64 KiB on the wire inflating to 64 MiB is ``ResponseTooLargeError``."""
    too_large = new_error("ResponseTooLargeError")
    bomb = _bomb(encoding)
    assert len(bomb) < CAP // 4  # the wire size is far under the cap: only decoding exceeds it
    async with (
        RawServer(_encoded(encoding, bomb, status)) as srv,
        OrqCore(server_url=srv.url, retry_config=ON, sleep=instant, max_response_bytes=CAP) as core,
    ):
        gc.collect()
        tracemalloc.start()
        try:
            base = tracemalloc.get_traced_memory()[0]
            result = await asyncio.wait_for(edit(core), 20)
            peak = tracemalloc.get_traced_memory()[1] - base
        finally:
            tracemalloc.stop()
    error = err_of(result, too_large)
    assert (error.status_code, error.limit) == (status, CAP)
    assert len(srv.requests) == 1
    assert peak < 8 * CAP, f"peak {peak / CAP:.1f} MiB while inflating under a 1 MiB cap"


@pytest.mark.parametrize("encoding", ["br", "zstd", "x-garbage", "gzip, rot13"])
@pytest.mark.parametrize(("retries", "attempts"), [(OFF, 1), (ON, 4)])
async def test_an_encoding_the_client_cannot_decode_is_a_connection_error(
    encoding: str, retries: Any, attempts: int
) -> None:
    """Point 2 (and 9): ``br``/``zstd`` without their decoder, or junk, is ``APIConnectionError``.

    The installed environment has neither ``Brotli`` nor ``backports.zstd``; if one is, its
    case is skipped (then the encoding is supported and the body would decode).
    """
    from aiohttp import compression_utils

    decoders = {"br": "HAS_BROTLI", "zstd": "HAS_ZSTD"}  # aiohttp < 3.12 has no zstd at all
    if getattr(compression_utils, decoders.get(encoding, ""), False):
        pytest.skip(f"a {encoding} decoder is installed here")
    async with (
        RawServer(_encoded(encoding, b"\x8b\x00not-really-encoded" + OK_JSON)) as srv,
        OrqCore(server_url=srv.url, retry_config=retries, sleep=instant) as core,
    ):
        result = await asyncio.wait_for(edit(core), 10)
    error = err_of(result, APIConnectionError)
    assert "encoding" in str(error).lower(), error
    assert len(srv.requests) == attempts

"""Every attempt of one call sends the same bytes; slow links are not mistaken for dead ones."""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import io
import os
import socket
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from orq_async import BackoffStrategy, Err, Ok, OrqCore, RequestOptions, RetryConfig
from orq_async.errors import APITimeoutError, InternalServerError
from orq_async.funcs.router_images_edits_create import router_images_edits_create
from orq_async.models import FileInput
from tests.conftest import JPEG, OK_BODY, PNG, WEBP, FakeSleep, Pipe, parse_multipart
from tests.reliability._support import RawServer, Seen, http_response

BODY = {"model": "m", "prompt": "p"}
ON = RetryConfig("backoff", BackoffStrategy(10, 100, 2.0, 60_000), retry_connection_errors=True)
OK_JSON = http_response(200, __import__("json").dumps(OK_BODY).encode())
BIG = PNG + os.urandom(3 * 1024 * 1024 + 17)  # several read chunks, not a multiple of them


def _fail_then_ok(failures: int, status: int = 503) -> Any:
    async def behave(n: int, _seen: Seen, writer: asyncio.StreamWriter) -> bool:
        if n <= failures:
            writer.write(http_response(status, b'{"error": "busy"}'))
        else:
            writer.write(OK_JSON)
        await writer.drain()
        return False

    return behave


def _image_parts(seen: Seen) -> list[bytes]:
    parts = parse_multipart(seen.headers["content-type"], seen.body)
    return [p.data for p in parts if p.name == "image"]


@pytest.mark.parametrize(
    "kind", ["bytes", "path", "fileobj", "fileobj-not-at-0", "several", "big-path"]
)
async def test_all_attempts_are_byte_identical(
    kind: str, tmp_path: Path, fake_sleep: FakeSleep
) -> None:
    path = tmp_path / "in.png"
    path.write_bytes(BIG if kind == "big-path" else PNG * 50)
    opened = path.open("rb")
    at_offset = io.BytesIO(b"junk-before-the-image" + JPEG)
    at_offset.seek(len(b"junk-before-the-image"))
    image: Any = {
        "bytes": WEBP,
        "path": path,
        "fileobj": opened,
        "fileobj-not-at-0": at_offset,
        "several": [path, JPEG, FileInput("w.webp", WEBP), ("x.jpg", at_offset, "image/jpeg")],
        "big-path": path,
    }[kind]
    expected = {
        "bytes": [WEBP],
        "path": [PNG * 50],
        "fileobj": [PNG * 50],
        "fileobj-not-at-0": [JPEG],
        "several": [PNG * 50, JPEG, WEBP, JPEG],
        "big-path": [BIG],
    }[kind]
    try:
        async with (
            RawServer(_fail_then_ok(3)) as srv,
            OrqCore(server_url=srv.url, retry_config=ON, sleep=fake_sleep) as core,
        ):
            res = await router_images_edits_create(core, {**BODY, "image": image})
    finally:
        opened.close()
    assert isinstance(res, Ok)
    assert res.meta.attempts == len(srv.requests) == 4
    assert len({s.sha256 for s in srv.requests}) == 1
    for seen in srv.requests:
        assert _image_parts(seen) == expected
        assert int(seen.headers["content-length"]) == len(seen.body)
    # A file object is left where the caller put it... for the next call, the same bytes again.
    if kind == "fileobj-not-at-0":
        assert at_offset.tell() == len(at_offset.getvalue())


async def test_non_seekable_stream_is_single_attempt_and_sent_whole(
    fake_sleep: FakeSleep,
) -> None:
    async def chunks() -> Any:
        for i in range(0, len(PNG), 100):
            yield PNG[i : i + 100]

    async with (
        RawServer(_fail_then_ok(1)) as srv,
        OrqCore(server_url=srv.url, retry_config=ON, sleep=fake_sleep) as core,
    ):
        with Pipe(JPEG * 20) as pipe:
            piped = await router_images_edits_create(core, {**BODY, "image": pipe})
        streamed = await router_images_edits_create(
            core, {**BODY, "image": FileInput("s.png", chunks())}
        )
    # The first call met the one 503 and could not replay its stream: single attempt.
    assert isinstance(piped, Err)
    assert isinstance(piped.error, InternalServerError)
    assert piped.meta.attempts == 1
    assert isinstance(streamed, Ok)
    assert streamed.meta.attempts == 1
    assert fake_sleep.waits == []
    assert [_image_parts(s) for s in srv.requests] == [[JPEG * 20], [PNG]]
    assert all("transfer-encoding" in s.headers for s in srv.requests)


# -- slow links ----------------------------------------------------------------------------------

UPLOAD = PNG + os.urandom(8 * 1024 * 1024)


# 8 MiB read 256 KiB per 30 ms ≈ 1 s of upload, paced by the server through a narrow window.
SLOW_READER: dict[str, Any] = {"read_chunk": 256 * 1024, "read_delay": 0.03, "rcvbuf": 64 * 1024}


def _small_send_buffer(addr_info: Any) -> socket.socket:
    family, type_, proto, _, _ = addr_info
    sock = socket.socket(family, type_, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 64 * 1024)
    return sock


async def _ok(_n: int, _seen: Seen, writer: asyncio.StreamWriter) -> bool:
    writer.write(OK_JSON)
    await writer.drain()
    return False


async def _stall_after_body(_n: int, _seen: Seen, writer: asyncio.StreamWriter) -> bool:
    await asyncio.sleep(30)
    return False


async def test_slow_upload_within_the_timeout_completes(tmp_path: Path) -> None:
    """A server reading 8 MiB slowly: the upload is progressing, the call succeeds."""
    path = tmp_path / "big.png"
    path.write_bytes(UPLOAD)
    sent: list[int] = []
    async with (
        RawServer(_ok, **SLOW_READER) as srv,
        OrqCore(server_url=srv.url, timeout_ms=30_000, retry_config=ON) as core,
    ):
        opts = RequestOptions(upload_progress=lambda done, _total: sent.append(done))
        res = await router_images_edits_create(core, {**BODY, "image": path}, opts)
    assert isinstance(res, Ok)
    assert res.meta.attempts == 1
    (seen,) = srv.requests
    assert _image_parts(seen) == [UPLOAD]
    assert hashlib.sha256(_image_parts(seen)[0]).digest() == hashlib.sha256(UPLOAD).digest()
    assert len(sent) > 8
    assert sent[-1] == len(seen.body)


async def test_server_stalling_after_the_body_trips_the_timeout(tmp_path: Path) -> None:
    path = tmp_path / "big.png"
    path.write_bytes(UPLOAD)
    async with (
        RawServer(_stall_after_body) as srv,
        OrqCore(server_url=srv.url, timeout_ms=1_500) as core,
    ):
        loop = asyncio.get_running_loop()
        started = loop.time()
        res = await router_images_edits_create(core, {**BODY, "image": path})
        elapsed = loop.time() - started
    assert isinstance(res, Err)
    assert type(res.error) is APITimeoutError
    assert len(srv.requests) == 1
    assert srv.body_bytes_read == len(srv.requests[0].body)  # the whole body arrived first
    assert 1.4 <= elapsed < 10


async def test_timeout_ms_bounds_the_whole_attempt_upload_included(tmp_path: Path) -> None:
    """``timeout_ms`` is a per-attempt *total* (aiohttp's ``ClientTimeout(total=...)``), so an
    upload still progressing when it expires is cut; ``read_timeout_ms`` is the one that only
    counts silence after the body is sent (next tests)."""
    path = tmp_path / "big.png"
    path.write_bytes(UPLOAD)
    async with (
        RawServer(_ok, **SLOW_READER) as srv,
        OrqCore(server_url=srv.url, timeout_ms=400) as core,
    ):
        res = await router_images_edits_create(core, {**BODY, "image": path})
    assert isinstance(res, Err)
    assert type(res.error) is APITimeoutError
    assert 0 < srv.body_bytes_read < len(UPLOAD)  # cut while the body was still moving


@pytest.mark.skipif(
    "socket_factory" not in inspect.signature(aiohttp.TCPConnector).parameters,
    reason="TCPConnector(socket_factory=) is aiohttp 3.12+ (this run has the 3.11 floor)",
)
async def test_read_timeout_never_cuts_a_slow_but_progressing_upload(tmp_path: Path) -> None:
    """A 500 ms ``read_timeout_ms`` and an upload taking longer than that: the call succeeds,
    because the silence is only counted once the body has been sent."""
    path = tmp_path / "big.png"
    path.write_bytes(UPLOAD)
    connector = aiohttp.TCPConnector(socket_factory=_small_send_buffer)
    async with (
        RawServer(_ok, **SLOW_READER) as slow,
        aiohttp.ClientSession(connector=connector) as session,
        OrqCore(server_url=slow.url, session=session, timeout_ms=None, read_timeout_ms=500) as core,
    ):
        loop = asyncio.get_running_loop()
        started = loop.time()
        res = await router_images_edits_create(core, {**BODY, "image": path})
        elapsed = loop.time() - started
    assert isinstance(res, Ok), res
    assert elapsed > 0.5  # the upload itself outlasted the read timeout
    assert slow.body_bytes_read == len(slow.requests[0].body)


async def test_read_timeout_trips_on_a_server_stalling_after_the_body(tmp_path: Path) -> None:
    path = tmp_path / "big.png"
    path.write_bytes(UPLOAD)
    async with (
        RawServer(_stall_after_body) as stall,
        OrqCore(server_url=stall.url, timeout_ms=None) as core,
    ):
        loop = asyncio.get_running_loop()
        started = loop.time()
        res = await router_images_edits_create(
            core, {**BODY, "image": path}, RequestOptions(read_timeout_ms=300)
        )
        elapsed = loop.time() - started
    assert isinstance(res, Err)
    assert type(res.error) is APITimeoutError
    assert "sent nothing for 0.3 s" in str(res.error)
    assert stall.body_bytes_read == len(stall.requests[0].body)
    assert 0.25 <= elapsed < 10


def test_every_call_gets_a_boundary_of_its_own_across_threads() -> None:
    """Boundaries come from a pool of ``os.urandom`` reads: each used once, whatever the
    threads (one core per thread and loop is a supported use)."""
    import threading

    from orq_async._multipart import new_boundary

    seen: list[list[str]] = [[] for _ in range(8)]

    def draw(out: list[str]) -> None:
        out.extend(new_boundary() for _ in range(2_000))

    threads = [threading.Thread(target=draw, args=(out,)) for out in seen]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    every = [b for out in seen for b in out]
    assert len(every) == 16_000
    assert len(set(every)) == len(every)
    assert all(len(b) == 32 and int(b, 16) >= 0 for b in every)

"""Issue 10, points 6, 7, 8 and 10: the bytes on the wire are exactly what was announced.

- A file that grows or shrinks between sizing and sending never puts more bytes on the wire
  than ``Content-Length`` (a raw server reads the socket to its end), fails the call at once
  with ``Err(InputStreamError)`` naming the field, is never retried, and its connection is
  not reused (the server sees it close).
- A regular file whose ``st_size`` is 0 but which has content (procfs) is sent exactly as it
  reads. Choice made here: the SDK *sends what it holds* (the issue's first option; procfs
  files are small), so the test expects ``Ok`` and the exact bytes at the server.
- A FIFO, a character device or a socket is refused at once with ``SDKValidationError``
  naming the field; nothing blocks (each call is bounded by ``asyncio.wait_for``).
- A failure of the caller's own source (an async iterable that raises or yields ``str``, an
  ``upload_progress`` callback that raises, a file deleted before it is streamed) is
  ``Err(InputStreamError)`` with the original exception as ``__cause__``, never retried, even
  with connection retries on.
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from orq_async import Ok, OrqCore
from orq_async.errors import SDKValidationError
from tests.adversarial._support import (
    ON,
    WireServer,
    body,
    edit,
    err_of,
    instant,
    new_error,
)
from tests.conftest import PNG, Server
from tests.reliability._support import RawServer, Seen, http_response

IMAGE = PNG + os.urandom(200 * 1024)
BOUND = 5.0  # seconds: every call here must end well before this (attempt timeout 20 s)


def _input_stream_error() -> type[SDKValidationError]:
    cls = new_error("InputStreamError")
    assert issubclass(cls, SDKValidationError)
    return cls


def _names(error: SDKValidationError, path: str) -> bool:
    return any(p.path == path for p in error.problems)


def _once(action: Callable[[], None]) -> Callable[[int, int | None], None]:
    """An ``upload_progress`` callback running ``action`` on its first call (after the
    first segment, before any file byte is read)."""
    done = False

    def progress(_sent: int, _total: int | None) -> None:
        nonlocal done
        if not done:
            done = True
            action()

    return progress


def _grow(path: Path) -> None:
    with path.open("ab") as f:
        f.write(b"\x00" * 100_000)


def _shrink(path: Path) -> None:
    os.truncate(path, 100)


@pytest.mark.parametrize("source", ["path in a list", "open file"])
@pytest.mark.parametrize("change", [_grow, _shrink], ids=["grows", "shrinks"])
async def test_a_file_changing_after_sizing_never_overruns_content_length(
    tmp_path: Path, change: Callable[[Path], None], source: str
) -> None:
    """Point 6: at most ``Content-Length`` bytes, ``Err(InputStreamError)`` naming the field
    (``image[0]`` / ``image``) at once, one attempt though retries are on, and the connection
    closed, not pooled. Both a path and a caller's open file object."""
    stream_error = _input_stream_error()
    path = tmp_path / "changing.png"
    path.write_bytes(IMAGE)
    with path.open("rb") as opened:
        image, field = ([path], "image[0]") if source == "path in a list" else (opened, "image")
        async with (
            WireServer(linger=3.0) as srv,
            OrqCore(server_url=srv.url, retry_config=ON, sleep=instant, timeout_ms=20_000) as core,
        ):
            progress = _once(lambda: change(path))
            result = await asyncio.wait_for(
                edit(core, body(image), upload_progress=progress), BOUND
            )
            assert await srv.all_done(BOUND), "the client kept the connection open (pooled?)"
        assert not opened.closed, "the caller's own file object is never closed"
    error = err_of(result, stream_error)
    assert _names(error, field), error.problems
    assert len(srv.connections) == 1, "a broken source is never retried"
    (conn,) = srv.connections
    assert conn.announced is not None
    assert conn.overflow == 0, f"{conn.overflow} bytes past Content-Length (smuggled)"
    assert conn.closed_by_client


@pytest.fixture
def procfs_file() -> tuple[Path, bytes]:
    """``/proc/version``: a regular file with ``st_size`` 0 that reads the same every time."""
    proc = Path("/proc/version")
    assert proc.stat().st_size == 0
    content = proc.read_bytes()
    assert content
    return proc, content


async def test_a_procfs_file_with_size_zero_is_sent_as_it_reads(
    server: Server, procfs_file: tuple[Path, bytes]
) -> None:
    """Point 7: ``/proc/version`` has ``st_size`` 0 and content; the server gets its bytes."""
    proc, expected = procfs_file
    async with OrqCore(server_url=server.url, retry_config=ON, sleep=instant) as core:
        result = await asyncio.wait_for(edit(core, extra_files={"mask": proc}), BOUND)
    assert isinstance(result, Ok), result
    (request,) = server.requests
    assert request.one("mask").data == expected
    assert request.one("image").data == PNG


async def test_a_procfs_file_never_overruns_content_length() -> None:
    """Point 7, on the wire: whatever framing is used, no byte past ``Content-Length``."""
    async with (
        WireServer(linger=0.5) as srv,
        OrqCore(server_url=srv.url, sleep=instant) as core,
    ):
        result = await asyncio.wait_for(
            edit(core, extra_files={"mask": Path("/proc/version")}), BOUND
        )
        await srv.all_done(BOUND)
    assert isinstance(result, Ok), result
    (conn,) = srv.connections
    if conn.announced is not None:  # chunked framing has no Content-Length to overrun
        assert conn.overflow == 0, f"{conn.overflow} bytes past Content-Length"


def _fifo(tmp_path: Path) -> Path:
    path = tmp_path / "fifo.png"
    os.mkfifo(path)
    return path


def _socket(tmp_path: Path) -> Path:
    path = tmp_path / "sock.png"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(str(path))
    sock.close()  # the socket file stays on disk
    return path


def _char_device(_tmp_path: Path) -> Path:
    return Path("/dev/zero")


def _unblock(path: Path) -> None:
    """Release a thread blocked opening a FIFO for reading (only if the SDK did that)."""
    if path.is_fifo():
        fd = os.open(path, os.O_RDWR | os.O_NONBLOCK)
        os.close(fd)


@pytest.mark.parametrize("make", [_fifo, _char_device, _socket], ids=["fifo", "/dev/zero", "sock"])
@pytest.mark.parametrize("field", ["image", "options.extra_files.mask"])
async def test_a_path_that_is_not_a_regular_file_is_refused_without_blocking(
    tmp_path: Path, server: Server, make: Callable[[Path], Path], field: str
) -> None:
    """Point 8: ``Err(SDKValidationError)`` naming the field at once; nothing sent."""
    path = make(tmp_path)
    request, options = body(), {}
    if field == "image":
        request = body(path)
    else:
        options = {"extra_files": {"mask": path}}
    async with OrqCore(server_url=server.url, sleep=instant) as core:
        try:
            result = await asyncio.wait_for(edit(core, request, **options), BOUND)
        finally:
            _unblock(path)
    error = err_of(result, SDKValidationError)
    assert _names(error, field), error.problems
    assert not server.requests


async def _raising_source() -> AsyncIterator[bytes]:
    yield PNG
    raise OSError("the camera went away")


async def _str_source() -> AsyncIterator[Any]:
    yield PNG
    yield "not bytes"


def _raise(exc: BaseException) -> None:
    raise exc


async def _busy(_n: int, _seen: Seen, writer: asyncio.StreamWriter) -> bool:
    writer.write(http_response(503, b'{"error": "retry me"}'))
    await writer.drain()
    return False


SOURCE_CASES = ["iterable raises", "iterable yields str", "progress raises", "file deleted"]


@pytest.mark.parametrize("case", SOURCE_CASES)
async def test_a_failing_caller_source_is_an_input_stream_error(tmp_path: Path, case: str) -> None:
    """Point 10: ``Err(InputStreamError)`` with ``__cause__``, one attempt with retries on."""
    stream_error = _input_stream_error()
    boom = RuntimeError("progress callback failed")
    image: Any = IMAGE
    options: dict[str, Any] = {}
    if case == "iterable raises":
        image = ("camera.png", _raising_source())
    elif case == "iterable yields str":
        image = ("camera.png", _str_source())
    elif case == "progress raises":
        options["upload_progress"] = _once(lambda: _raise(boom))
    else:
        path = tmp_path / "deleted.png"
        path.write_bytes(IMAGE)
        image = path
        options["upload_progress"] = _once(path.unlink)
    async with (
        RawServer(_busy) as srv,
        OrqCore(server_url=srv.url, retry_config=ON, sleep=instant, timeout_ms=20_000) as core,
    ):
        result = await asyncio.wait_for(edit(core, body([image]), **options), BOUND)
    error = err_of(result, stream_error)
    field = "options.upload_progress" if case == "progress raises" else "image[0]"
    assert _names(error, field), error.problems
    assert srv.connections <= 1, "a failing source is never retried"
    cause = error.__cause__
    if case == "iterable raises":
        assert isinstance(cause, OSError)
        assert "camera" in str(cause)
    elif case == "progress raises":
        assert cause is boom
    elif case == "file deleted":
        assert isinstance(cause, FileNotFoundError)

"""Loopback servers and sample images shared by the tests (no mocks: real sockets)."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import multipart
import pytest
from aiohttp import web

# The event loop the async tests run on: ORQ_TEST_LOOP=uvloop runs them on uvloop (CI does so for
# the core subset); unset or "asyncio" keeps the stdlib loop.
TEST_LOOP = os.environ.get("ORQ_TEST_LOOP", "asyncio")
if TEST_LOOP not in ("asyncio", "uvloop"):
    raise pytest.UsageError(f"ORQ_TEST_LOOP must be 'asyncio' or 'uvloop', not {TEST_LOOP!r}")
_uvloops_made = [0]  # how many loops _new_uvloop made (checked at the end of the session)


def _new_uvloop() -> asyncio.AbstractEventLoop:
    import uvloop

    _uvloops_made[0] += 1
    return uvloop.new_event_loop()


if TEST_LOOP == "uvloop":  # defined only then: pytest-asyncio refuses a hook answering None

    @pytest.hookimpl(optionalhook=True)
    def pytest_asyncio_loop_factories(
        config: pytest.Config, item: pytest.Item
    ) -> dict[str, Callable[[], asyncio.AbstractEventLoop]]:
        """Have pytest-asyncio run every async test and fixture on a new uvloop loop."""
        return {"uvloop": _new_uvloop}


def pytest_report_header(config: pytest.Config) -> str:
    return f"event loop: {TEST_LOOP} (ORQ_TEST_LOOP)"


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail a uvloop run in which no test ran on uvloop (e.g. a pytest-asyncio without the hook)."""
    if TEST_LOOP == "uvloop" and session.testscollected and not _uvloops_made[0]:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        print("\nORQ_TEST_LOOP=uvloop, but no test ran on a uvloop loop (pytest-asyncio >= 1.4?)")


PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
JPEG = b"\xff\xd8\xff\xe0" + b"jpeg-body" * 50
WEBP = b"RIFF\x00\x00\x00\x00WEBPVP8 " + b"webp-body" * 50

OK_BODY = {
    "created": 1732450000,
    "data": [{"b64_json": "aGVsbG8=", "url": None}],
    "output_format": "png",
    "size": "1024x1024",
    "quality": "high",
    "usage": {
        "total_tokens": 10,
        "input_tokens": 6,
        "output_tokens": 4,
        "input_tokens_details": {"text_tokens": 3, "image_tokens": 3},
    },
}


@dataclass
class Part:
    """One multipart part as a web-standard parser (``multipart``, not aiohttp) sees it."""

    name: str
    filename: str | None
    content_type: str | None
    data: bytes
    raw_disposition: str

    @property
    def text(self) -> str:
        return self.data.decode()

    @property
    def json(self) -> Any:
        return json.loads(self.data)


@dataclass
class Recorded:
    """A request as the server received it."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    parts: list[Part]

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.body).hexdigest()

    def named(self, name: str) -> list[Part]:
        return [p for p in self.parts if p.name == name]

    def one(self, name: str) -> Part:
        (part,) = self.named(name)
        return part


def parse_multipart(content_type: str, body: bytes) -> list[Part]:
    """Parse with the ``multipart`` package (WHATWG-style quoting), independent of aiohttp."""
    _, options = multipart.parse_options_header(content_type)
    parser = multipart.MultipartParser(io.BytesIO(body), options["boundary"])
    parts = []
    for p in parser:
        parts.append(
            Part(
                name=p.name,
                filename=p.filename,
                content_type=p.headers.get("Content-Type"),
                data=p.raw,
                raw_disposition=p.headers.get("Content-Disposition", ""),
            )
        )
        p.close()
    return parts


Reply = web.StreamResponse | Callable[[Recorded], Awaitable[web.StreamResponse]]


@dataclass
class Server:
    """A loopback aiohttp.web server recording requests and answering from a script."""

    url: str = ""
    requests: list[Recorded] = field(default_factory=list)
    replies: list[Reply] = field(default_factory=list)
    default: Callable[[], web.StreamResponse] = lambda: web.json_response(OK_BODY)

    def reply(self, *replies: Reply) -> None:
        self.replies.extend(replies)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        content_type = request.headers.get("Content-Type", "")
        parts = parse_multipart(content_type, body) if "multipart" in content_type else []
        rec = Recorded(request.method, request.path, dict(request.headers), body, parts)
        self.requests.append(rec)
        if not self.replies:
            return self.default()
        reply = self.replies.pop(0)
        if isinstance(reply, web.StreamResponse):
            return reply
        return await reply(rec)


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    srv = Server()
    app = web.Application(client_max_size=1024**3)
    app.router.add_route("*", "/{tail:.*}", srv.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    srv.url = f"http://127.0.0.1:{port}"
    yield srv
    await runner.cleanup()


@pytest.fixture
async def closed_port() -> int:
    """A port on 127.0.0.1 where nothing listens."""
    srv = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port: int = srv.sockets[0].getsockname()[1]
    srv.close()
    await srv.wait_closed()
    return port


class Pipe(io.RawIOBase):
    """A readable, non-seekable stream (like a pipe or a socket file)."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buf: Any) -> int:
        chunk = self._data.read(len(buf))
        buf[: len(chunk)] = chunk
        return len(chunk)


class FakeSleep:
    """An injectable sleep that records waits instead of sleeping."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
def fake_sleep() -> FakeSleep:
    return FakeSleep()

"""Caller-owned sessions: proxies, SSL contexts, connector limits and TraceConfig pass through.

Everything runs on 127.0.0.1: a real forward proxy (absolute-form requests and ``CONNECT``
tunnels, on asyncio streams), an HTTPS server with a self-signed certificate made by the
``openssl`` command at test time, and servers that count what they receive.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import shutil
import ssl
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import aiohttp
import pytest
from aiohttp import web
from yarl import URL

from orq_async import Err, Ok, OrqCore
from orq_async.errors import APIConnectionError
from orq_async.funcs.router_images_edits_create import router_images_edits_create
from tests.conftest import OK_BODY, PNG, FakeSleep, Server

BODY = {"model": "m", "prompt": "p", "image": PNG}
KEY = "sk-session-secret"
HOP_BY_HOP = frozenset({"connection", "proxy-connection", "keep-alive", "proxy-authorization"})


# --- loopback infrastructure -------------------------------------------------------------------


@dataclass
class ForwardProxy:
    """A forward proxy on 127.0.0.1: plain HTTP in absolute form, HTTPS through ``CONNECT``.

    It records each request line and its headers as the proxy received them.
    """

    url: str = ""
    lines: list[str] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _writers: set[asyncio.StreamWriter] = field(default_factory=set)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self._writers.add(writer)
        upstream: asyncio.StreamWriter | None = None
        try:
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
            line, *lines = head.split("\r\n")
            method, target, _ = line.split(" ", 2)
            headers = dict(h.split(": ", 1) for h in lines if h)
            self.lines.append(line)
            self.headers.append(headers)
            if method == "CONNECT":
                host, port = target.rsplit(":", 1)
                up_reader, upstream = await asyncio.open_connection(host, int(port))
                writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            else:
                url = URL(target)  # absolute form: http://host:port/path
                up_reader, upstream = await asyncio.open_connection(url.host, url.port)
                kept = [f"{k}: {v}" for k, v in headers.items() if k.lower() not in HOP_BY_HOP]
                out = [f"{method} {url.raw_path_qs} HTTP/1.1", *kept, "Connection: close", "", ""]
                upstream.write("\r\n".join(out).encode("latin-1"))
            pipes = {
                asyncio.ensure_future(_pipe(reader, upstream)),
                asyncio.ensure_future(_pipe(up_reader, writer)),
            }
            _, pending = await asyncio.wait(pipes, return_when=asyncio.FIRST_COMPLETED)
            for p in pending:
                p.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            for w in (upstream, writer):
                if w is not None:
                    w.close()
                    with contextlib.suppress(ConnectionError):
                        await w.wait_closed()
            self._writers.discard(writer)
            self._tasks.discard(task)

    async def aclose(self) -> None:
        for w in list(self._writers):
            w.close()
        await asyncio.gather(*self._tasks, return_exceptions=True)


async def _pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
    while data := await src.read(65536):
        dst.write(data)
        await dst.drain()


@contextlib.asynccontextmanager
async def forward_proxy() -> AsyncIterator[ForwardProxy]:
    proxy = ForwardProxy()
    srv = await asyncio.start_server(proxy.handle, "127.0.0.1", 0)
    proxy.url = f"http://127.0.0.1:{srv.sockets[0].getsockname()[1]}"
    try:
        yield proxy
    finally:
        srv.close()
        await proxy.aclose()
        await srv.wait_closed()


@contextlib.asynccontextmanager
async def serve(
    app: web.Application, ssl_context: ssl.SSLContext | None = None
) -> AsyncIterator[str]:
    """Run ``app`` on 127.0.0.1 and yield its base URL (https when given a context)."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ssl_context).start()
        port = runner.addresses[0][1]
        yield f"{'https' if ssl_context else 'http'}://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


@contextlib.asynccontextmanager
async def recording_server(ssl_context: ssl.SSLContext | None = None) -> AsyncIterator[Server]:
    """The conftest's recording server, optionally over TLS."""
    srv = Server()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", srv.handle)
    async with serve(app, ssl_context) as url:
        srv.url = url
        yield srv


@dataclass(frozen=True)
class Cert:
    cert: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(self.cert, self.key)
        return ctx

    def client_context(self) -> ssl.SSLContext:
        """A client context trusting the system CAs and this self-signed certificate."""
        return ssl.create_default_context(cafile=str(self.cert))


def make_self_signed(where: Path) -> Cert:
    """Write a self-signed certificate for 127.0.0.1 and localhost, valid for a day."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("the openssl command is needed to make a test certificate")
    cert, key = where / "cert.pem", where / "key.pem"
    subprocess.run(
        [
            *(openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"),
            *("-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
    )
    return Cert(cert, key)


@pytest.fixture(scope="module")
def self_signed(tmp_path_factory: pytest.TempPathFactory) -> Cert:
    return make_self_signed(tmp_path_factory.mktemp("tls"))


@pytest.fixture
async def proxy() -> AsyncIterator[ForwardProxy]:
    async with forward_proxy() as p:
        yield p


@pytest.fixture
async def tls_server(self_signed: Cert) -> AsyncIterator[Server]:
    async with recording_server(self_signed.server_context()) as srv:
        yield srv


@pytest.fixture
def no_env_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)


# --- TraceConfig -------------------------------------------------------------------------------


async def test_trace_config_of_a_caller_session_fires_for_every_attempt(
    server: Server, fake_sleep: FakeSleep
) -> None:
    events: list[tuple[str, object]] = []

    async def on_start(
        session: aiohttp.ClientSession, ctx: SimpleNamespace, p: aiohttp.TraceRequestStartParams
    ) -> None:
        events.append(("start", (p.method, str(p.url), p.headers.get("Authorization"))))

    async def on_end(
        session: aiohttp.ClientSession, ctx: SimpleNamespace, p: aiohttp.TraceRequestEndParams
    ) -> None:
        events.append(("end", p.response.status))

    trace = aiohttp.TraceConfig()
    trace.on_request_start.append(on_start)
    trace.on_request_end.append(on_end)
    server.reply(web.json_response({}, status=429, headers={"Retry-After": "0"}))
    url = f"{server.url}/v2/router/images/edits"
    async with aiohttp.ClientSession(trace_configs=[trace]) as session:
        async with OrqCore(KEY, server_url=server.url, session=session, sleep=fake_sleep) as core:
            res = await router_images_edits_create(core, BODY)
        assert isinstance(res, Ok)
        assert res.meta.attempts == 2
        assert not session.closed
        assert session.connector is not None
        assert not session.connector.closed
        # The session outlives the core and still works for other code.
        async with session.get(f"{server.url}/after") as resp:
            assert resp.status == 200
    auth = f"Bearer {KEY}"
    assert events == [
        ("start", ("POST", url, auth)),
        ("end", 429),
        ("start", ("POST", url, auth)),
        ("end", 200),
        ("start", ("GET", f"{server.url}/after", None)),
        ("end", 200),
    ]


async def test_caller_session_default_headers_reach_the_server(server: Server) -> None:
    async with (
        aiohttp.ClientSession(headers={"X-Team": "imaging"}) as session,
        OrqCore(server_url=server.url, session=session) as core,
    ):
        assert (await router_images_edits_create(core, BODY)).ok
    assert server.requests[0].headers["X-Team"] == "imaging"
    assert server.requests[0].headers["User-Agent"].startswith("orq-async/")


# --- proxies -----------------------------------------------------------------------------------


async def test_session_proxy_forwards_calls_in_absolute_form(
    server: Server, proxy: ForwardProxy
) -> None:
    with_credentials = str(URL(proxy.url).with_user("proxy-user").with_password("proxy-pass"))
    async with (
        aiohttp.ClientSession(proxy=with_credentials) as session,
        OrqCore(KEY, server_url=server.url, session=session) as core,
    ):
        res = await router_images_edits_create(core, BODY)
    assert isinstance(res, Ok)
    assert res.value.created == OK_BODY["created"]
    assert proxy.lines == [f"POST {server.url}/v2/router/images/edits HTTP/1.1"]
    basic = "Basic " + base64.b64encode(b"proxy-user:proxy-pass").decode()
    assert proxy.headers[0]["Proxy-Authorization"] == basic
    (received,) = server.requests
    assert received.path == "/v2/router/images/edits"
    assert received.headers["Authorization"] == f"Bearer {KEY}"
    assert "Proxy-Authorization" not in received.headers
    assert received.one("image").data == PNG


async def test_trust_env_takes_the_proxy_from_http_proxy(
    server: Server, proxy: ForwardProxy, no_env_proxy: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    async with (
        aiohttp.ClientSession() as session,  # trust_env defaults to False: no proxy
        OrqCore(server_url=server.url, session=session) as core,
    ):
        assert (await router_images_edits_create(core, BODY)).ok
    assert proxy.lines == []
    async with (
        aiohttp.ClientSession(trust_env=True) as session,
        OrqCore(server_url=server.url, session=session) as core,
    ):
        assert (await router_images_edits_create(core, BODY)).ok
    assert proxy.lines == [f"POST {server.url}/v2/router/images/edits HTTP/1.1"]
    assert len(server.requests) == 2


async def test_https_through_a_connect_tunnel_with_a_custom_ca(
    tls_server: Server, proxy: ForwardProxy, self_signed: Cert
) -> None:
    connector = aiohttp.TCPConnector(ssl=self_signed.client_context())
    async with (
        aiohttp.ClientSession(connector=connector, proxy=proxy.url) as session,
        OrqCore(KEY, server_url=tls_server.url, session=session) as core,
    ):
        assert (await router_images_edits_create(core, BODY)).ok
    host_port = tls_server.url.removeprefix("https://")
    assert proxy.lines == [f"CONNECT {host_port} HTTP/1.1"]
    assert "Authorization" not in proxy.headers[0]  # the key travels inside the tunnel only
    assert tls_server.requests[0].headers["Authorization"] == f"Bearer {KEY}"


async def test_an_unreachable_proxy_is_named_in_the_error(closed_port: int) -> None:
    async with (
        aiohttp.ClientSession(proxy=f"http://127.0.0.1:{closed_port}") as session,
        OrqCore(server_url="http://127.0.0.1:8123", session=session) as core,
    ):
        res = await router_images_edits_create(core, BODY)
    assert isinstance(res, Err)
    assert isinstance(res.error, APIConnectionError)
    assert f"cannot connect to the proxy 127.0.0.1:{closed_port}" in str(res.error)
    assert isinstance(res.error.__cause__, aiohttp.ClientProxyConnectionError)


# --- SSL ---------------------------------------------------------------------------------------


async def test_custom_ssl_context_trusts_a_self_signed_server(
    tls_server: Server, self_signed: Cert
) -> None:
    connector = aiohttp.TCPConnector(ssl=self_signed.client_context())
    async with aiohttp.ClientSession(connector=connector) as session:
        async with OrqCore(KEY, server_url=tls_server.url, session=session) as core:
            res = await router_images_edits_create(core, BODY)
        assert isinstance(res, Ok)
        assert not session.closed
    assert tls_server.url.startswith("https://127.0.0.1:")
    assert tls_server.requests[0].one("image").data == PNG


async def test_without_the_custom_context_verification_fails_as_an_err(
    tls_server: Server,
) -> None:
    async with OrqCore(KEY, server_url=tls_server.url) as core:  # the core's own session
        own = await router_images_edits_create(core, BODY)
    async with (
        aiohttp.ClientSession() as session,  # a caller session with default SSL
        OrqCore(KEY, server_url=tls_server.url, session=session) as core,
    ):
        given = await router_images_edits_create(core, BODY)
    for res in (own, given):
        assert isinstance(res, Err)
        assert isinstance(res.error, APIConnectionError)
        assert "certificate verify failed" in str(res.error)
        assert res.meta.status_code is None
        assert KEY not in str(res.error)
    assert tls_server.requests == []


# --- connector limits --------------------------------------------------------------------------


async def test_connector_limit_bounds_concurrent_calls() -> None:
    in_flight = peak = served = 0

    async def handle(request: web.Request) -> web.Response:
        nonlocal in_flight, peak, served
        in_flight += 1
        peak = max(peak, in_flight)
        try:
            await request.read()
            await asyncio.sleep(0.03)
            served += 1
            return web.json_response(OK_BODY)
        finally:
            in_flight -= 1

    app = web.Application()
    app.router.add_post("/v2/router/images/edits", handle)
    async with serve(app) as url:
        connector = aiohttp.TCPConnector(limit=2)
        async with (
            aiohttp.ClientSession(connector=connector) as session,
            OrqCore(server_url=url, session=session) as core,
        ):
            results = await asyncio.gather(
                *(router_images_edits_create(core, BODY) for _ in range(10))
            )
    assert all(r.ok for r in results)
    assert served == 10
    assert peak == 2

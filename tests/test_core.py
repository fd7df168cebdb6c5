"""OrqCore: lifecycle, sessions, headers, keys, timeouts, connection failures, concurrency."""

from __future__ import annotations

import asyncio
import logging

import aiohttp
import pytest
from aiohttp import web

from orq_async import Err, Ok, OrqCore, RequestOptions, RetryConfig
from orq_async._guards import is_loopback as _is_loopback
from orq_async.errors import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    InvalidRequestError,
    UnexpectedClientError,
)
from orq_async.funcs.router_images_edits_create import router_images_edits_create
from orq_async.result import ResponseMeta
from tests.conftest import OK_BODY, Recorded, Server

BODY = {"model": "m", "prompt": "p"}
KEY = "sk-very-secret-key-123"


async def test_session_is_lazy_and_closed_by_aclose(server: Server) -> None:
    core = OrqCore(server_url=server.url)
    assert core._session is None
    res = await router_images_edits_create(core, BODY)
    assert res.ok
    session = core._session
    assert session is not None
    await core.aclose()
    assert session.closed
    assert core.closed
    await core.aclose()  # idempotent
    with pytest.raises(RuntimeError, match="closed"):
        async with core:
            pass


async def test_caller_owned_session_is_never_closed(server: Server) -> None:
    async with aiohttp.ClientSession() as session:
        async with OrqCore(server_url=server.url, session=session) as core:
            res = await router_images_edits_create(core, BODY)
        assert res.ok
        assert not session.closed
        async with session.get(server.url + "/still-usable") as resp:
            assert resp.status == 200


async def test_closed_caller_session_is_a_programmer_error(server: Server) -> None:
    session = aiohttp.ClientSession()
    await session.close()
    async with OrqCore(server_url=server.url, session=session) as core:
        with pytest.raises(RuntimeError, match="session given to OrqCore is closed"):
            await router_images_edits_create(core, BODY)


async def test_key_from_env_and_async_provider(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ORQ_API_KEY", "from-env")
    keys = iter(["rotated-1", "rotated-2"])

    async def provider() -> str:
        return next(keys)

    async with OrqCore(server_url=server.url) as core:
        await router_images_edits_create(core, BODY)
    async with OrqCore(provider, server_url=server.url) as core:
        await router_images_edits_create(core, BODY)
        await router_images_edits_create(core, BODY)
    auth = [r.headers.get("Authorization") for r in server.requests]
    assert auth == ["Bearer from-env", "Bearer rotated-1", "Bearer rotated-2"]


async def test_failing_key_provider_is_an_unexpected_client_error(server: Server) -> None:
    async def provider() -> str:
        raise LookupError(KEY)

    async with OrqCore(provider, server_url=server.url) as core:
        res = await router_images_edits_create(core, BODY)
    assert isinstance(res, Err)
    assert isinstance(res.error, UnexpectedClientError)
    assert KEY not in str(res.error)
    assert server.requests == []


@pytest.mark.parametrize(
    ("core_kwargs", "options", "needle"),
    [
        ({"api_key": "sk\r\nX-Evil: 1"}, None, "API key"),
        ({"user_agent": "ua\nX-Evil: 1"}, None, "user_agent"),
        ({}, RequestOptions(headers={"X-Trace": "a\r\nb"}), "X-Trace"),
        ({}, RequestOptions(headers={"Authorization": "Bearer other"}), "api_key"),
        ({}, RequestOptions(server_url="ftp://example.com"), "absolute http"),
        ({}, RequestOptions(server_url="not a url"), "server_url"),
        ({}, RequestOptions(headers={"X-Count": 5}), "X-Count"),  # type: ignore[dict-item]
        ({"api_key": 12345}, None, "API key"),
    ],
)
async def test_requests_that_cannot_be_built(
    server: Server, core_kwargs: dict[str, str], options: RequestOptions | None, needle: str
) -> None:
    async with OrqCore(server_url=server.url, **core_kwargs) as core:  # type: ignore[arg-type]
        res = await router_images_edits_create(core, BODY, options)
    assert isinstance(res, Err)
    assert isinstance(res.error, InvalidRequestError)
    assert needle in str(res.error)
    assert "Evil" not in str(res.error) or needle == "X-Trace"
    assert server.requests == []


async def test_per_call_options_headers_server_and_user_agent(server: Server) -> None:
    other: list[Recorded] = []
    app = web.Application()

    async def handle(request: web.Request) -> web.Response:
        other.append(Recorded(request.method, request.path, dict(request.headers), b"", []))
        return web.json_response(OK_BODY)

    app.router.add_post("/base/v2/router/images/edits", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        port = runner.addresses[0][1]
        async with OrqCore(KEY, server_url=server.url, user_agent="svc/1") as core:
            opts = RequestOptions(
                headers={"X-Trace": "t-1"}, server_url=f"http://127.0.0.1:{port}/base/"
            )
            res = await router_images_edits_create(core, BODY, opts)
    finally:
        await runner.cleanup()
    assert res.ok
    assert server.requests == []
    (req,) = other
    assert req.headers["X-Trace"] == "t-1"
    assert req.headers["User-Agent"] == "svc/1"
    assert req.headers["Authorization"] == f"Bearer {KEY}"


async def test_timeout_is_per_attempt_and_returns_api_timeout_error(server: Server) -> None:
    async def slow(_rec: Recorded) -> web.StreamResponse:
        await asyncio.sleep(2)
        return web.json_response(OK_BODY)

    server.reply(slow)
    async with OrqCore(server_url=server.url, timeout_ms=150) as core:
        started = asyncio.get_running_loop().time()
        res = await router_images_edits_create(core, BODY)
        elapsed = asyncio.get_running_loop().time() - started
        # The same core goes on working after a timeout.
        again = await router_images_edits_create(core, BODY, RequestOptions(timeout_ms=None))
    assert isinstance(res, Err)
    assert isinstance(res.error, APITimeoutError)
    assert isinstance(res.error, APIConnectionError)
    assert res.meta == ResponseMeta(attempts=1)
    assert 0.1 < elapsed < 1.5
    assert again.ok


async def test_connection_refused(closed_port: int) -> None:
    async with OrqCore(KEY, server_url=f"http://127.0.0.1:{closed_port}") as core:
        res = await router_images_edits_create(core, BODY)
    assert isinstance(res, Err)
    assert type(res.error) is APIConnectionError
    assert f"127.0.0.1:{closed_port}" in str(res.error)
    assert res.meta.status_code is None
    # The aiohttp cause is kept for callers, without the traceback whose frames hold the key.
    assert isinstance(res.error.__cause__, aiohttp.ClientConnectorError)
    assert res.error.__cause__.__traceback__ is None


async def test_redirects_are_not_followed_and_never_carry_the_key(server: Server) -> None:
    server.reply(web.Response(status=307, headers={"Location": "http://127.0.0.2:9/steal"}))
    async with OrqCore(KEY, server_url=server.url) as core:
        res = await router_images_edits_create(core, BODY)
    assert isinstance(res, Err)
    assert type(res.error) is APIError
    assert res.error.status_code == 307
    assert len(server.requests) == 1


async def test_api_key_is_never_in_reprs_messages_or_args(server: Server) -> None:
    server.reply(web.json_response({"error": {"message": f"bad key {KEY}"}}, status=401))
    async with OrqCore(KEY, server_url=server.url) as core:
        res = await router_images_edits_create(core, BODY)
        assert KEY not in repr(core)
        assert KEY not in str(vars(core).get("server_url"))
    assert isinstance(res, Err)
    for text in (repr(res), str(res.error), repr(res.error.args), res.error.body):
        assert KEY not in text
    assert "[REDACTED]" in str(res.error)


def test_loopback_detection_for_the_plain_http_warning() -> None:
    assert _is_loopback("127.0.0.1")
    assert _is_loopback("localhost")
    assert _is_loopback("[::1]")
    assert not _is_loopback("example.com")
    assert not _is_loopback("10.0.0.1")


async def test_one_core_serves_many_concurrent_tasks(server: Server) -> None:
    async with OrqCore(server_url=server.url, limit=20) as core:
        results = await asyncio.gather(
            *(router_images_edits_create(core, {**BODY, "user": str(i)}) for i in range(300))
        )
    assert all(isinstance(r, Ok) for r in results)
    users = sorted(int(r.one("user").text) for r in server.requests)
    assert users == list(range(300))


async def test_debug_log_never_contains_the_key(
    server: Server, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="orq_async")
    async with OrqCore(KEY, server_url=server.url, retry_config=RetryConfig("none")) as core:
        await router_images_edits_create(core, BODY)
    assert "attempt 1 -> 200" in caplog.text
    assert KEY not in caplog.text

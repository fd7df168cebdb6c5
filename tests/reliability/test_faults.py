"""The fault matrix: every way the gateway (or the network) can fail, retries off and on.

Each fault is served by a raw loopback server. For each we assert the exact ``Result`` type and
error class, the attempts the server saw (and the core reported), that every attempt carried
the same bytes, and, where the client waited, that it waited what the policy says.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import pytest

from orq_async import BackoffStrategy, Err, Ok, OrqCore, RequestOptions, RetryConfig
from orq_async.errors import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    InternalServerError,
    OrqError,
    RateLimitError,
    ResponseValidationError,
)
from orq_async.funcs.router_images_edits_create import router_images_edits_create
from orq_async.throttle import Throttle
from tests.conftest import OK_BODY, PNG
from tests.reliability._support import RawServer, RecordingSleep, Seen, http_response

# These tests pin one call's retry policy (its waits, exactly); the core-wide cooldown,
# which adds paced waits after a 429/503, is tested in tests/test_throttle.py.
NO_COOLDOWN = Throttle(cooldown=False)

BODY = {"model": "openai/gpt-image-1", "prompt": "p", "image": PNG}
OFF = RetryConfig("none")
ON = RetryConfig("backoff", BackoffStrategy(10, 100, 2.0, 60_000), retry_connection_errors=True)
ATTEMPTS_ON = ON.max_retries + 1
SLOW_MS = 250  # the per-attempt timeout where the fault is slowness
FAST_MS = 5_000  # everywhere else: generous, so a loaded machine never trips it
STALL = 30.0  # a stalled server sleeps this long (it is cancelled when the test ends)

Send = Callable[[asyncio.StreamWriter], Awaitable[None]]


def _send(data: bytes, *, close: bool = True, then_sleep: float = 0.0) -> Send:
    async def send(writer: asyncio.StreamWriter) -> None:
        writer.write(data)
        await writer.drain()
        if then_sleep:
            await asyncio.sleep(then_sleep)

    return send


async def _close_at_once(writer: asyncio.StreamWriter) -> None:
    return None


async def _stall(writer: asyncio.StreamWriter) -> None:
    await asyncio.sleep(STALL)


def _error_json(status: int, message: str = "boom") -> bytes:
    return json.dumps({"error": {"message": message, "code": status}}).encode()


def _http_date(seconds_ahead: float) -> str:
    return email.utils.formatdate(time.time() + seconds_ahead, usegmt=True)


async def _send_dated_429(writer: asyncio.StreamWriter) -> None:
    headers = {"Retry-After": _http_date(5)}
    writer.write(http_response(429, _error_json(429), headers=headers))
    await writer.drain()


EXTRA = {
    **OK_BODY,
    "data": [{"b64_json": "aGVsbG8=", "url": None, "new_item_field": [1, 2]}],
    "brand_new": {"nested": True},
    "usage": {**OK_BODY["usage"], "cost_usd": 0.04},  # type: ignore[dict-item]
}
HTML = b"<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"
OK_JSON = json.dumps(OK_BODY).encode()


@dataclass(frozen=True)
class Fault:
    """A fault, what it must come back as, and whether the default retry codes retry it."""

    send: Send | None  # None: nothing listens (connection refused)
    expect: type[OrqError] | None  # None: Ok
    status: int | None
    retried: bool
    timeout_ms: int = FAST_MS
    wait: float | None = None  # the exact wait the server asks for (after the 100 ms cap)


FAULTS: dict[str, Fault] = {
    "429 Retry-After seconds": Fault(
        _send(http_response(429, _error_json(429), headers={"Retry-After": "1"})),
        RateLimitError,
        429,
        True,
        wait=0.1,  # 1 s asked, capped by max_interval (100 ms)
    ),
    "429 Retry-After HTTP-date": Fault(
        _send_dated_429,  # the date is taken when the response is sent, 5 s ahead
        RateLimitError,
        429,
        True,
        wait=0.1,
    ),
    "429 retry-after-ms": Fault(
        _send(http_response(429, _error_json(429), headers={"retry-after-ms": "30"})),
        RateLimitError,
        429,
        True,
        wait=0.03,
    ),
    "500": Fault(_send(http_response(500, _error_json(500))), InternalServerError, 500, True),
    "502 HTML page": Fault(
        _send(http_response(502, HTML, content_type="text/html")), InternalServerError, 502, True
    ),
    "503": Fault(_send(http_response(503, _error_json(503))), InternalServerError, 503, True),
    "connection refused": Fault(None, APIConnectionError, None, True),
    "closed before the status line": Fault(_close_at_once, APIConnectionError, None, True),
    "closed mid-body": Fault(
        _send(http_response(200, OK_JSON[:20], length=len(OK_JSON))),
        APIConnectionError,
        None,
        True,
    ),
    "headers slower than the timeout": Fault(
        _stall, APITimeoutError, None, True, timeout_ms=SLOW_MS
    ),
    "body slower than the timeout": Fault(
        _send(http_response(200, OK_JSON[:20], length=len(OK_JSON)), then_sleep=STALL),
        APITimeoutError,
        None,
        True,
        timeout_ms=SLOW_MS,
    ),
    "truncated JSON": Fault(
        _send(http_response(200, OK_JSON[:-7])), ResponseValidationError, 200, False
    ),
    "invalid JSON": Fault(
        _send(http_response(200, b'{"created": 1, "data": [}')),
        ResponseValidationError,
        200,
        False,
    ),
    "JSON of the wrong shape": Fault(
        _send(http_response(200, b'{"created": "yesterday", "data": {"b64_json": 1}}')),
        ResponseValidationError,
        200,
        False,
    ),
    "wrong content type": Fault(
        _send(http_response(200, OK_JSON, content_type="text/plain")),
        ResponseValidationError,
        200,
        False,
    ),
    "empty body": Fault(_send(http_response(200, b"")), ResponseValidationError, 200, False),
    "200 with unknown extra fields": Fault(
        _send(http_response(200, json.dumps(EXTRA).encode())), None, 200, False
    ),
    "3XX redirect to another host": Fault(
        _send(
            http_response(
                307, b"", content_type=None, headers={"Location": "http://127.0.0.2:9/v2/x"}
            )
        ),
        APIError,
        307,
        False,
    ),
}


def _behaviour(fault: Fault, healthy_after: int | None = None) -> Callable[..., Awaitable[bool]]:
    async def behave(n: int, _seen: Seen, writer: asyncio.StreamWriter) -> bool:
        if healthy_after is not None and n > healthy_after:
            writer.write(http_response(200, OK_JSON))
            await writer.drain()
            return False
        assert fault.send is not None
        await fault.send(writer)
        return False

    return behave


async def _call(url: str, config: RetryConfig, fault: Fault, sleep: RecordingSleep) -> tuple:
    async with OrqCore(
        "sk-test", server_url=url, retry_config=config, sleep=sleep, throttle=NO_COOLDOWN
    ) as core:
        loop = asyncio.get_running_loop()
        started = loop.time()
        res = await router_images_edits_create(
            core, BODY, RequestOptions(timeout_ms=fault.timeout_ms)
        )
        return res, loop.time() - started


def _expected_waits_bounds(fault: Fault, retries: int) -> tuple[float, float]:
    """Lower and upper bound of the total wait the policy allows for ``retries`` retries."""
    if fault.wait is not None:
        return fault.wait * retries, fault.wait * retries
    low = sum(min(0.1, 0.01 * 2**k) * 0.5 for k in range(retries))
    high = sum(min(0.1, 0.01 * 2**k) for k in range(retries))
    return low, high


@pytest.mark.parametrize("retries", ["off", "on"])
@pytest.mark.parametrize("name", list(FAULTS))
async def test_fault_matrix(name: str, retries: str, closed_port: int) -> None:
    fault = FAULTS[name]
    config = ON if retries == "on" else OFF
    sleep = RecordingSleep()
    if fault.send is None:
        res, elapsed = await _call(f"http://127.0.0.1:{closed_port}", config, fault, sleep)
        seen: list[Seen] = []
    else:
        async with RawServer(_behaviour(fault)) as srv:
            res, elapsed = await _call(srv.url, config, fault, sleep)
            seen = srv.requests
    expected_attempts = ATTEMPTS_ON if retries == "on" and fault.retried else 1

    if fault.expect is None:
        assert type(res) is Ok
        assert res.value.extra == {"brand_new": {"nested": True}}
        assert res.value.data[0].extra == {"new_item_field": [1, 2]}
        assert res.value.usage is not None
        assert res.value.usage.extra == {"cost_usd": 0.04}
    else:
        assert type(res) is Err
        assert type(res.error) is fault.expect
    assert res.meta.attempts == expected_attempts
    assert res.meta.status_code == fault.status
    assert len(seen) == (0 if fault.send is None else expected_attempts)
    assert len({s.sha256 for s in seen}) <= 1, "every attempt must send the same bytes"
    assert all(s.headers["authorization"] == "Bearer sk-test" for s in seen)

    retried = expected_attempts - 1
    assert len(sleep.waits) == retried
    low, high = _expected_waits_bounds(fault, retried)
    assert low - 1e-6 <= sum(sleep.waits) <= high + 1e-6
    if fault.wait is not None:
        assert sleep.waits == [pytest.approx(fault.wait)] * retried
    # Time bounds: at least the waits (and each attempt's timeout where the fault is slowness),
    # and, generously, not much more.
    floor = sum(sleep.waits)
    if fault.expect is APITimeoutError:
        floor += expected_attempts * fault.timeout_ms / 1000
        assert floor - 0.05 <= elapsed < floor + 10
    else:
        assert floor - 0.01 <= elapsed < floor + 10
    if isinstance(res, Err) and isinstance(res.error, APIError):
        assert res.error.status_code == fault.status
        if name == "502 HTML page":
            assert "502 Bad Gateway" in res.error.body
            assert res.error.json is None
    if isinstance(res, Err) and isinstance(res.error, ResponseValidationError):
        assert res.error.status_code == 200


@pytest.mark.parametrize("name", [n for n in FAULTS if n != "connection refused"])
async def test_one_fault_then_healthy(name: str) -> None:
    """A transient fault: retried ones recover in two attempts, the others are final."""
    fault = FAULTS[name]
    sleep = RecordingSleep()
    async with RawServer(_behaviour(fault, healthy_after=1)) as srv:
        res, _elapsed = await _call(srv.url, ON, fault, sleep)
    if fault.retried or fault.expect is None:
        assert type(res) is Ok
        assert res.meta.attempts == len(srv.requests) == (2 if fault.retried else 1)
    else:
        assert type(res) is Err
        assert type(res.error) is fault.expect
        assert res.meta.attempts == len(srv.requests) == 1


async def test_redirect_target_on_another_host_receives_nothing() -> None:
    """The SDK never follows a redirect, so the key never reaches the other host."""

    async def other(_n: int, _seen: Seen, writer: asyncio.StreamWriter) -> bool:
        writer.write(http_response(200, OK_JSON))
        return False

    async with RawServer(other, host="127.0.0.2") as thief:
        for status in (301, 302, 303, 307, 308):

            async def redirect(
                _n: int, _seen: Seen, writer: asyncio.StreamWriter, status: int = status
            ) -> bool:
                location = f"{thief.url}/v2/router/images/edits"
                writer.write(http_response(status, b"", headers={"Location": location}))
                return False

            async with (
                RawServer(redirect) as srv,
                OrqCore("sk-redirect", server_url=srv.url, retry_config=ON) as core,
            ):
                res = await router_images_edits_create(core, BODY)
            assert type(res) is Err
            assert type(res.error) is APIError
            assert res.error.status_code == status
            assert res.error.headers["Location"].startswith(thief.url)
            assert len(srv.requests) == 1
        assert thief.connections == 0
        assert thief.requests == []

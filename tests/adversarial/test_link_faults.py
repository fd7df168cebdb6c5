"""Issue 10, point 19: real link faults between real sockets (a loopback fault proxy).

Under each fault (latency, bandwidth cap, reset after N bytes, blackhole, slow close), with
client retries off and on, three concurrent calls each end within their timeout with the
documented ``Result``; whenever a call is ``Ok`` the server received the image intact (its
SHA-256, computed server-side); and afterwards no descriptor, connection or task is left.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from typing import Any

import pytest
from aiohttp import web

from orq_async import BackoffStrategy, Ok, OrqCore, RetryConfig
from orq_async.errors import APIConnectionError, APITimeoutError, OrqError
from tests.adversarial._faultproxy import Fault, FaultProxy
from tests.adversarial._support import OFF, body, edit, err_of
from tests.conftest import OK_BODY, PNG, Server
from tests.reliability._support import settle, stable_fd_count

IMAGE = PNG + os.urandom(128 * 1024)
DIGEST = hashlib.sha256(IMAGE).hexdigest()
ON = RetryConfig("backoff", BackoffStrategy(5, 20, 2.0, 60_000), retry_connection_errors=True)
CALLS = 3

# fault, per-attempt timeout (ms), expected outcome (None: Ok)
FAULTS: dict[str, tuple[Fault, int, type[OrqError] | None]] = {
    "latency 30 ms": (Fault(latency=0.03), 5_000, None),
    "bandwidth 1 MiB/s": (Fault(bandwidth=1 << 20), 5_000, None),
    "reset after 32 KiB": (Fault(reset_after=32 * 1024), 5_000, APIConnectionError),
    "blackhole": (Fault(blackhole=True), 300, APITimeoutError),
    "slow close 0.5 s": (Fault(slow_close=0.5), 5_000, None),
}


def _closing_ok() -> web.StreamResponse:
    response = web.json_response(OK_BODY)
    response.force_close()  # the upstream closes: the proxy holds that close back
    return response


@pytest.mark.parametrize("retries", [OFF, ON], ids=["retries off", "retries on"])
@pytest.mark.parametrize("name", list(FAULTS))
async def test_calls_under_a_link_fault_end_in_time_intact_and_leak_nothing(
    server: Server, name: str, retries: RetryConfig
) -> None:
    """Point 19: documented Result in time, intact bytes when Ok, no fd/connection/task leak."""
    fault, timeout_ms, expected = FAULTS[name]
    if fault.slow_close:
        server.default = _closing_ok
    host, port = server.url.removeprefix("http://").split(":")
    attempts = 1 if expected is None or retries is OFF else retries.max_retries + 1
    bound = attempts * (timeout_ms / 1000 + 0.5) + 2.0  # attempts x timeout, waits, slack
    async with FaultProxy((host, int(port)), fault) as proxy:
        fds = await stable_fd_count()
        tasks = len(asyncio.all_tasks())
        core = OrqCore(server_url=proxy.url, retry_config=retries, timeout_ms=timeout_ms)
        try:
            calls = [edit(core, body(IMAGE)) for _ in range(CALLS)]
            results: list[Any] = await asyncio.wait_for(asyncio.gather(*calls), bound)
        finally:
            await core.aclose()
        assert await settle(lambda: proxy.open_connections == 0, 3.0), "connections left open"
        assert await settle(lambda: len(asyncio.all_tasks()) <= tasks, 3.0), "tasks leaked"
        assert await stable_fd_count() <= fds, "descriptors leaked"
    for result in results:
        if expected is None:
            assert isinstance(result, Ok), result
        else:
            err_of(result, expected)
        assert result.meta.attempts == attempts
    if expected is not None:
        assert proxy.connections == CALLS * attempts
    if expected is APIConnectionError:
        assert proxy.resets == CALLS * attempts
    images = [r.one("image").data for r in server.requests]
    if expected is None:
        assert len(images) == CALLS
    assert all(hashlib.sha256(data).hexdigest() == DIGEST for data in images)

"""Issue 10, points 12 and 13: closing a busy core, and one core across event loops.

- ``aclose()`` while calls wait for a pooled connection ends those calls with
  ``Err(APIConnectionError)`` saying the core was closed; nobody cancelled them, so they never
  see ``CancelledError``.
- A core used from two ``asyncio.run`` calls (scripts and test suites do that) works in the
  second loop too, and leaks nothing: no ``ResourceWarning`` when everything is collected.
"""

from __future__ import annotations

import asyncio
import gc
import warnings
from typing import Any

from aiohttp import web

from orq_async import Ok, OrqCore
from orq_async.errors import APIConnectionError
from tests.adversarial._support import OFF, edit
from tests.conftest import OK_BODY
from tests.reliability._support import RawServer, Seen, open_fd_count


async def _stall(_n: int, seen: Seen, _writer: asyncio.StreamWriter) -> bool:
    await seen.until_disconnected(30)
    return False


async def test_aclose_ends_calls_waiting_for_a_pooled_connection_with_err() -> None:
    """Point 12: ``limit=1``, one call in flight, three waiting; ``aclose()`` → four ``Err``."""
    async with RawServer(_stall) as srv:
        core = OrqCore(server_url=srv.url, retry_config=OFF, limit=1, timeout_ms=20_000)
        calls = [asyncio.create_task(edit(core)) for _ in range(4)]
        await asyncio.wait_for(srv.request_read.wait(), 5)  # one call holds the connection
        await asyncio.sleep(0.05)  # the others are now queued in the pool
        assert srv.connections == 1
        await core.aclose()
        outcomes: list[Any] = await asyncio.wait_for(
            asyncio.gather(*calls, return_exceptions=True), 5
        )
    cancelled = [o for o in outcomes if isinstance(o, BaseException)]
    assert not cancelled, f"calls raised instead of returning Err: {cancelled!r}"
    errors = [o.error for o in outcomes if not isinstance(o, Ok)]
    assert len(errors) == 4, outcomes
    assert all(isinstance(e, APIConnectionError) for e in errors), errors
    waiting = [e for e in errors if "closed" in str(e).lower()]
    assert len(waiting) >= 3, f"the waiting calls must say the core was closed: {errors!r}"


def _serve_once_in_this_loop(core: OrqCore) -> Any:
    """Start a server inside the running loop, make one call through ``core``, stop it."""

    async def run() -> Any:
        async def ok(_request: web.Request) -> web.StreamResponse:
            await _request.read()
            return web.json_response(OK_BODY)

        app = web.Application()
        app.router.add_post("/v2/router/images/edits", ok)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        url = f"http://127.0.0.1:{runner.addresses[0][1]}"
        try:
            return await asyncio.wait_for(edit(core, server_url=url), 10)
        finally:
            await runner.cleanup()

    return run


def test_one_core_works_in_two_event_loops_and_leaks_nothing() -> None:
    """Point 13: two ``asyncio.run`` calls on one core: both ``Ok``, no ResourceWarning."""
    fds = open_fd_count()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        core = OrqCore(retry_config=OFF)
        first = asyncio.run(_serve_once_in_this_loop(core)())
        second = asyncio.run(_serve_once_in_this_loop(core)())
        asyncio.run(core.aclose())
        del core
        gc.collect()
    assert isinstance(first, Ok), first
    assert isinstance(second, Ok), second
    leaks = [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]
    assert not leaks, leaks
    assert open_fd_count() <= fds, "descriptors leaked across the two loops"

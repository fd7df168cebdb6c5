"""Gateway-level fault injection: status, disconnect, delay, malformed; FIFO and concurrency."""

from __future__ import annotations

import asyncio
import hashlib
import time

import aiohttp
import pytest

from orq_async.testing import EDITS_PATH, Emulator

from ._helpers import edit_form, last, post


async def test_inject_status_with_retry_after(
    emu: Emulator, session: aiohttp.ClientSession
) -> None:
    emu.inject(429, times=2, retry_after="2", retry_after_ms=1500)
    for _ in range(2):
        async with session.post(emu.url + EDITS_PATH, data=edit_form()) as resp:
            assert resp.status == 429
            assert resp.headers["Retry-After"] == "2"
            assert resp.headers["retry-after-ms"] == "1500"
            assert (await resp.json())["error"]["code"] == "injected_fault"
    assert (await post(session, emu.url, edit_form()))[0] == 200
    assert [t.fault for t in emu.traces] == ["status:429", "status:429", None]
    assert emu.traces[0].body_sha256 is not None
    assert emu.traces[0].model_requested is None  # answered before any parsing


async def test_inject_custom_body_and_content_type(
    emu: Emulator, session: aiohttp.ClientSession
) -> None:
    emu.inject(502, body="<html>bad gateway</html>", content_type="text/html")
    async with session.post(emu.url + EDITS_PATH, data=b"not even multipart") as resp:
        assert resp.status == 502
        assert resp.content_type == "text/html"
        assert await resp.text() == "<html>bad gateway</html>"
    assert last(emu).body_sha256 == hashlib.sha256(b"not even multipart").hexdigest()


async def test_injection_comes_before_authentication(session: aiohttp.ClientSession) -> None:
    async with Emulator(api_keys={"k"}) as emu:
        emu.inject(503)
        assert (await post(session, emu.url, edit_form()))[0] == 503


async def test_inject_disconnect(emu: Emulator, session: aiohttp.ClientSession) -> None:
    emu.inject_disconnect(times=1)
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await post(session, emu.url, edit_form())
    assert (await post(session, emu.url, edit_form()))[0] == 200
    dropped, answered = emu.traces
    assert (dropped.status, dropped.fault) == (None, "disconnect")
    assert dropped.body_sha256 is not None
    assert answered.status == 200


async def test_inject_delay(emu: Emulator, session: aiohttp.ClientSession) -> None:
    emu.inject_delay(0.2)
    started = time.perf_counter()
    assert (await post(session, emu.url, edit_form()))[0] == 200
    assert time.perf_counter() - started >= 0.2
    assert last(emu).fault == "delay:0.2s"
    assert last(emu).model_used == "local/echo"


async def test_inject_malformed(emu: Emulator, session: aiohttp.ClientSession) -> None:
    emu.inject_malformed(times=1)
    async with session.post(emu.url + EDITS_PATH, data=edit_form()) as resp:
        assert resp.status == 200
        assert resp.content_type == "application/json"
        assert await resp.read() == b'{"created": '
    emu.inject_malformed(body=b"plain", content_type="text/plain")
    async with session.post(emu.url + EDITS_PATH, data=edit_form()) as resp:
        assert (resp.status, await resp.text()) == (200, "plain")


async def test_injections_are_consumed_in_fifo_order(
    emu: Emulator, session: aiohttp.ClientSession
) -> None:
    emu.inject(500, times=2)
    emu.inject_malformed()
    emu.inject(503)
    assert emu.pending_faults == 4
    statuses = []
    for _ in range(5):
        async with session.post(emu.url + EDITS_PATH, data=edit_form()) as resp:
            statuses.append(resp.status)
            await resp.read()
    assert statuses == [500, 500, 200, 503, 200]
    assert [t.fault for t in emu.traces] == [
        "status:500",
        "status:500",
        "malformed",
        "status:503",
        None,
    ]
    assert emu.pending_faults == 0


async def test_concurrent_requests_each_consume_one_injection(
    emu: Emulator, session: aiohttp.ClientSession
) -> None:
    emu.inject(503, times=5)
    results = await asyncio.gather(*(post(session, emu.url, edit_form()) for _ in range(12)))
    statuses = sorted(status for status, _ in results)
    assert statuses == [200] * 7 + [503] * 5
    assert emu.pending_faults == 0
    assert sum(t.fault == "status:503" for t in emu.traces) == 5


async def test_bad_injection_arguments(emu: Emulator) -> None:
    with pytest.raises(ValueError, match="times"):
        emu.inject(503, times=0)
    with pytest.raises(ValueError, match="status"):
        emu.inject(700)
    with pytest.raises(ValueError, match="seconds"):
        emu.inject_delay(-1)
    emu.inject(503, times=3)
    emu.clear_faults()
    assert emu.pending_faults == 0

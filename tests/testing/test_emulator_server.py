"""Lifecycle of the emulator: start, free port, close, its own endpoints, serve_forever."""

from __future__ import annotations

import asyncio
import socket

import aiohttp
import pytest

from orq_async.testing import EDITS_PATH, Emulator, serve_forever

from ._helpers import edit_form, post


async def test_starts_on_a_free_loopback_port_and_stops() -> None:
    emu = Emulator()
    with pytest.raises(RuntimeError, match="not running"):
        _ = emu.url
    await emu.start()
    try:
        host, _, port = emu.url.removeprefix("http://").partition(":")
        assert host == "127.0.0.1"
        assert int(port) > 0
        async with aiohttp.ClientSession() as session:
            status, body = await post(session, emu.url, edit_form())
        assert status == 200
        assert body["data"]
    finally:
        await emu.close()
    await emu.close()  # idempotent
    with pytest.raises(RuntimeError):
        await emu.start()
    with pytest.raises(ConnectionRefusedError):
        await asyncio.open_connection("127.0.0.1", int(port))


async def test_two_emulators_get_different_ports() -> None:
    async with Emulator() as one, Emulator() as two:
        assert one.url != two.url


async def test_explicit_port() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    async with Emulator(port=port) as emu:
        assert emu.url == f"http://127.0.0.1:{port}"


async def test_health_and_json_404(emu: Emulator, session: aiohttp.ClientSession) -> None:
    async with session.get(emu.url + "/v2/emulator/health") as resp:
        assert resp.status == 200
        assert await resp.json() == {"status": "ok"}
    async with session.get(emu.url + "/nope") as resp:
        assert resp.status == 404
        assert (await resp.json())["error"]["code"] == "not_found"
    async with session.get(emu.url + "/v2/router/images/edits") as resp:
        assert resp.status == 405
        assert "error" in await resp.json()


async def test_serve_forever_reports_its_url_and_stops_on_cancel() -> None:
    ready: asyncio.Queue[str] = asyncio.Queue()
    task = asyncio.create_task(serve_forever("127.0.0.1", 0, on_ready=ready.put_nowait))
    url = await asyncio.wait_for(ready.get(), 5)
    async with aiohttp.ClientSession() as session, session.get(url + "/v2/emulator/health") as r:
        assert r.status == 200
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_serve_forever_passes_the_emulator_and_its_settings() -> None:
    started: asyncio.Queue[Emulator] = asyncio.Queue()
    task = asyncio.create_task(
        serve_forever(
            "127.0.0.1",
            0,
            on_started=started.put_nowait,
            api_keys=["k"],
            rate_limit=1,
            burst=1,
            admin_token="t",
            keep_images=0,
        )
    )
    emu = await asyncio.wait_for(started.get(), 5)
    assert emu.admin_token == "t"
    assert emu.viewer_url == emu.url + "/?token=t"
    auth = {"Authorization": "Bearer k"}
    async with aiohttp.ClientSession(headers=auth) as session:
        statuses = []
        for _ in range(2):
            async with session.post(emu.url + EDITS_PATH, data=edit_form()) as resp:
                statuses.append(resp.status)
        async with session.get(emu.url + "/v2/emulator/traces") as resp:
            assert resp.status == 401  # the admin token is not the API key
    assert statuses == [200, 429]
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

"""Traces: what each request leaves behind, in Python and at /v2/emulator/traces."""

from __future__ import annotations

import asyncio
import hashlib
import time

import aiohttp

from orq_async.testing import EDITS_PATH, Emulator, PartInfo

from ._helpers import edit_form, image_bytes, last, post


async def test_trace_content(emu: Emulator, session: aiohttp.ClientSession) -> None:
    identity = {"id": "contact_1", "display_name": "Jane", "tags": ["hr"], "metadata": [{"a": 1}]}
    form = edit_form(
        model="local/flaky-1-503",
        retry={"count": 1},
        user="user-7",
        name="top-name",
        orq={"identity": identity, "name": "orq-name"},
    )
    before = time.time()
    async with session.post(
        emu.url + EDITS_PATH,
        data=form,
        headers={"User-Agent": "emu-test/1", "Authorization": "Bearer secret-key"},
    ) as resp:
        body = await resp.read()
        assert resp.status == 200, body
    (trace,) = emu.traces
    assert trace.status == 200
    assert trace.model_requested == "local/flaky-1-503"
    assert trace.model_used == "local/flaky-1-503"
    assert [(a.model, a.status) for a in trace.attempts] == [
        ("local/flaky-1-503", 503),
        ("local/flaky-1-503", 200),
    ]
    assert trace.cache_hit is False
    assert trace.identity == identity
    assert (trace.name, trace.user, trace.prompt) == ("orq-name", "user-7", "make it pop")
    assert trace.image_count == 1
    assert trace.request_headers["user-agent"] == "emu-test/1"
    assert "authorization" not in trace.request_headers
    assert "secret-key" not in repr(trace.to_json())
    assert before <= trace.received_at <= time.time()
    assert len(trace.id) == 32
    assert trace.parts[2] == PartInfo(
        "image", "in0.png", "application/octet-stream", len(image_bytes())
    )
    assert trace.fields["model"] == "local/flaky-1-503"
    assert trace.fault is None
    assert trace.error is None


async def test_body_sha256_is_the_raw_body_hash(
    emu: Emulator, session: aiohttp.ClientSession
) -> None:
    body = (
        b'--XX\r\nContent-Disposition: form-data; name="model"\r\n\r\nlocal/echo\r\n'
        b'--XX\r\nContent-Disposition: form-data; name="prompt"\r\n\r\np\r\n'
        b'--XX\r\nContent-Disposition: form-data; name="image"; filename="a.png"\r\n\r\n'
        + image_bytes()
        + b"\r\n--XX--\r\n"
    )
    headers = {"Content-Type": "multipart/form-data; boundary=XX"}
    assert (await post(session, emu.url, body, headers=headers))[0] == 200
    assert last(emu).body_sha256 == hashlib.sha256(body).hexdigest()


async def test_contact_is_recorded_when_there_is_no_identity(
    emu: Emulator, session: aiohttp.ClientSession
) -> None:
    await post(session, emu.url, edit_form(orq={"contact": {"id": "old_style"}}))
    assert last(emu).identity == {"id": "old_style"}


async def test_rejected_requests_are_traced_too(session: aiohttp.ClientSession) -> None:
    async with Emulator(api_keys=["k"]) as emu:
        await post(session, emu.url, edit_form())
        await post(session, emu.url, edit_form(n="99"), headers={"Authorization": "Bearer k"})
        unauthorized, invalid = emu.traces
        assert unauthorized.status == 401
        assert unauthorized.body_sha256 is not None
        assert invalid.status == 400
        assert invalid.model_requested == "local/echo"
        assert invalid.fields["n"] == "99"
        assert "n" in (invalid.error or "")


async def test_traces_endpoint_lists_oldest_first_and_clears(
    emu: Emulator, session: aiohttp.ClientSession
) -> None:
    for model in ("local/echo", "local/fail-500", "a/b"):
        await post(session, emu.url, edit_form(model=model))
    async with session.get(emu.url + "/v2/emulator/traces") as resp:
        assert resp.status == 200
        listed = await resp.json()
    assert [t["model_requested"] for t in listed] == ["local/echo", "local/fail-500", "a/b"]
    assert [t["status"] for t in listed] == [200, 500, 200]
    assert listed[1]["attempts"] == [
        {
            "model": "local/fail-500",
            "status": 500,
            "latency_ms": listed[1]["attempts"][0]["latency_ms"],
        }
    ]
    assert listed == [t.to_json() for t in emu.traces]
    async with session.delete(emu.url + "/v2/emulator/traces") as resp:
        assert resp.status == 204
    assert emu.traces == []
    await post(session, emu.url, edit_form())
    emu.clear_traces()
    async with session.get(emu.url + "/v2/emulator/traces") as resp:
        assert await resp.json() == []


async def test_traces_are_ordered_by_arrival(emu: Emulator, session: aiohttp.ClientSession) -> None:
    slow = asyncio.create_task(post(session, emu.url, edit_form(model="local/slow-150")))
    await asyncio.sleep(0.05)
    await post(session, emu.url, edit_form(model="local/echo"))
    await slow
    assert [t.model_requested for t in emu.traces] == ["local/slow-150", "local/echo"]


async def test_only_the_last_max_traces_are_kept(session: aiohttp.ClientSession) -> None:
    async with Emulator(max_traces=2) as emu:
        for model in ("a/1", "a/2", "a/3"):
            await post(session, emu.url, edit_form(model=model))
        assert [t.model_requested for t in emu.traces] == ["a/2", "a/3"]

"""The admin surface: fault injection over HTTP, the viewer's feed and images, and the token."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import attrs
import pytest

from orq_async.testing import EDITS_PATH, Emulator
from orq_async.testing._admin import is_loopback
from orq_async.testing._traces import Trace, TraceDraft

from ._helpers import edit_form, image_bytes, post

ADMIN_PATHS = [
    ("GET", "/"),
    ("GET", "/v2/emulator/traces"),
    ("DELETE", "/v2/emulator/traces"),
    ("GET", "/v2/emulator/feed"),
    ("GET", "/v2/emulator/faults"),
    ("POST", "/v2/emulator/faults"),
    ("DELETE", "/v2/emulator/faults"),
    ("GET", "/v2/emulator/images/0123/input/0"),
]


@pytest.fixture
async def guarded() -> AsyncIterator[Emulator]:
    async with Emulator(api_keys={"api-key"}, admin_token="admin-token") as emulator:
        yield emulator


@pytest.mark.parametrize(("method", "path"), ADMIN_PATHS)
@pytest.mark.parametrize(
    "headers",
    [{}, {"X-Emulator-Token": "nope"}, {"Authorization": "Bearer api-key"}],
    ids=["none", "wrong", "api-key"],
)
async def test_without_the_token_401_and_nothing_revealed(
    guarded: Emulator,
    session: aiohttp.ClientSession,
    method: str,
    path: str,
    headers: dict[str, str],
) -> None:
    auth = {"Authorization": "Bearer api-key"}
    form = edit_form(prompt="secret prompt", orq={"identity": {"id": "who"}})
    assert (await post(session, guarded.url, form, headers=auth))[0] == 200
    async with session.request(method, guarded.url + path, headers=headers, json={}) as resp:
        body = await resp.text()
        assert resp.status == 401
    assert "secret prompt" not in body
    assert "who" not in body
    assert "admin_token_required" in body
    assert len(guarded.traces) == 1  # nothing was cleared either


@pytest.mark.parametrize(
    "how", ["header", "bearer", "query"], ids=["X-Emulator-Token", "Authorization", "?token"]
)
async def test_with_the_token_the_admin_surface_answers(
    guarded: Emulator, session: aiohttp.ClientSession, how: str
) -> None:
    headers = {
        "header": {"X-Emulator-Token": "admin-token"},
        "bearer": {"Authorization": "Bearer admin-token"},
        "query": {},
    }[how]
    query = "?token=admin-token" if how == "query" else ""
    async with session.get(guarded.url + "/v2/emulator/traces" + query, headers=headers) as resp:
        assert resp.status == 200
        assert await resp.json() == []


async def test_the_api_keeps_its_key_check_and_health_stays_open(
    guarded: Emulator, session: aiohttp.ClientSession
) -> None:
    headers = {"X-Emulator-Token": "admin-token"}
    assert (await post(session, guarded.url, edit_form(), headers=headers))[0] == 401
    async with session.get(guarded.url + "/v2/emulator/health") as resp:
        assert (resp.status, await resp.json()) == (200, {"status": "ok"})


def test_beyond_loopback_a_token_is_made_up() -> None:
    assert Emulator().admin_token is None
    assert Emulator(host="::1").admin_token is None
    exposed = Emulator(host="0.0.0.0")
    assert exposed.admin_token is not None
    assert len(exposed.admin_token) >= 20
    assert Emulator(host="0.0.0.0", admin_token="mine").admin_token == "mine"
    with pytest.raises(ValueError, match="admin_token"):
        Emulator(admin_token=" ")


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.0.0.2", True),
        ("localhost", True),
        ("::1", True),
        ("0.0.0.0", False),
        ("::", False),
        ("192.168.1.2", False),
        ("example.com", False),
    ],
)
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


async def test_faults_can_be_injected_over_http(
    emu: Emulator, session: aiohttp.ClientSession
) -> None:
    fault = {"status": 429, "times": 2, "retry_after": "3"}
    async with session.post(emu.url + "/v2/emulator/faults", json=fault) as resp:
        assert (resp.status, await resp.json()) == (201, {"pending": 2})
    async with session.post(emu.url + EDITS_PATH, data=edit_form()) as resp:
        assert (resp.status, resp.headers["Retry-After"]) == (429, "3")
    async with session.get(emu.url + "/v2/emulator/faults") as resp:
        assert await resp.json() == {"pending": 1}
    async with session.delete(emu.url + "/v2/emulator/faults") as resp:
        assert resp.status == 204
    assert emu.pending_faults == 0


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        ({"status": 99}, "status must be an integer 100..599"),
        ({"status": "503"}, "status: must be a int"),
        ({"times": 0}, "times must be an integer >= 1"),
        ({"status": 503, "body": "x"}, "body: unknown field"),
        ([503], "send a JSON object"),
    ],
)
async def test_bad_faults_are_400(
    emu: Emulator, session: aiohttp.ClientSession, fault: object, message: str
) -> None:
    async with session.post(emu.url + "/v2/emulator/faults", json=fault) as resp:
        assert resp.status == 400
        assert message in (await resp.json())["error"]["message"]
    assert emu.pending_faults == 0


async def test_feed_is_newest_first_with_kept_images(session: aiohttp.ClientSession) -> None:
    red, blue = image_bytes((255, 0, 0)), image_bytes((0, 0, 255))
    auth = {"Authorization": "Bearer the-api-key"}
    async with Emulator(keep_images=1, api_keys={"the-api-key"}) as emu:
        await post(session, emu.url, edit_form(images=[red]), headers=auth)
        await post(session, emu.url, edit_form(images=[red, blue], n=2), headers=auth)
        async with session.get(emu.url + "/v2/emulator/feed") as resp:
            assert "the-api-key" not in await resp.text()
            feed = await resp.json()
        assert [t["seq"] for t in feed["traces"]] == [2, 1]
        assert feed["traces"][0]["images"] == {"input": 2, "output": 2}
        assert feed["traces"][1]["images"] == {"input": 0, "output": 0}  # only 1 request kept
        newest = feed["traces"][0]["id"]
        async with session.get(f"{emu.url}/v2/emulator/images/{newest}/input/1") as resp:
            assert (resp.status, resp.content_type, await resp.read()) == (200, "image/png", blue)
        async with session.get(f"{emu.url}/v2/emulator/images/{newest}/input/2") as resp:
            assert resp.status == 404
        async with session.get(emu.url + "/v2/emulator/feed?since=1") as resp:
            assert [t["seq"] for t in (await resp.json())["traces"]] == [2]


async def test_a_cache_hit_shows_the_cached_outputs(
    emu: Emulator, session: aiohttp.ClientSession
) -> None:
    for _ in range(2):
        await post(session, emu.url, edit_form(cache={"type": "exact_match"}))
    assert [t.cache_hit for t in emu.traces] == [False, True]
    async with session.get(emu.url + "/v2/emulator/feed") as resp:
        newest = (await resp.json())["traces"][0]
    assert newest["images"] == {"input": 1, "output": 1}
    async with session.get(f"{emu.url}/v2/emulator/images/{newest['id']}/output/0") as resp:
        assert await resp.read() == image_bytes()


async def test_viewer_page_is_served_without_outside_resources(
    emu: Emulator, session: aiohttp.ClientSession
) -> None:
    async with session.get(emu.url + "/") as resp:
        assert resp.status == 200
        assert resp.content_type == "text/html"
        page = await resp.text()
    assert "/v2/emulator/feed" in page
    assert "http://" not in page
    assert "https://" not in page
    assert emu.viewer_url == emu.url + "/"


def test_trace_fields_are_declared_once() -> None:
    draft = [field.name for field in attrs.fields(TraceDraft)]
    assert [field.name for field in attrs.fields(Trace)] == [*draft, "status"]
    assert "status" not in TraceDraft.__annotations__
    assert set(Trace.__annotations__) == {"status"}

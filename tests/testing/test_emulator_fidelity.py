"""Fidelity to the real gateway: JavaScript numbers, answers without nulls, image part names,
request ids on every response, and honest traces of requests whose client went away."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest

from orq_async.testing import EDITS_PATH, Emulator

from ._helpers import edit_form, image_bytes, last, post, raw_multipart

PNG = image_bytes()

#: The official response schema (orq-ai-sdk 4.17 / @orq-ai/node 4.15): key -> allowed types.
_TOP = {"created": (int,), "data": (list,), "output_format": (str,), "size": (str,)}
_TOP_OPTIONAL = {"output_format", "size", "quality", "usage"}
_USAGE = ("total_tokens", "input_tokens", "output_tokens")


def assert_official_schema(body: dict[str, Any]) -> None:
    """Check an answer against the response schema the official clients validate with."""
    assert {"created", "data"} <= set(body)
    assert set(body) <= {"created", "data", *_TOP_OPTIONAL}
    for key, value in body.items():
        assert value is not None, f"{key}: null is not allowed"
    assert isinstance(body["created"], int)
    assert not isinstance(body["created"], bool)
    for item in body["data"]:
        assert item, "a data item needs b64_json or url"
        assert set(item) <= {"b64_json", "url", "revised_prompt"}
        assert all(isinstance(value, str) for value in item.values()), item
    for key in ("output_format", "size", "quality"):
        assert key not in body or isinstance(body[key], str)
    if "usage" in body:
        usage = body["usage"]
        assert all(isinstance(usage[key], int) for key in _USAGE)
        details = usage["input_tokens_details"]
        assert set(details) == {"text_tokens", "image_tokens"}
        assert all(isinstance(value, int) for value in details.values())


JS_NUMBERS: list[tuple[dict[str, Any], str, Any]] = [
    ({"n": "1.0"}, "n", 1),
    ({"n": "2e0"}, "n", 2),
    ({"n": " 2 "}, "n", 2),  # decided: surrounding whitespace is ignored, as Number(" 2 ") does
    ({"n": "+3"}, "n", 3),
    ({"cache": {"type": "exact_match", "ttl": 3600.0}}, "cache", None),
    ({"retry": {"count": 3.0, "on_codes": [429.0, 503]}}, "retry", None),
    ({"timeout": {"call_timeout": 1000.0}}, "timeout", None),
    ({"orq": {"retry": {"count": 1.0}}}, "orq", None),
]


@pytest.mark.parametrize(
    ("fields", "name", "n"), JS_NUMBERS, ids=[str(f) for f, _, _ in JS_NUMBERS]
)
async def test_integral_numbers_are_integers_as_in_javascript(
    emu: Emulator, session: aiohttp.ClientSession, fields: dict[str, Any], name: str, n: Any
) -> None:
    status, body = await post(session, emu.url, edit_form(**fields))
    assert status == 200, body
    if n is not None:
        assert len(body["data"]) == n


@pytest.mark.parametrize("text", ["1.5", "", " ", "0x2", "NaN", "1_0", "2 3"])
async def test_non_integral_n_is_refused_naming_n(
    emu: Emulator, session: aiohttp.ClientSession, text: str
) -> None:
    status, body = await post(session, emu.url, edit_form(n=text))
    assert status == 400
    assert body["error"]["param"] == "n"
    assert body["error"]["message"].startswith("n: ")


@pytest.mark.parametrize("response_format", ["b64_json", "url"])
async def test_answers_follow_the_official_schema_without_nulls(
    emu: Emulator, session: aiohttp.ClientSession, response_format: str
) -> None:
    form = edit_form(n=2, size="2x2", quality="high", response_format=response_format)
    status, body = await post(session, emu.url, form)
    assert status == 200
    assert_official_schema(body)
    assert {key for item in body["data"] for key in item} == {response_format}
    assert (body["size"], body["quality"]) == ("2x2", "high")


async def test_minimal_answer_follows_the_schema(
    emu: Emulator, session: aiohttp.ClientSession
) -> None:
    status, body = await post(session, emu.url, edit_form())
    assert status == 200
    assert_official_schema(body)
    assert "size" not in body
    assert "quality" not in body


def _image_parts(names: list[str]) -> tuple[bytes, dict[str, str]]:
    parts = [('form-data; name="model"', b"local/echo"), ('form-data; name="prompt"', b"p")]
    parts += [
        (f'form-data; name="{name}"; filename="x{i}.png"', PNG) for i, name in enumerate(names)
    ]
    return raw_multipart(parts)


@pytest.mark.parametrize(
    "names", [["image"], ["image", "image", "image"], ["image[]"], ["image[]", "image[]"]]
)
async def test_image_part_names_of_real_clients(
    emu: Emulator, session: aiohttp.ClientSession, names: list[str]
) -> None:
    body, headers = _image_parts(names)
    status, answer = await post(session, emu.url, body, headers=headers)
    assert status == 200, answer
    assert last(emu).image_count == len(names)


async def test_every_response_carries_a_request_id(
    session: aiohttp.ClientSession,
) -> None:
    async with Emulator(api_keys={"k"}) as emu:
        auth = {"Authorization": "Bearer k"}
        calls = [
            ("POST", EDITS_PATH, edit_form(), auth),  # 200
            ("POST", EDITS_PATH, edit_form(n="x"), auth),  # 400
            ("POST", EDITS_PATH, edit_form(), {}),  # 401
            ("GET", "/nowhere", None, {}),  # 404
            ("GET", "/v2/emulator/traces", None, {}),
            ("GET", "/v2/emulator/health", None, {}),
        ]
        seen = []
        for method, path, data, headers in calls:
            async with session.request(method, emu.url + path, data=data, headers=headers) as resp:
                await resp.read()
                seen.append(resp.headers.get("x-request-id"))
        emu.inject(503)
        async with session.post(emu.url + EDITS_PATH, data=edit_form(), headers=auth) as resp:
            seen.append(resp.headers.get("x-request-id"))
        assert all(rid and len(rid) == 32 for rid in seen), seen
        assert len(set(seen)) == len(seen)
        edits = [seen[0], seen[1], seen[2], seen[-1]]
        assert [trace.id for trace in emu.traces] == edits


async def test_a_client_that_went_away_is_traced_with_no_status(
    emu: Emulator, session: aiohttp.ClientSession
) -> None:
    timeout = aiohttp.ClientTimeout(total=0.05)
    with pytest.raises(asyncio.TimeoutError):
        await session.post(
            emu.url + EDITS_PATH, data=edit_form(model="local/slow-300"), timeout=timeout
        )
    for _ in range(100):  # the handler finishes after the model's delay
        if emu.traces:
            break
        await asyncio.sleep(0.02)
    (trace,) = emu.traces
    assert trace.status is None
    assert trace.error == "the client went away before the answer"
    assert trace.to_json()["status"] is None


async def test_a_cancelled_call_is_traced_with_no_status(
    emu: Emulator, session: aiohttp.ClientSession
) -> None:
    task = asyncio.create_task(post(session, emu.url, edit_form(model="local/slow-300")))
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    for _ in range(100):
        if emu.traces:
            break
        await asyncio.sleep(0.02)
    assert [trace.status for trace in emu.traces] == [None]
    assert (await post(session, emu.url, edit_form()))[0] == 200
    assert [trace.status for trace in emu.traces] == [None, 200]

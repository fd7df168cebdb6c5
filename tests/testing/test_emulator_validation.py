"""Authentication and request validation: every 4XX names the offending field."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import aiohttp
import pytest

from orq_async.models.limits import MAX_IMAGE_BYTES
from orq_async.testing import BODY_LIMIT, EDITS_PATH, Emulator

from ._helpers import OMIT, edit_form, image_bytes, last, post, raw_multipart

PNG = image_bytes()


async def test_api_keys_are_checked() -> None:
    async with Emulator(api_keys={"good"}) as emu, aiohttp.ClientSession() as session:
        for headers in ({}, {"Authorization": "Bearer bad"}, {"Authorization": "Basic good"}):
            status, body = await post(session, emu.url, edit_form(), headers=headers)
            assert status == 401
            assert body["error"]["type"] == "authentication_error"
            assert "bad" not in body["error"]["message"]
        ok = {"Authorization": "Bearer good", "User-Agent": "tests/1"}
        status, _ = await post(session, emu.url, edit_form(), headers=ok)
        assert status == 200
        traces = emu.traces
        assert [t.status for t in traces] == [401, 401, 401, 200]
        assert traces[-1].request_headers["user-agent"] == "tests/1"
        assert all("authorization" not in t.request_headers for t in traces)
        assert all("good" not in repr(t) for t in traces)


async def test_without_api_keys_any_key_or_none_is_accepted(
    emu: Emulator, session: aiohttp.ClientSession
) -> None:
    assert (await post(session, emu.url, edit_form()))[0] == 200
    headers = {"Authorization": "Bearer whatever"}
    assert (await post(session, emu.url, edit_form(), headers=headers))[0] == 200


BAD_FIELDS: list[tuple[dict[str, Any], str]] = [
    ({"model": OMIT}, "model"),
    ({"model": " "}, "model"),
    ({"prompt": OMIT}, "prompt"),
    ({"prompt": ""}, "prompt"),
    ({"images": []}, "image"),
    ({"images": [PNG] * 17}, "image"),
    ({"images": [PNG, b"GIF89a-not-allowed"]}, "image[1]"),
    ({"n": "0"}, "n"),
    ({"n": "11"}, "n"),
    ({"n": "1.5"}, "n"),
    ({"n": "two"}, "n"),
    ({"n": ""}, "n"),
    ({"n": "0x2"}, "n"),
    ({"n": "Infinity"}, "n"),
    ({"size": "big"}, "size"),
    ({"size": "0x10"}, "size"),
    ({"size": "5000x5000"}, "size"),
    ({"quality": "ultra"}, "quality"),
    ({"response_format": "png"}, "response_format"),
    ({"model": "local/nope"}, "model"),
    ({"model": "local/fail-200"}, "model"),
    ({"retry": {"count": 6}}, "retry.count"),
    ({"retry": {"count": 0}}, "retry.count"),
    ({"retry": {"count": 1.5}}, "retry.count"),
    ({"retry": {"count": True}}, "retry.count"),
    ({"retry": {"on_codes": [429.5]}}, "retry.on_codes[0]"),
    ({"fallback_on_codes": [399]}, "fallback_on_codes[0]"),
    ({"fallback_on_codes": [429, 429]}, "fallback_on_codes[1]"),
    ({"fallback_on_codes": list(range(400, 421))}, "fallback_on_codes"),
    ({"fallback_on_codes": [True]}, "fallback_on_codes[0]"),
    ({"orq": {"fallback_on_codes": [600]}}, "orq.fallback_on_codes[0]"),
    ({"orq": {"fallback_on_codes": "429"}}, "orq.fallback_on_codes"),
    ({"orq": {"fallback_on_codes": [503.5]}}, "orq.fallback_on_codes[0]"),
    ({"retry": {"on_codes": "429"}}, "retry.on_codes"),
    ({"retry": {"onCodes": [429]}}, "retry.onCodes"),
    ({"retry": [1]}, "retry"),
    ({"fallbacks": {"model": "a/b"}}, "fallbacks"),
    ({"fallbacks": [{"model": "a/b"}, {"model": 1}]}, "fallbacks[1].model"),
    ({"fallbacks": [{"model": "local/wat"}]}, "fallbacks[0].model"),
    ({"cache": {"ttl": 10}}, "cache.type"),
    ({"cache": {"type": "semantic"}}, "cache.type"),
    ({"cache": {"type": "exact_match", "ttl": 259_201}}, "cache.ttl"),
    ({"cache": {"type": "exact_match", "ttl": 0}}, "cache.ttl"),
    ({"load_balancer": {"models": [{"model": "a/b"}]}}, "load_balancer.type"),
    ({"load_balancer": {"type": "round_robin", "models": []}}, "load_balancer.type"),
    ({"load_balancer": {"type": "weight_based", "models": []}}, "load_balancer.models"),
    (
        {"load_balancer": {"type": "weight_based", "models": [{"model": "a/b", "weight": -1}]}},
        "load_balancer.models[0].weight",
    ),
    (
        {"load_balancer": {"type": "weight_based", "models": [{"model": "a", "weight": 0}] * 2}},
        "load_balancer.models",
    ),
    ({"timeout": {}}, "timeout.call_timeout"),
    ({"timeout": {"callTimeout": 5}}, "timeout.callTimeout"),
    ({"timeout": {"call_timeout": 0}}, "timeout.call_timeout"),
    ({"timeout": {"call_timeout": 2.5}}, "timeout.call_timeout"),
    ({"orq": {"retry": {"count": 9}}}, "orq.retry.count"),
    ({"orq": {"fallbacks": [{}]}}, "orq.fallbacks[0].model"),
    ({"orq": {"timeout": {"call_timeout": "1"}}}, "orq.timeout.call_timeout"),
    (
        {
            "orq": {
                "load_balancer": {"type": "weight_based", "models": [{"model": "x", "weight": "1"}]}
            }
        },
        "orq.load_balancer.models[0].weight",
    ),
    ({"orq": {"prompt": {"id": "p"}}}, "orq.prompt.version"),
    ({"orq": {"prompt": {"id": "p", "version": "v2"}}}, "orq.prompt.version"),
    ({"orq": {"identity": {"display_name": "Jane"}}}, "orq.identity.id"),
    ({"orq": {"identity": {"id": "c", "metadata": ["x"]}}}, "orq.identity.metadata[0]"),
    ({"orq": {"contact": {"id": "c", "tags": [1]}}}, "orq.contact.tags[0]"),
    ({"orq": {"identity": {"id": "c", "logoUrl": "x"}}}, "orq.identity.logoUrl"),
    ({"orq": {"surprise": 1}}, "orq.surprise"),
    ({"orq": []}, "orq"),
    ({"orq": "{not json"}, "orq"),
    ({"retry[count]": "3"}, "retry[count]"),
]


@pytest.mark.parametrize(("changes", "param"), BAD_FIELDS, ids=[p for _, p in BAD_FIELDS])
async def test_bad_field_is_a_400_naming_it(
    emu: Emulator, session: aiohttp.ClientSession, changes: dict[str, Any], param: str
) -> None:
    status, body = await post(session, emu.url, edit_form(**changes))
    assert status == 400, body
    assert body["error"]["param"] == param
    assert body["error"]["type"] == "invalid_request_error"
    assert param in body["error"]["message"]
    assert last(emu).status == 400
    assert last(emu).error == body["error"]["message"]


async def test_nan_weight_is_refused(emu: Emulator, session: aiohttp.ClientSession) -> None:
    form = edit_form()
    lb = '{"type": "weight_based", "models": [{"model": "a", "weight": NaN}]}'
    form.add_field("load_balancer", lb, content_type="application/json")
    status, body = await post(session, emu.url, form)
    assert (status, body["error"]["param"]) == (400, "load_balancer")


async def test_a_field_sent_twice_is_refused(emu: Emulator, session: aiohttp.ClientSession) -> None:
    form = edit_form()
    form.add_field("model", "local/echo")
    status, body = await post(session, emu.url, form)
    assert (status, body["error"]["param"], body["error"]["code"]) == (
        400,
        "model",
        "duplicate_field",
    )


async def test_an_image_at_the_size_limit_is_refused(
    emu: Emulator, session: aiohttp.ClientSession
) -> None:
    big = PNG + bytes(MAX_IMAGE_BYTES - len(PNG))
    status, body = await post(session, emu.url, edit_form(images=[PNG, big]))
    assert (status, body["error"]["param"]) == (400, "image[1]")
    assert body["error"]["code"] == "image_too_large"


async def test_image_as_image_brackets_and_sixteen_images(
    emu: Emulator, session: aiohttp.ClientSession
) -> None:
    form = edit_form(images=[PNG] * 15)
    form.add_field("image[]", PNG, filename="last.png", content_type="image/png")
    status, body = await post(session, emu.url, form)
    assert status == 200, body
    assert last(emu).image_count == 16


async def test_image_urls_and_data_uris(emu: Emulator, session: aiohttp.ClientSession) -> None:
    data_uri = "data:image/png;base64," + base64.b64encode(PNG).decode()
    for text, expected in ((data_uri, 200), ("https://example.com/a.png", 200)):
        form = edit_form(images=[])
        form.add_field("image", text)
        status, body = await post(session, emu.url, form)
        assert status == expected, body
    for text in ("ftp://example.com/a.png", "data:image/png;base64,@@@", "data:image/png,raw"):
        form = edit_form(images=[])
        form.add_field("image", text)
        status, body = await post(session, emu.url, form)
        assert (status, body["error"]["param"]) == (400, "image[0]"), text


async def test_non_multipart_bodies_are_400(emu: Emulator, session: aiohttp.ClientSession) -> None:
    async with session.post(emu.url + EDITS_PATH, json={"model": "local/echo"}) as resp:
        assert resp.status == 400
        assert (await resp.json())["error"]["code"] == "bad_content_type"
    body, headers = raw_multipart([('form-data; name="model"', b"local/echo")])
    truncated = body[: body.rindex(b"--b0undary--")]
    for data in (truncated, b"garbage without boundary", b"--b0undary\r\nno-colon\r\n\r\nx"):
        status, answer = await post(session, emu.url, data, headers=headers)
        assert status == 400
        assert answer["error"]["code"] == "malformed_multipart"


@pytest.mark.parametrize(
    ("disposition", "filename"),
    [
        ('form-data; name="image"; filename="we%22ird n\u00e4me.png"', 'we"ird n\u00e4me.png'),
        ('form-data; name="image"; filename="a%0D%0Ab.png"', "a\r\nb.png"),
        ('form-data; name="image"; filename="we%22ird%20n%C3%A4me.png"', 'we"ird%20n%C3%A4me.png'),
        (
            'form-data; name="image"; filename="x.png"; filename*=UTF-8\'\'n%C3%A4me%20%22q%22.png',
            'n\u00e4me "q".png',
        ),
    ],
)
async def test_filenames_are_read_the_web_standard_way(
    emu: Emulator, session: aiohttp.ClientSession, disposition: str, filename: str
) -> None:
    body, headers = raw_multipart(
        [
            ('form-data; name="model"', b"local/echo"),
            ('form-data; name="prompt"', b"p"),
            (disposition, PNG),
        ]
    )
    status, answer = await post(session, emu.url, body, headers=headers)
    assert status == 200, answer
    assert last(emu).parts[2].filename == filename


async def test_a_backslash_escaped_quote_is_not_web_standard(
    emu: Emulator, session: aiohttp.ClientSession
) -> None:
    body, headers = raw_multipart(
        [
            ('form-data; name="model"', b"local/echo"),
            (r'form-data; name="image"; filename="a\"b"', PNG),
        ]
    )
    status, answer = await post(session, emu.url, body, headers=headers)
    assert (status, answer["error"]["code"]) == (400, "malformed_multipart")


async def test_a_declared_body_over_the_limit_is_413(emu: Emulator) -> None:
    host, _, port = emu.url.removeprefix("http://").partition(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(
            f"POST {EDITS_PATH} HTTP/1.1\r\nHost: {host}\r\n"
            "Content-Type: multipart/form-data; boundary=x\r\n"
            f"Content-Length: {BODY_LIMIT + 1}\r\n\r\n--x\r\n".encode()
        )
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    finally:
        writer.close()
        await writer.wait_closed()
    assert head.startswith(b"HTTP/1.1 413")
    assert last(emu).status == 413
    assert last(emu).body_sha256 is None

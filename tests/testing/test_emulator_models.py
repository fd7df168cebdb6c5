"""The local models: echo, invert, grayscale; n, size, output formats, url responses, usage."""

from __future__ import annotations

import base64
import sys

import aiohttp
import pytest

from orq_async.testing import Emulator

from ._helpers import decode, edit_form, image_bytes, last, pixels, post

RED = image_bytes((255, 0, 0))


async def test_echo_returns_the_first_image_n_times(
    emu: Emulator, session: aiohttp.ClientSession
) -> None:
    blue = image_bytes((0, 0, 255))
    status, body = await post(session, emu.url, edit_form(images=[RED, blue], n=3))
    assert status == 200
    assert [base64.b64decode(item["b64_json"]) for item in body["data"]] == [RED] * 3
    assert all(set(item) == {"b64_json"} for item in body["data"])  # no "url": null
    assert body["output_format"] == "png"
    assert isinstance(body["created"], int)
    assert "size" not in body
    assert "quality" not in body


async def test_any_non_local_model_is_served_by_echo(
    emu: Emulator, session: aiohttp.ClientSession
) -> None:
    status, body = await post(session, emu.url, edit_form(model="openai/gpt-image-1"))
    assert status == 200
    assert base64.b64decode(body["data"][0]["b64_json"]) == RED
    trace = last(emu)
    assert (trace.model_requested, trace.model_used) == ("openai/gpt-image-1", "openai/gpt-image-1")


async def test_invert_turns_red_into_cyan(emu: Emulator, session: aiohttp.ClientSession) -> None:
    status, body = await post(session, emu.url, edit_form(model="local/invert", n=2))
    assert status == 200
    assert len(body["data"]) == 2
    image = decode(body["data"][0]["b64_json"])
    assert image.size == (2, 2)
    assert pixels(image.convert("RGB")) == {(0, 255, 255)}
    assert body["size"] == "2x2"


async def test_invert_keeps_alpha(emu: Emulator, session: aiohttp.ClientSession) -> None:
    translucent = image_bytes((255, 0, 0, 100))
    status, body = await post(
        session, emu.url, edit_form(model="local/invert", images=[translucent])
    )
    assert status == 200
    assert pixels(decode(body["data"][0]["b64_json"])) == {(0, 255, 255, 100)}


async def test_grayscale_and_size(emu: Emulator, session: aiohttp.ClientSession) -> None:
    form = edit_form(model="local/grayscale", size="4x3", quality="high")
    status, body = await post(session, emu.url, form)
    assert status == 200
    image = decode(body["data"][0]["b64_json"])
    assert image.mode == "L"
    assert image.size == (4, 3)
    assert pixels(image) == {76}  # ITU-R 601-2 luma of pure red
    assert (body["size"], body["quality"]) == ("4x3", "high")


@pytest.mark.parametrize(("fmt", "output_format"), [("JPEG", "jpeg"), ("WEBP", "webp")])
async def test_output_format_follows_the_input(
    emu: Emulator, session: aiohttp.ClientSession, fmt: str, output_format: str
) -> None:
    source = image_bytes((0, 0, 0), fmt=fmt)
    for model in ("local/echo", "local/invert"):
        status, body = await post(session, emu.url, edit_form(model=model, images=[source]))
        assert status == 200, body
        assert body["output_format"] == output_format
        assert decode(body["data"][0]["b64_json"]).format == fmt


async def test_url_response_format_serves_the_file(
    emu: Emulator, session: aiohttp.ClientSession
) -> None:
    form = edit_form(model="local/invert", response_format="url", n=2)
    status, body = await post(session, emu.url, form)
    assert status == 200
    urls = [item["url"] for item in body["data"]]
    assert all(set(item) == {"url"} for item in body["data"])  # no "b64_json": null
    assert len(set(urls)) == 2
    for url in urls:
        assert url.startswith(emu.url + "/v2/emulator/files/")
        async with session.get(url) as resp:
            assert resp.status == 200
            assert resp.content_type == "image/png"
            assert (await resp.read()).startswith(b"\x89PNG")
    async with session.get(emu.url + "/v2/emulator/files/unknown") as resp:
        assert resp.status == 404
        assert (await resp.json())["error"]["code"] == "file_not_found"


async def test_usage_is_filled_in(emu: Emulator, session: aiohttp.ClientSession) -> None:
    form = edit_form(prompt="put the logo on the mug", images=[RED, RED], n=3)
    status, body = await post(session, emu.url, form)
    assert status == 200
    assert body["usage"] == {
        "total_tokens": 6 + 2 * 64 + 3 * 64,
        "input_tokens": 6 + 2 * 64,
        "output_tokens": 3 * 64,
        "input_tokens_details": {"text_tokens": 6, "image_tokens": 2 * 64},
    }


async def test_a_url_image_is_replaced_by_a_placeholder(
    emu: Emulator, session: aiohttp.ClientSession
) -> None:
    form = edit_form(model="local/grayscale", images=[])
    form.add_field("image", "https://example.com/mug.png")
    status, body = await post(session, emu.url, form)
    assert status == 200
    assert decode(body["data"][0]["b64_json"]).size == (1, 1)
    assert last(emu).fields["image"] == "https://example.com/mug.png"


async def test_a_corrupt_image_fails_the_pixel_model(
    emu: Emulator, session: aiohttp.ClientSession
) -> None:
    broken = RED[:20]
    status, body = await post(session, emu.url, edit_form(model="local/invert", images=[broken]))
    assert status == 400
    assert body["error"]["type"] == "provider_error"
    assert "image[0]" in body["error"]["message"]


async def test_pixel_models_without_pillow_name_the_extra(
    emu: Emulator, session: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    form, echo_form = edit_form(model="local/invert"), edit_form()
    monkeypatch.setitem(sys.modules, "PIL", None)  # as if Pillow were not installed
    status, body = await post(session, emu.url, form)
    assert status == 400
    assert body["error"]["code"] == "pillow_missing"
    assert body["error"]["param"] == "model"
    assert "pip install 'orq-async[emulator]'" in body["error"]["message"]
    assert (await post(session, emu.url, echo_form))[0] == 200

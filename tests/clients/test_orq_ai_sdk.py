"""The official Python SDK (``orq-ai-sdk``, async) against the emulator."""

from __future__ import annotations

import base64

import pytest

from orq_async.testing import Emulator

from .conftest import API_KEY, MODEL, RED

orq_ai_sdk = pytest.importorskip(
    "orq_ai_sdk", reason="orq-ai-sdk is not installed (pip install orq-ai-sdk)"
)
from orq_ai_sdk import Orq, models  # noqa: E402


def _image() -> models.Image:
    return models.Image(file_name="red.png", content=RED, content_type="image/png")


async def test_success_parses_with_its_own_models(emu: Emulator) -> None:
    async with Orq(api_key=API_KEY, server_url=emu.url) as orq:
        res = await orq.router.images.edits.create_async(
            model=MODEL,
            prompt="make it pop",
            image=_image(),
            n=2,  # sent as "2.0"
            size="3x2",
            quality="high",
            fallback_on_codes=[429, 503],  # sent as fallback_on_codes[] text parts
            cache={"type": "exact_match", "ttl": 3600},  # sent as "ttl": 3600.0
            retry={"count": 2, "on_codes": [429]},
            orq={"identity": {"id": "contact_1"}, "fallback_on_codes": [500]},
        )
    assert isinstance(res, models.CreateImageEditResponseBody)
    assert [base64.b64decode(item.b64_json or "") for item in res.data] == [RED, RED]
    assert all(item.url is None for item in res.data)
    assert res.usage is not None
    trace = emu.traces[-1]
    assert (trace.status, trace.identity) == (200, {"id": "contact_1"})
    assert trace.fields["n"] == "2.0"
    assert trace.fields["fallback_on_codes[]"] == "503"


async def test_url_answers_parse(emu: Emulator) -> None:
    async with Orq(api_key=API_KEY, server_url=emu.url) as orq:
        res = await orq.router.images.edits.create_async(
            model=MODEL, prompt="p", image=_image(), response_format="url"
        )
    assert isinstance(res, models.CreateImageEditResponseBody)
    assert res.data[0].url is not None
    assert res.data[0].url.startswith(emu.url)
    assert res.data[0].b64_json is None


async def test_bad_model_is_its_own_error(emu: Emulator) -> None:
    async with Orq(api_key=API_KEY, server_url=emu.url) as orq:
        with pytest.raises(models.APIDefaultError) as caught:
            await orq.router.images.edits.create_async(
                model="local/no-such-model", prompt="p", image=_image()
            )
    assert caught.value.status_code == 400
    assert "model" in caught.value.body


async def test_rate_limit_is_its_own_error(emu: Emulator) -> None:
    emu.inject(429, times=3, retry_after="1")
    async with Orq(api_key=API_KEY, server_url=emu.url) as orq:
        with pytest.raises(models.APIDefaultError) as caught:
            await orq.router.images.edits.create_async(model=MODEL, prompt="p", image=_image())
    assert caught.value.status_code == 429
    assert caught.value.headers["retry-after"] == "1"


async def test_bad_key_is_its_api_error_response(emu: Emulator) -> None:
    async with Orq(api_key="wrong", server_url=emu.url) as orq:
        with pytest.raises(models.APIErrorResponse) as caught:
            await orq.router.images.edits.create_async(model=MODEL, prompt="p", image=_image())
    assert caught.value.status_code == 401

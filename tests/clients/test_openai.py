"""The ``openai`` Python client pointed at the emulator (``image`` and ``image[]`` parts)."""

from __future__ import annotations

import base64

import pytest

from orq_async.testing import Emulator

from .conftest import API_KEY, BLUE, MODEL, RED

openai = pytest.importorskip("openai", reason="openai is not installed (pip install openai)")
from openai import AsyncOpenAI  # noqa: E402
from openai.types import ImagesResponse  # noqa: E402


def _client(emu: Emulator, **kwargs: object) -> AsyncOpenAI:
    return AsyncOpenAI(api_key=API_KEY, base_url=emu.url + "/v2/router", **kwargs)  # type: ignore[arg-type]


async def test_one_image(emu: Emulator) -> None:
    async with _client(emu) as client:
        res = await client.images.edit(
            model=MODEL, prompt="p", image=("red.png", RED, "image/png"), n=2, size="1024x1024"
        )
    assert isinstance(res, ImagesResponse)
    assert [base64.b64decode(item.b64_json or "") for item in res.data or []] == [RED, RED]
    assert [p.name for p in emu.traces[-1].parts if p.filename] == ["image"]


async def test_several_images(emu: Emulator) -> None:
    async with _client(emu) as client:
        res = await client.images.edit(
            model=MODEL,
            prompt="p",
            image=[("red.png", RED, "image/png"), ("blue.png", BLUE, "image/png")],
        )
    assert isinstance(res, ImagesResponse)
    assert base64.b64decode((res.data or [])[0].b64_json or "") == RED
    trace = emu.traces[-1]
    assert [p.name for p in trace.parts if p.filename] == ["image[]", "image[]"]
    assert trace.image_count == 2


async def test_bad_model_is_its_bad_request_error(emu: Emulator) -> None:
    async with _client(emu) as client:
        with pytest.raises(openai.BadRequestError) as caught:
            await client.images.edit(model="local/nope", prompt="p", image=("a.png", RED))
    assert caught.value.status_code == 400
    assert caught.value.request_id == emu.traces[-1].id  # from x-request-id


async def test_rate_limit_is_its_rate_limit_error(emu: Emulator) -> None:
    emu.inject(429, retry_after="1")
    async with _client(emu, max_retries=0) as client:
        with pytest.raises(openai.RateLimitError) as caught:
            await client.images.edit(model=MODEL, prompt="p", image=("a.png", RED))
    assert caught.value.status_code == 429

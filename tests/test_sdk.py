"""The Orq facade mirrors the seed's first example and raises the OrqError."""

from __future__ import annotations

import pytest
from aiohttp import web

from orq_async import Orq, OrqCore, RetryConfig
from orq_async.errors import NotFoundError, SDKValidationError
from orq_async.models import CreateImageEditRequestBody, CreateImageEditResponseBody
from tests.conftest import PNG, Server


async def test_facade_create_returns_the_value(server: Server) -> None:
    async with Orq(api_key="k", server_url=server.url) as orq:
        value = await orq.router.images.edits.create(
            model="LeBaron",
            prompt="<value>",
            image=PNG,
            cache={"ttl": 3600, "type": "exact_match"},
            orq={"fallbacks": [{"model": "openai/gpt-4o-mini"}]},
        )
    assert isinstance(value, CreateImageEditResponseBody)
    assert value.data[0].decode() == b"hello"
    assert server.requests[0].one("cache").json == {"type": "exact_match", "ttl": 3600}
    assert orq.core.closed


async def test_facade_raises_errors_and_accepts_models(server: Server) -> None:
    server.reply(web.json_response({"message": "no such model"}, status=404))
    async with Orq(server_url=server.url, retry_config=RetryConfig("none")) as orq:
        with pytest.raises(NotFoundError, match="no such model"):
            await orq.router.images.edits.create(CreateImageEditRequestBody(model="x", prompt="p"))
        with pytest.raises(SDKValidationError, match="model: required"):
            await orq.router.images.edits.create(prompt="p")
        with pytest.raises(TypeError, match="not both"):
            await orq.router.images.edits.create(
                CreateImageEditRequestBody(model="x", prompt="p"), prompt="q"
            )


async def test_facade_over_an_existing_core(server: Server) -> None:
    async with OrqCore(server_url=server.url) as core:
        orq = Orq(core=core)
        assert (await orq.router.images.edits.create(model="m", prompt="p")).created == 1732450000
    with pytest.raises(TypeError, match="not both"):
        Orq("key", core=core)

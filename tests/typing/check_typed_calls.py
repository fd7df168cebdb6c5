"""Typed bodies and the typed facade: all of this must type-check clean; never run."""

from __future__ import annotations

from pathlib import Path

from typing_extensions import assert_type

from orq_async import Ok, Orq, OrqCore, OrqError, RequestOptions, Result
from orq_async.funcs.router_images_edits_create import router_images_edits_create
from orq_async.models import (
    Cache,
    CreateImageEditRequestBody,
    CreateImageEditRequestDict,
    CreateImageEditResponseBody,
    Fallback,
    ImageEditBody,
)


async def dict_bodies(core: OrqCore) -> None:
    body: CreateImageEditRequestDict = {
        "model": "openai/gpt-image-1",
        "prompt": "Put the logo on the mug",
        "image": [Path("mug.png"), Path("logo.png")],
        "quality": "high",
        "n": 2,
        "fallbacks": [{"model": "a"}, Fallback(model="b")],
        "fallback_on_codes": [429, 503],
        "cache": {"type": "exact_match", "ttl": 3600},
        "orq": {
            "identity": {"id": "contact_123"},
            "fallback_on_codes": [500],
            "cache": Cache(type="exact_match"),
        },
    }
    await router_images_edits_create(core, body)
    await router_images_edits_create(core, {"model": "m", "prompt": "p", "response_format": "url"})
    either: ImageEditBody = CreateImageEditRequestBody(model="m", prompt="p")
    await router_images_edits_create(core, either)


async def facade() -> None:
    async with Orq(api_key="k", server_url="http://127.0.0.1:1", timeout_ms=1000) as orq:
        value = await orq.router.images.edits.create(
            model="m",
            prompt="p",
            n=2,
            quality="low",
            cache={"type": "exact_match"},
            orq={"prompt": {"id": "x", "version": "latest"}},
            options=RequestOptions(timeout_ms=5),
        )
        assert_type(value, CreateImageEditResponseBody)
        model = CreateImageEditRequestBody(model="m", prompt="p")
        assert_type(await orq.router.images.edits.create(model), CreateImageEditResponseBody)
        res = await orq.router.images.edits.with_result.create(model="m", prompt="p")
        assert_type(res, Result[CreateImageEditResponseBody, OrqError])
        if isinstance(res, Ok):
            assert_type(res.meta.attempts, int)
            assert_type(res.meta.request_id, str | None)
    assert_type(Orq.from_core(OrqCore()), Orq)
    assert_type(Orq("key").core, OrqCore)

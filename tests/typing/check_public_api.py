"""Type-only checks of the public API's narrowing; run by mypy in CI, never executed."""

from __future__ import annotations

from typing_extensions import assert_type

from orq_async import Err, Ok, OrqCore, OrqError
from orq_async.errors import RateLimitError
from orq_async.funcs.router_images_edits_create import router_images_edits_create
from orq_async.models import CreateImageEditResponseBody


async def narrowing(core: OrqCore) -> None:
    res = await router_images_edits_create(core, {"model": "m", "prompt": "p"})
    match res:
        case Ok(value):
            assert_type(value, CreateImageEditResponseBody)
        case Err(RateLimitError() as limited):
            assert_type(limited, RateLimitError)
        case Err(error):
            assert_type(error, OrqError)
    if isinstance(res, Ok):
        assert_type(res.value, CreateImageEditResponseBody)
    else:
        assert_type(res.error, OrqError)
    assert_type(res.unwrap_or(None), CreateImageEditResponseBody | None)

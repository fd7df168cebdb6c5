"""Type-only checks of the public API's narrowing; checked by mypy and pyright, never run.

Forms that narrow ``Result`` in *both* checkers: ``match``, ``isinstance(res, Ok)``,
``is_ok(res)`` / ``is_err(res)`` (both branches) and ``res.ok is True`` (that branch only).
``if res.ok:`` narrows in mypy only.
"""

from __future__ import annotations

from typing_extensions import assert_type

from orq_async import Err, Ok, OrqCore, OrqError
from orq_async.errors import APIError, RateLimitError
from orq_async.funcs.router_images_edits_create import router_images_edits_create
from orq_async.models import CreateImageEditResponseBody
from orq_async.result import is_err, is_ok


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
    if is_ok(res):
        assert_type(res, Ok[CreateImageEditResponseBody])
        assert_type(res.value, CreateImageEditResponseBody)
    else:
        assert_type(res, Err[OrqError])
    if is_err(res):
        assert_type(res.error, OrqError)
    else:
        assert_type(res.value, CreateImageEditResponseBody)
    if res.ok is True:
        assert_type(res.value, CreateImageEditResponseBody)
    assert_type(res.unwrap_or(None), CreateImageEditResponseBody | None)


def api_error_fields(err: APIError) -> None:
    assert_type(err.code, str | None)
    assert_type(err.param, str | None)
    assert_type(err.type, str | None)
    assert_type(err.error_message, str | None)
    assert_type(err.json, dict[str, object] | list[object] | None)
    assert_type(err.error, dict[str, object] | None)
    assert_type(err.status_code, int)

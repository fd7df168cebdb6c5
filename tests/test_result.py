"""Ok / Err: matching, unwrapping, meta."""

from __future__ import annotations

import pickle

import pytest

from orq_async import Err, Ok
from orq_async.errors import APIError, OrqError, RateLimitError
from orq_async.result import ResponseMeta, Result, UnwrapError


def classify(res: Result[int, OrqError]) -> str:
    match res:
        case Ok(value):
            return f"ok {value}"
        case Err(RateLimitError() as e):
            return f"rate limited {e.status_code}"
        case Err(e):
            return f"error {type(e).__name__}"


def test_match_and_accessors() -> None:
    limited = RateLimitError(429, {}, "{}")
    assert classify(Ok(3)) == "ok 3"
    assert classify(Err(limited)) == "rate limited 429"
    assert classify(Err(OrqError("x"))) == "error OrqError"
    assert Ok(3).ok is True
    assert Err(limited).ok is False
    assert Ok(3).unwrap() == 3
    assert Ok(3).unwrap_or(5) == 3
    assert Err(limited).unwrap_or(5) == 5
    assert Err(limited).unwrap_err() is limited
    with pytest.raises(RateLimitError):
        Err(limited).unwrap()
    with pytest.raises(UnwrapError):
        Ok(1).unwrap_err()


def test_meta_defaults_and_equality_ignores_meta() -> None:
    meta = ResponseMeta(status_code=200, headers={"x-request-id": "r"}, request_id="r", attempts=2)
    assert Ok(1, meta=meta).meta.attempts == 2
    assert Ok(1).meta == ResponseMeta()
    assert Ok(1, meta=meta) == Ok(1)
    assert Err(APIError(500, {}, "")).meta.status_code is None
    with pytest.raises(AttributeError):
        Ok(1).value = 2  # type: ignore[misc]


@pytest.mark.parametrize("bad", ["aGVs bG8=!!", "aGVsbG8", "!!!!", "aGVs\nbG8="])
def test_image_decode_refuses_anything_but_strict_base64(bad: str) -> None:
    from orq_async.models.response import ImageData

    assert ImageData(b64_json="aGVsbG8=").decode() == b"hello"
    with pytest.raises(ValueError, match="not valid base64"):
        ImageData(b64_json=bad).decode()


def test_the_core_s_fast_ok_equals_the_one_built_through_init() -> None:
    from orq_async.result import ok_with_meta

    headers = {"x-request-id": "r1"}
    fast = ok_with_meta("v", 200, headers, "r1", 2)
    slow = Ok("v", meta=ResponseMeta(status_code=200, headers=headers, request_id="r1", attempts=2))
    assert fast == slow
    assert fast.meta == slow.meta
    assert type(fast) is Ok
    assert type(fast.meta) is ResponseMeta
    assert pickle.loads(pickle.dumps(fast)).meta == slow.meta


def test_the_fast_ok_refuses_a_class_whose_init_does_more_than_store() -> None:
    import attrs

    from orq_async.result import _slot_setters

    @attrs.frozen
    class Checked:
        n: int = attrs.field(validator=attrs.validators.ge(0))

    @attrs.frozen
    class Plain:
        n: int

    with pytest.raises(TypeError, match="Checked must be built through its __init__"):
        _slot_setters(Checked)
    (set_n,) = _slot_setters(Plain)
    value = object.__new__(Plain)
    set_n(value, 3)
    assert value == Plain(3)

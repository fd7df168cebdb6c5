"""Numbers in responses, and the typed fields of an API error's JSON body."""

from __future__ import annotations

import re
from typing import Any

import pytest

from orq_async._convert import parse_response
from orq_async.errors import APIError, RateLimitError, api_error_for_status

USAGE_COUNTS = ["total_tokens", "input_tokens", "output_tokens"]
DETAIL_COUNTS = ["text_tokens", "image_tokens"]


def _body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "created": 1732450000,
        "data": [{"b64_json": "aGVsbG8="}],
        "usage": {
            "total_tokens": 10,
            "input_tokens": 6,
            "output_tokens": 4,
            "input_tokens_details": {"text_tokens": 3, "image_tokens": 3},
        },
    }
    body.update(changes)
    return body


def _with_count(path: str, value: object) -> dict[str, Any]:
    body = _body()
    if path == "created":
        body["created"] = value
    elif path in USAGE_COUNTS:
        body["usage"][path] = value
    else:
        body["usage"]["input_tokens_details"][path] = value
    return body


def _read(path: str, value: object) -> object:
    parsed = parse_response(_with_count(path, value))
    if path == "created":
        return parsed.created
    assert parsed.usage is not None
    if path in USAGE_COUNTS:
        return getattr(parsed.usage, path)
    assert parsed.usage.input_tokens_details is not None
    return getattr(parsed.usage.input_tokens_details, path)


COUNTS = ["created", *USAGE_COUNTS, *DETAIL_COUNTS]


@pytest.mark.parametrize("path", COUNTS)
def test_integral_floats_parse_as_ints(path: str) -> None:
    got = _read(path, 1732450000.0 if path == "created" else 7.0)
    assert got == (1732450000 if path == "created" else 7)
    assert type(got) is int


@pytest.mark.parametrize("path", COUNTS)
@pytest.mark.parametrize("bad", [7.5, "7", True, None, [7], float("inf")])
def test_non_integral_or_non_numeric_counts_are_refused(path: str, bad: object) -> None:
    if bad is None and path != "created":
        assert _read(path, bad) is None  # optional counts may be null
        return
    where = {"created": "created", **{n: f"usage.{n}" for n in USAGE_COUNTS}}.get(
        path, f"usage.input_tokens_details.{path}"
    )
    with pytest.raises(ValueError, match=re.escape(f"{where}: ")):
        _read(path, bad)


GATEWAY_ERROR = (
    '{"error": {"code": "model_not_found", "message": "no such model: x", "param": "model",'
    ' "type": "invalid_request_error", "failures": [{"provider": "a", "status": 404}]}}'
)


def test_api_error_reads_the_gateway_error_object() -> None:
    err = api_error_for_status(404)(404, {}, GATEWAY_ERROR)
    assert (err.code, err.param, err.type) == ("model_not_found", "model", "invalid_request_error")
    assert err.error_message == "no such model: x"
    assert err.failures == [{"provider": "a", "status": 404}]
    assert err.message == "HTTP 404: no such model: x"
    assert isinstance(err.json, dict)
    assert err.json["error"] == err.error


@pytest.mark.parametrize(
    "body",
    [
        "",
        "<html>bad gateway</html>",
        "[1, 2]",
        '{"error": "plain"}',
        '{"error": {"code": null, "param": null, "type": 5}}',
        '{"error": {}}',
        "{not json",
    ],
)
def test_api_error_fields_are_none_when_absent_or_of_another_type(body: str) -> None:
    err = APIError(502, {}, body)
    assert (err.code, err.param, err.type, err.error_message, err.failures) == (None,) * 5


def test_a_bare_top_level_error_object_is_read_too() -> None:
    err = RateLimitError(429, {}, '{"message": "slow down", "type": "rate_limit"}')
    assert (err.error_message, err.type, err.code) == ("slow down", "rate_limit", None)
    assert err.json == {"message": "slow down", "type": "rate_limit"}
    assert APIError(500, {}, "[1]").json == [1]
    assert APIError(500, {}, "oops").json is None

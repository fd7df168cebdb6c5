"""Property tests: bad input, in either direction, never escapes as an exception.

Random request bodies (JSON-like junk, wrong types, huge numbers, NaN, lone surrogates, bytes,
nested junk) and random responses (status, content type, bytes or JSON) go through one real
core and one loopback server per test; the result is always ``Ok`` or ``Err`` of the class the
input calls for, and nothing else is raised.

Hypothesis drives plain (sync) test functions; each example runs its coroutine to completion on
one event loop owned by a module fixture, so server and core are reused across examples and
closed once, cleanly, at the end.
"""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from orq_async import BackoffStrategy, Err, Ok, OrqCore, RequestOptions, RetryConfig
from orq_async.errors import (
    APIError,
    OrqError,
    ResponseValidationError,
    SDKValidationError,
    api_error_for_status,
)
from orq_async.funcs.router_images_edits_create import router_images_edits_create
from orq_async.models import FileInput
from orq_async.retries import RETRY_AFTER_HARD_CAP
from orq_async.throttle import Throttle
from tests.conftest import JPEG, OK_BODY, PNG, WEBP, FakeSleep
from tests.reliability._support import RawServer, Seen, http_response

# These tests pin one call's retry policy (its waits, exactly); the core-wide cooldown,
# which adds paced waits after a 429/503, is tested in tests/test_throttle.py.
NO_COOLDOWN = Throttle(cooldown=False)

EXAMPLES = settings(
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
OK_JSON = json.dumps(OK_BODY).encode()


@dataclass
class Scripted:
    """What the server answers next (status, content type, body, headers)."""

    status: int = 200
    content_type: str | None = "application/json"
    body: bytes = OK_JSON
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Env:
    loop: asyncio.AbstractEventLoop
    server: RawServer
    core: OrqCore
    answer: Scripted
    sleep: FakeSleep

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(asyncio.wait_for(coro, 30))


@pytest.fixture(scope="module")
def env() -> Iterator[Env]:
    loop = asyncio.new_event_loop()
    answer = Scripted()
    sleep = FakeSleep()

    async def behave(_n: int, _seen: Seen, writer: asyncio.StreamWriter) -> bool:
        writer.write(
            http_response(
                answer.status,
                answer.body,
                content_type=answer.content_type,
                headers=answer.headers,
            )
        )
        await writer.drain()
        return False

    async def start() -> tuple[RawServer, OrqCore]:
        server = await RawServer(behave).__aenter__()
        core = OrqCore(
            "sk-prop",
            server_url=server.url,
            retry_config=RetryConfig("none"),
            sleep=sleep,
            throttle=NO_COOLDOWN,
        )
        return server, core

    server, core = loop.run_until_complete(start())
    try:
        yield Env(loop, server, core, answer, sleep)
    finally:
        loop.run_until_complete(core.aclose())
        loop.run_until_complete(server.__aexit__(None, None, None))
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.run_until_complete(loop.shutdown_default_executor())
        loop.close()


# -- strategies ------------------------------------------------------------------------------

any_text = st.text(st.characters(exclude_categories=()), max_size=12)  # lone surrogates too
numbers = st.one_of(
    st.integers(),
    st.integers(min_value=10**18, max_value=10**400),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, -1, 1.5, 1e308, -0.0, 2**63, math.nan, math.inf]),
)
scalars = st.one_of(st.none(), st.booleans(), numbers, any_text, st.binary(max_size=16))
junk = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(any_text, inner, max_size=4),
        st.tuples(inner, inner),
        st.frozensets(st.integers(), max_size=3),
    ),
    max_leaves=10,
)
image_bytes = st.sampled_from([PNG, JPEG, WEBP]) | st.binary(max_size=64).map(
    lambda b: b"\x89PNG\r\n\x1a\n" + b
)
one_image = st.one_of(
    image_bytes,
    st.binary(max_size=32),
    st.tuples(any_text, image_bytes),
    st.tuples(any_text, image_bytes, any_text),
    st.sampled_from(["https://example.test/a.png", "data:image/png;base64,AA==", "a.png"]),
    st.builds(FileInput, any_text | junk, image_bytes | junk, st.none() | any_text | junk),
    junk,
)
identity = st.fixed_dictionaries(
    {"id": any_text | junk},
    optional={
        "display_name": any_text | junk,
        "email": any_text,
        "metadata": st.lists(st.dictionaries(any_text, junk, max_size=3), max_size=3) | junk,
        "tags": st.lists(any_text, max_size=3) | junk,
        "logo_url": any_text,
    },
)
options_dict = st.fixed_dictionaries(
    {},
    optional={
        "retry": st.fixed_dictionaries({}, optional={"count": numbers, "on_codes": junk}) | junk,
        "cache": st.fixed_dictionaries(
            {"type": st.just("exact_match") | junk}, optional={"ttl": numbers}
        ),
        "fallbacks": st.lists(st.fixed_dictionaries({"model": any_text | junk}), max_size=3),
        "load_balancer": st.fixed_dictionaries(
            {
                "type": st.just("weight_based") | junk,
                "models": st.lists(
                    st.fixed_dictionaries({"model": any_text}, optional={"weight": numbers}),
                    max_size=3,
                ),
            }
        ),
        "timeout": st.fixed_dictionaries({"call_timeout": numbers | junk}),
        "identity": identity,
        "prompt": st.fixed_dictionaries({"id": any_text, "version": st.just("latest") | junk}),
        "name": any_text | junk,
    },
)
mostly_text = st.one_of(any_text, any_text, any_text, junk)  # valid often enough to get sent
request_body = st.one_of(
    junk,
    st.fixed_dictionaries(
        {"model": mostly_text, "prompt": mostly_text},
        optional={
            "image": one_image | st.lists(one_image, max_size=18),
            "n": numbers | junk,
            "size": any_text | junk,
            "quality": st.sampled_from(["auto", "high", "ultra"]) | junk,
            "response_format": st.sampled_from(["url", "b64_json"]) | junk,
            "user": any_text | junk,
            "name": any_text | junk,
            "orq": options_dict | junk,
            "retry": junk,
            "cache": junk,
            "unknownField": junk,
            "loadBalancer": junk,
        },
    ),
    # Well-formed bodies whose values are nasty: the encoder's inputs, not the validator's.
    st.fixed_dictionaries(
        {"model": any_text, "prompt": any_text},
        optional={
            "image": image_bytes | st.tuples(any_text, image_bytes, any_text),
            "user": any_text,
            "orq": st.fixed_dictionaries({"identity": identity}),
        },
    ),
)
extra_fields = st.none() | st.dictionaries(any_text, junk | any_text, max_size=3)


_BASE = {"model": "m", "prompt": "p"}
_LB = {"type": "weight_based", "models": [{"model": "x", "weight": 10**400}]}


@EXAMPLES
@given(body=request_body, extra=extra_fields)
# Regressions: each of these once escaped as an exception.
@example(body={**_BASE, "model": "\ud800"}, extra=None)  # UnicodeEncodeError
@example(body={**_BASE, "image": ("\udcff.png", PNG)}, extra=None)  # ... in a filename
@example(body={**_BASE, "image": FileInput(5, PNG)}, extra=None)  # type: ignore[arg-type]
@example(
    body={**_BASE, "orq": {"identity": {"id": "i", "metadata": [{"a": math.nan}]}}}, extra=None
)  # ValueError from json.dumps(allow_nan=False)
@example(
    body={**_BASE, "orq": {"identity": {"id": "i", "metadata": [{"a": b"x"}]}}}, extra=None
)  # TypeError from json.dumps
@example(body={**_BASE, "orq": {"load_balancer": _LB}}, extra=None)  # OverflowError
@example(body=_BASE, extra={"note": "\udfff"})  # UnicodeEncodeError in an extra field
def test_random_request_bodies_give_ok_or_a_validation_error(
    env: Env, body: Any, extra: dict[str, Any] | None
) -> None:
    env.answer.__init__()  # type: ignore[misc]
    before = len(env.server.requests)
    opts = RequestOptions(extra_fields=extra)
    res = env.run(router_images_edits_create(env.core, body, opts))
    assert isinstance(res, (Ok, Err))
    sent = len(env.server.requests) - before
    event(f"result: {type(res).__name__}")
    if isinstance(res, Err):
        assert type(res.error) is SDKValidationError, res.error
        assert res.error.problems, "a validation error lists its problems"
        assert sent == 0, "nothing is sent for invalid input"
    else:
        assert sent == 1


statuses = st.sampled_from(
    [200, 201, 202, 301, 302, 307, 400, 401, 403, 404, 409, 418, 422, 429, 500, 502, 503, 504, 599]
)
content_types = st.sampled_from(
    [
        "application/json",
        "application/json; charset=utf-8",
        "application/problem+json",
        "text/plain",
        "text/html",
        "application/octet-stream",
        None,
    ]
)
response_json = st.one_of(
    junk,
    st.fixed_dictionaries(
        {
            "created": numbers | junk,
            "data": st.lists(
                st.fixed_dictionaries(
                    {}, optional={"b64_json": any_text | junk, "url": junk, "extra": junk}
                ),
                max_size=3,
            )
            | junk,
        },
        optional={
            "usage": junk,
            "size": junk,
            "quality": junk,
            "output_format": junk,
            "new_field": junk,
        },
    ),
    st.fixed_dictionaries({"error": st.fixed_dictionaries({"message": junk}) | junk}),
)


def _dump(value: Any) -> bytes:
    try:
        text = json.dumps(value, default=repr)  # NaN and Infinity as their JS spellings
    except (ValueError, TypeError):
        text = repr(value)
    return text.encode("utf-8", "surrogatepass")


valid_response = st.fixed_dictionaries(
    {
        "created": st.integers(0, 2**31),
        "data": st.lists(
            st.fixed_dictionaries({"b64_json": st.text(max_size=8)}, optional={"brand_new": junk}),
            max_size=2,
        ),
    },
    optional={
        "usage": st.fixed_dictionaries(
            {}, optional={"total_tokens": st.integers(0, 99), "future": junk}
        ),
        "unknown": junk,
    },
)
response_body = st.one_of(
    st.binary(max_size=512),
    valid_response.map(_dump),
    response_json.map(_dump),
    st.integers(1, 50_000).map(lambda n: b"[" * n),  # nested deeper than any parser allows
    st.integers(1, 50_000).map(lambda n: b'{"a":' * n),
    st.integers(4_301, 20_000).map(lambda n: b'{"created": 1' + b"0" * n + b', "data": []}'),
    st.just(OK_JSON[:-1]),
)


def _expected(status: int) -> tuple[type[OrqError], ...] | None:
    if 200 <= status < 300:
        return None  # Ok, or ResponseValidationError
    if status < 400:
        return (APIError,)
    return (api_error_for_status(status),)


@EXAMPLES
@given(status=statuses, content_type=content_types, body=response_body)
@example(status=500, content_type="application/json", body=b"[" * 100_000)  # RecursionError
def test_random_responses_give_ok_or_the_right_error(
    env: Env, status: int, content_type: str | None, body: bytes
) -> None:
    env.answer.__init__(status, content_type, body)  # type: ignore[misc]
    res = env.run(router_images_edits_create(env.core, {"model": "m", "prompt": "p"}))
    assert isinstance(res, (Ok, Err))
    assert res.meta.status_code == status
    expected = _expected(status)
    event(
        f"result: {type(res).__name__} {type(res.error).__name__ if isinstance(res, Err) else ''}"
    )
    if expected is None:
        if isinstance(res, Err):
            assert type(res.error) is ResponseValidationError, res.error
            assert res.error.body == body
        else:
            assert "json" in (content_type or "")
    else:
        assert isinstance(res, Err)
        assert type(res.error) is expected[0], res.error
        assert res.error.status_code == status


header_text = st.one_of(
    st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=40),
    st.sampled_from(
        [
            "0",
            "-5",
            "1e308",
            "nan",
            "inf",
            "-inf",
            "0x10",
            "1.5",
            "61",
            "59.9",
            "Wed, 21 Oct 2015 07:28:00 GMT",
            "Fri, 31 Dec 9999 23:59:59 GMT",
            "Mon, 01 Jan 0001 00:00:00 GMT",
            "Sun, 06 Nov 1994 08:49:37 -0000",
        ]
    ),
)


@EXAMPLES
@given(
    status=st.sampled_from([429, 503]),
    retry_after=st.none() | header_text,
    retry_after_ms=st.none() | header_text,
)
def test_random_retry_after_headers_never_break_the_retry_loop(
    env: Env, status: int, retry_after: str | None, retry_after_ms: str | None
) -> None:
    headers = {}
    if retry_after is not None:
        headers["Retry-After"] = retry_after
    if retry_after_ms is not None:
        headers["retry-after-ms"] = retry_after_ms
    env.answer.__init__(status, "application/json", b'{"error": "x"}', headers)  # type: ignore[misc]
    env.sleep.waits.clear()
    config = RetryConfig("backoff", BackoffStrategy(10, 2_000, 2.0, 600_000))
    res = env.run(
        router_images_edits_create(
            env.core, {"model": "m", "prompt": "p"}, RequestOptions(retries=config)
        )
    )
    assert isinstance(res, Err)
    assert type(res.error) is api_error_for_status(status)
    assert 1 <= res.meta.attempts <= config.max_retries + 1
    assert len(env.sleep.waits) == res.meta.attempts - 1
    assert all(0 <= w <= 2.0 for w in env.sleep.waits), env.sleep.waits
    assert all(math.isfinite(w) for w in env.sleep.waits)
    if res.meta.attempts == 1:
        # Only a server asking for more than the hard cap stops the retries at once.
        assert headers, "with no header the client always retries"
    assert RETRY_AFTER_HARD_CAP > 2.0


def _deep(depth: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize(
    ("body", "extra", "where"),
    [
        ({"model": "m\udc80", "prompt": "p"}, None, "model"),  # from a surrogateescape decode
        ({"model": "m", "prompt": "p", "user": "\ud83d"}, None, "user"),  # half an emoji
        ({"model": "m", "prompt": "p", "orq": {"name": "\udfff"}}, None, "orq"),
        ({"model": "m", "prompt": "p"}, {"note": "\ud800"}, "options.extra_fields.note"),
        ({"model": "m", "prompt": "p"}, {"deep": _deep(100_000)}, "options.extra_fields.deep"),
        (
            {"model": "m", "prompt": "p", "orq": {"identity": {"id": "i", "metadata": [{1.5: 2}]}}},
            None,
            "orq.identity.metadata[0]",
        ),
        (
            {"model": "m", "prompt": "p", "image": ("\udcff.png", PNG)},
            None,
            "image",
        ),
    ],
)
def test_unsendable_text_is_refused_before_sending_with_its_place(
    env: Env, body: dict[str, Any], extra: dict[str, Any] | None, where: str
) -> None:
    env.answer.__init__()  # type: ignore[misc]
    before = len(env.server.requests)
    res = env.run(router_images_edits_create(env.core, body, RequestOptions(extra_fields=extra)))
    assert isinstance(res, Err)
    assert type(res.error) is SDKValidationError
    assert [p.path for p in res.error.problems] == [where]
    assert len(env.server.requests) == before


def test_a_lone_surrogate_in_a_response_is_still_ok(env: Env) -> None:
    """Forward compatible parsing: an escaped lone surrogate (legal JSON) does not fail a 200."""
    body = b'{"created": 1, "data": [{"b64_json": "AA==", "revised_prompt": "x\\ud800"}]}'
    env.answer.__init__(200, "application/json", body)  # type: ignore[misc]
    res = env.run(router_images_edits_create(env.core, {"model": "m", "prompt": "p"}))
    assert isinstance(res, Ok)
    assert res.value.data[0].revised_prompt == "x\ud800"

"""Client retries: policy, Retry-After, byte-identical attempts, and their pure helpers."""

from __future__ import annotations

import email.utils
import io
import time
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from orq_async import BackoffStrategy, Err, Ok, OrqCore, RequestOptions, RetryConfig
from orq_async.errors import APIConnectionError, InternalServerError, RateLimitError
from orq_async.funcs.router_images_edits_create import router_images_edits_create
from orq_async.models import FileInput
from orq_async.retries import (
    RETRY_AFTER_HARD_CAP,
    SAFE_DEFAULT,
    parse_retry_after,
    retry_codes_matcher,
)
from orq_async.throttle import Throttle
from tests.conftest import JPEG, PNG, WEBP, FakeSleep, Pipe, Server

# These tests pin one call's retry policy (its waits, exactly); the core-wide cooldown,
# which adds paced waits after a 429/503, is tested in tests/test_throttle.py.
NO_COOLDOWN = Throttle(cooldown=False)

BODY = {"model": "m", "prompt": "p"}
FAST = BackoffStrategy(10, 50, 2.0, 60_000)


def error(status: int, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response({"error": {"message": "x"}}, status=status, headers=headers)


def test_parse_retry_after_forms() -> None:
    now = time.time()
    date = email.utils.formatdate(now + 30, usegmt=True)
    assert parse_retry_after({"retry-after-ms": "1500"}) == 1.5
    assert parse_retry_after({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    assert parse_retry_after({"retry-after": "7"}) == 7.0
    assert parse_retry_after({"retry-after": "-3"}) == 0.0
    assert 28 <= (parse_retry_after({"retry-after": date}, now) or 0) <= 30
    assert parse_retry_after({"retry-after": "soon"}) is None
    assert parse_retry_after({"retry-after-ms": "nan", "retry-after": "2"}) == 2.0
    assert parse_retry_after({}) is None


def test_retry_codes_matcher() -> None:
    match = retry_codes_matcher([429, "503", "5XX"])
    assert [s for s in (200, 404, 429, 500, 503, 599, 600) if match(s)] == [429, 500, 503, 599]
    with pytest.raises(ValueError, match="retry code"):
        retry_codes_matcher(["fifty"])


def test_config_validation_and_defaults() -> None:
    assert RetryConfig().retry_codes == (429, 500, 502, 503, 504)
    assert SAFE_DEFAULT.retry_codes == (429,)
    assert not SAFE_DEFAULT.retry_connection_errors
    assert BackoffStrategy() == BackoffStrategy(500, 60_000, 1.5, 3_600_000)
    with pytest.raises(ValueError, match="strategy"):
        RetryConfig("sometimes")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="initial_interval"):
        BackoffStrategy(-1)


@pytest.mark.parametrize("kind", ["bytes", "path", "fileobj", "several"])
async def test_every_attempt_sends_identical_bytes(
    server: Server, fake_sleep: FakeSleep, tmp_path: Path, kind: str
) -> None:
    path = tmp_path / "in.png"
    path.write_bytes(PNG * 100)
    fobj = io.BytesIO(b"prefix" + JPEG)
    fobj.seek(6)
    image: Any = {
        "bytes": WEBP,
        "path": path,
        "fileobj": fobj,
        "several": [path, JPEG, FileInput("w.webp", WEBP)],
    }[kind]
    server.reply(error(503), error(429, {"Retry-After": "0"}), error(502))
    config = RetryConfig("backoff", FAST)
    async with OrqCore(
        server_url=server.url, retry_config=config, sleep=fake_sleep, throttle=NO_COOLDOWN
    ) as core:
        res = await router_images_edits_create(core, {**BODY, "image": image})
    assert isinstance(res, Ok)
    assert res.meta.attempts == 4
    assert len(server.requests) == 4
    assert len({r.sha256 for r in server.requests}) == 1
    assert all(r.named("image") for r in server.requests)
    assert len(fake_sleep.waits) == 3


async def test_retry_after_is_honoured_and_capped_by_max_interval(
    server: Server, fake_sleep: FakeSleep
) -> None:
    server.reply(
        error(429, {"retry-after-ms": "20"}),
        error(429, {"Retry-After": "3"}),
        error(429, {"Retry-After": "30"}),
    )
    config = RetryConfig("backoff", BackoffStrategy(10, 5_000, 2.0, 600_000))
    async with OrqCore(
        server_url=server.url, retry_config=config, sleep=fake_sleep, throttle=NO_COOLDOWN
    ) as core:
        res = await router_images_edits_create(core, BODY)
    assert res.ok
    assert fake_sleep.waits == [0.02, 3.0, 5.0]


async def test_server_wait_above_hard_cap_ends_retries(
    server: Server, fake_sleep: FakeSleep
) -> None:
    server.reply(error(429, {"Retry-After": str(int(RETRY_AFTER_HARD_CAP) + 1)}))
    async with OrqCore(
        server_url=server.url, retry_config=RetryConfig(), sleep=fake_sleep, throttle=NO_COOLDOWN
    ) as c:
        res = await router_images_edits_create(c, BODY)
    assert isinstance(res, Err)
    assert isinstance(res.error, RateLimitError)
    assert res.meta.attempts == 1
    assert fake_sleep.waits == []


async def test_exhausted_retries_return_the_last_response(
    server: Server, fake_sleep: FakeSleep
) -> None:
    server.reply(*(error(500 + i) for i in (0, 2, 3, 4)))
    config = RetryConfig("backoff", FAST, max_retries=3)
    async with OrqCore(
        server_url=server.url, retry_config=config, sleep=fake_sleep, throttle=NO_COOLDOWN
    ) as core:
        res = await router_images_edits_create(core, BODY)
    assert isinstance(res, Err)
    assert isinstance(res.error, InternalServerError)
    assert res.error.status_code == 504
    assert res.meta.attempts == 4
    # Exponential with jitter in [0.5, 1] of 10 ms * 2^k, capped at 50 ms.
    for k, wait in enumerate(fake_sleep.waits):
        assert min(0.05, 0.01 * 2**k) * 0.5 <= wait <= min(0.05, 0.01 * 2**k)


async def test_codes_not_listed_are_not_retried_and_5xx_ranges_work(
    server: Server, fake_sleep: FakeSleep
) -> None:
    server.reply(error(400), error(507), web.json_response({"created": 1, "data": []}))
    config = RetryConfig("backoff", FAST)
    async with OrqCore(
        server_url=server.url, retry_config=config, sleep=fake_sleep, throttle=NO_COOLDOWN
    ) as core:
        first = await router_images_edits_create(core, BODY)
        second = await router_images_edits_create(core, BODY, RequestOptions(retry_codes=["5XX"]))
    assert isinstance(first, Err)
    assert first.meta.attempts == 1
    assert isinstance(second, Ok)
    assert second.meta.attempts == 2


async def test_safe_default_retries_429_only(server: Server, fake_sleep: FakeSleep) -> None:
    server.reply(error(429), error(500))
    async with OrqCore(server_url=server.url, sleep=fake_sleep, throttle=NO_COOLDOWN) as core:
        res = await router_images_edits_create(core, BODY)
    assert isinstance(res, Err)
    assert isinstance(res.error, InternalServerError)
    assert res.meta.attempts == 2


async def test_max_elapsed_time_stops_before_a_wait_that_would_pass_it(
    server: Server, fake_sleep: FakeSleep
) -> None:
    server.reply(error(503, {"Retry-After": "2"}), error(503))
    config = RetryConfig("backoff", BackoffStrategy(10, 10_000, 2.0, 1_000))
    async with OrqCore(
        server_url=server.url, retry_config=config, sleep=fake_sleep, throttle=NO_COOLDOWN
    ) as core:
        res = await router_images_edits_create(core, BODY)
    assert isinstance(res, Err)
    assert res.meta.attempts == 1


async def test_connection_errors_retried_only_when_enabled(
    closed_port: int, fake_sleep: FakeSleep
) -> None:
    url = f"http://127.0.0.1:{closed_port}"
    on = RetryConfig("backoff", FAST, retry_connection_errors=True, max_retries=2)
    off = RetryConfig("backoff", FAST, retry_connection_errors=False)
    async with OrqCore(server_url=url, sleep=fake_sleep, throttle=NO_COOLDOWN) as core:
        retried = await router_images_edits_create(core, BODY, RequestOptions(retries=on))
        single = await router_images_edits_create(core, BODY, RequestOptions(retries=off))
    assert isinstance(retried, Err)
    assert isinstance(retried.error, APIConnectionError)
    assert retried.meta.attempts == 3
    assert retried.meta.status_code is None
    assert isinstance(single, Err)
    assert single.meta.attempts == 1


async def test_non_seekable_stream_makes_the_call_single_attempt(
    server: Server, fake_sleep: FakeSleep
) -> None:
    async def chunks() -> Any:
        yield PNG[:5]
        yield PNG[5:]

    server.reply(error(503), error(503))
    config = RetryConfig("backoff", FAST)
    async with OrqCore(
        server_url=server.url, retry_config=config, sleep=fake_sleep, throttle=NO_COOLDOWN
    ) as core:
        with Pipe(JPEG) as pipe:
            piped = await router_images_edits_create(core, {**BODY, "image": pipe})
        streamed = await router_images_edits_create(
            core, {**BODY, "image": FileInput("s.png", chunks())}
        )
        ok = await router_images_edits_create(core, {**BODY, "image": FileInput("s.png", PNG)})
    assert isinstance(piped, Err)
    assert piped.meta.attempts == 1
    assert isinstance(streamed, Err)
    assert streamed.meta.attempts == 1
    assert ok.ok
    assert server.requests[0].one("image").data == JPEG
    assert "Transfer-Encoding" in server.requests[0].headers  # size unknown: chunked
    assert server.requests[1].one("image").data == PNG

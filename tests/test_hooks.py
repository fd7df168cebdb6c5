"""Hooks: before each attempt, after the final success or error; failures become Err."""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

from aiohttp import web

from orq_async import Err, Ok, OrqCore, RequestOptions, RetryConfig
from orq_async.errors import (
    InternalServerError,
    InvalidRequestError,
    OrqError,
    RateLimitError,
    SDKValidationError,
    UnexpectedClientError,
)
from orq_async.funcs.router_images_edits_create import router_images_edits_create
from orq_async.hooks import HookContext, Hooks
from orq_async.result import ResponseMeta
from orq_async.retries import BackoffStrategy
from tests.conftest import FakeSleep, Server

BODY = {"model": "m", "prompt": "p"}
KEY = "sk-hook-secret"


async def test_before_request_runs_per_attempt_and_may_change_headers(
    server: Server, fake_sleep: FakeSleep
) -> None:
    seen: list[tuple[str, str, int, str | None]] = []

    async def sign(ctx: HookContext, headers: MutableMapping[str, str]) -> None:
        seen.append((ctx.operation_id, ctx.base_url, ctx.attempt, headers.get("Authorization")))
        headers["X-Signature"] = f"sig-{ctx.attempt}"
        headers["Authorization"] = "Bearer stolen"  # ignored: the key is not the hook's

    server.reply(web.json_response({}, status=503))
    retries = RetryConfig("backoff", BackoffStrategy(1, 1, 1, 60_000))
    async with OrqCore(
        KEY, server_url=server.url, hooks=Hooks(before_request=[sign]), sleep=fake_sleep
    ) as core:
        res = await router_images_edits_create(core, BODY, RequestOptions(retries=retries))
    assert isinstance(res, Ok)
    assert seen == [
        ("createImageEdit", server.url, 1, "Bearer [REDACTED]"),
        ("createImageEdit", server.url, 2, "Bearer [REDACTED]"),
    ]
    assert [r.headers["X-Signature"] for r in server.requests] == ["sig-1", "sig-2"]
    assert {r.headers["Authorization"] for r in server.requests} == {f"Bearer {KEY}"}


async def test_before_request_may_stop_the_request(server: Server) -> None:
    def deny(ctx: HookContext, headers: MutableMapping[str, str]) -> OrqError:
        return InvalidRequestError("quota exhausted locally")

    async with OrqCore(server_url=server.url) as core:
        core.hooks.before_request.append(deny)  # registered after construction
        res = await router_images_edits_create(core, BODY)
    assert isinstance(res, Err)
    assert str(res.error) == "quota exhausted locally"
    assert server.requests == []


async def test_after_hooks_run_once_per_call_and_may_replace_the_error(
    server: Server,
) -> None:
    calls: list[tuple[str, int, int | None]] = []

    def on_success(ctx: HookContext, value: Any, meta: ResponseMeta) -> None:
        calls.append(("success", ctx.attempt, meta.status_code))

    async def on_error(ctx: HookContext, error: OrqError, meta: ResponseMeta) -> OrqError | None:
        calls.append(("error", ctx.attempt, meta.status_code))
        if isinstance(error, InternalServerError):
            return RateLimitError(429, {}, "mapped by hook")
        return None

    server.reply(web.json_response({}, status=500))
    hooks = Hooks(after_success=[on_success], after_error=[on_error])
    no_retry = RetryConfig("none")
    async with OrqCore(server_url=server.url, hooks=hooks, retry_config=no_retry) as core:
        failed = await router_images_edits_create(core, BODY)
        ok = await router_images_edits_create(core, BODY)
        invalid = await router_images_edits_create(core, {"prompt": "p"})
    assert isinstance(failed, Err)
    assert isinstance(failed.error, RateLimitError)
    assert failed.meta.status_code == 500
    assert isinstance(ok, Ok)
    assert isinstance(invalid, Err)
    assert isinstance(invalid.error, SDKValidationError)
    assert calls == [("error", 1, 500), ("success", 1, 200), ("error", 0, None)]


async def test_a_raising_hook_becomes_unexpected_client_error_naming_it(server: Server) -> None:
    def broken_hook(ctx: HookContext, headers: MutableMapping[str, str]) -> None:
        raise KeyError("boom")

    def bad_success(ctx: HookContext, value: Any, meta: ResponseMeta) -> None:
        raise ValueError("nope")

    async with OrqCore(server_url=server.url, hooks=Hooks(before_request=[broken_hook])) as core:
        res = await router_images_edits_create(core, BODY)
        assert isinstance(res, Err)
        assert isinstance(res.error, UnexpectedClientError)
        assert "broken_hook" in str(res.error)
        assert isinstance(res.error.__cause__, KeyError)
        assert server.requests == []
        core.hooks.before_request.clear()
        core.hooks.after_success.append(bad_success)
        res = await router_images_edits_create(core, BODY)
        assert isinstance(res, Err)
        assert "bad_success" in str(res.error)
        assert res.meta.status_code == 200
        # The connection went back to the pool: the core still works.
        core.hooks.after_success.clear()
        assert (await router_images_edits_create(core, BODY)).ok
        assert len(core._session.connector._acquired) == 0  # type: ignore[union-attr]


async def test_hook_setting_a_header_with_crlf_is_refused(server: Server) -> None:
    def inject(ctx: HookContext, headers: MutableMapping[str, str]) -> None:
        headers["X-Bad"] = "a\r\nb"

    async with OrqCore(server_url=server.url, hooks=Hooks(before_request=[inject])) as core:
        res = await router_images_edits_create(core, BODY)
    assert isinstance(res, Err)
    assert isinstance(res.error, InvalidRequestError)
    assert server.requests == []

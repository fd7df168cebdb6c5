"""Hooks: code of yours that runs inside the request pipeline.

Three kinds, each a sync or async callable, registered with ``OrqCore(hooks=Hooks(...))`` or
later with ``core.hooks.before_request.append(fn)``:

- ``before_request(ctx, headers)`` runs **once per attempt**, just before the request is sent.
  It may add or change ``headers`` (a dict of this attempt's headers; ``Authorization`` is
  shown redacted as ``Bearer [REDACTED]`` and a change to it is ignored), and may stop the
  request by returning an :class:`~orq_async.errors.OrqError`, which becomes the ``Err``.
- ``after_success(ctx, value, meta)`` runs **once per call**, on the final ``Ok``.
- ``after_error(ctx, error, meta)`` runs **once per call**, on the final ``Err`` (after client
  retries, and for validation errors too, with ``attempt == 0``). ``meta`` holds the last
  response's status and headers if one came; ``error`` (an ``APIError``) holds its body. It may
  return another ``OrqError`` to replace the error.

``ctx`` is a :class:`HookContext`: operation id (``createImageEdit``), base URL, attempt
number and the call's options. An exception raised by a hook becomes
``Err(UnexpectedClientError)`` naming the hook (the exception is its ``__cause__``); it never
escapes and never leaks a connection.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import attrs

from orq_async._redact import redact_headers
from orq_async.errors import OrqError, UnexpectedClientError
from orq_async.options import RequestOptions
from orq_async.result import Err, Ok, ResponseMeta, Result

__all__ = [
    "AfterErrorHook",
    "AfterSuccessHook",
    "BeforeRequestHook",
    "HookContext",
    "Hooks",
    "call_hook",
    "run_after",
    "run_before_request",
]


@attrs.frozen
class HookContext:
    """What a hook knows about the call it runs in."""

    operation_id: str
    base_url: str
    attempt: int
    options: RequestOptions


BeforeRequestHook = Callable[
    [HookContext, MutableMapping[str, str]], "OrqError | Awaitable[OrqError | None] | None"
]
AfterSuccessHook = Callable[[HookContext, Any, ResponseMeta], "Awaitable[None] | None"]
AfterErrorHook = Callable[
    [HookContext, OrqError, ResponseMeta], "OrqError | Awaitable[OrqError | None] | None"
]


@attrs.define
class Hooks:
    """The registered hooks, run in registration order."""

    before_request: list[BeforeRequestHook] = attrs.field(factory=list)
    after_success: list[AfterSuccessHook] = attrs.field(factory=list)
    after_error: list[AfterErrorHook] = attrs.field(factory=list)

    def __bool__(self) -> bool:
        return bool(self.before_request or self.after_success or self.after_error)


def _hook_name(hook: Callable[..., Any]) -> str:
    return getattr(hook, "__qualname__", None) or type(hook).__name__


async def call_hook(hook: Callable[..., Any], *args: Any) -> Any:
    """Run a sync or async hook; its exception comes back as an UnexpectedClientError."""
    try:
        out = hook(*args)
        if inspect.isawaitable(out):
            out = await out
    except Exception as exc:
        error = UnexpectedClientError(f"hook {_hook_name(hook)} raised {type(exc).__name__}")
        error.__cause__ = exc
        return error
    if out is not None and not isinstance(out, OrqError):
        return UnexpectedClientError(
            f"hook {_hook_name(hook)} returned {type(out).__name__}, not None or an OrqError"
        )
    return out


async def run_before_request(
    hooks: list[BeforeRequestHook], ctx: HookContext, headers: dict[str, str]
) -> dict[str, str] | OrqError:
    """Run the before-request hooks on a copy of the headers (the key shown redacted).

    The caller checks the returned headers as it checks any others (CR/LF, non-str values).
    """
    view = redact_headers(headers)
    auth = headers.get("Authorization")
    for hook in hooks:
        stop: OrqError | None = await call_hook(hook, ctx, view)
        if stop is not None:
            return stop
    if auth is not None:
        view["Authorization"] = auth
    else:
        view.pop("Authorization", None)
    return view


async def run_after(hooks: Hooks, ctx: HookContext, result: Result[Any, OrqError]) -> Any:
    """Run the after-success or after-error hooks on the final result; return the result."""
    meta = result.meta
    if isinstance(result, Ok):
        for hook in hooks.after_success:
            error = await call_hook(hook, ctx, result.value, meta)
            if error is not None:
                return Err(error, meta=meta)
        return result
    for after in hooks.after_error:
        replaced = await call_hook(after, ctx, result.error, meta)
        if replaced is not None:
            result = Err(replaced, meta=meta)
    return result

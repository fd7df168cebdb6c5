"""Issue 10, point 18: errors pickle and copy intact, and never carry the key.

An ``Err`` crosses process boundaries in worker pools, so every class in ``orq_async.errors``
must survive ``pickle`` (every protocol), ``copy.copy`` and ``copy.deepcopy`` with its type,
message and fields (status, headers, body, json, request id, problems, limit) intact. The
errors come from real calls against a server that echoes the key in bodies and headers; the
pickled bytes never contain the key in any encoding (a field holding the key in the original
must come back key-free).
"""

from __future__ import annotations

import asyncio
import copy
import inspect
import json
import pickle
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest

from orq_async import OrqCore, RequestOptions
from orq_async import errors as errors_module
from orq_async.errors import OrqError
from orq_async.funcs.router_images_edits_create import router_images_edits_create
from tests.adversarial._support import KEY, OFF, body, edit
from tests.adversarial.test_key_leaks import leaks
from tests.conftest import PNG
from tests.reliability._support import RawServer, Seen, http_response

FIELDS = ("message", "status_code", "headers", "body", "json", "request_id", "problems", "limit")


async def _hostile(_n: int, seen: Seen, writer: asyncio.StreamWriter) -> bool:
    """Answer the status in ``X-Case``, echoing the key in the body and in headers."""
    case = seen.headers.get("x-case", "")
    auth = seen.headers.get("authorization", "")
    echo = {"X-Echo": auth, "X-Request-Id": f"req-{auth}"}
    message = json.dumps({"error": {"message": f"bad {auth}"}, "key": auth}).encode()
    if case.isdigit():
        writer.write(http_response(int(case), message, headers=echo))
    elif case == "invalid-json":
        writer.write(http_response(200, f'{{"k": "{auth}'.encode(), headers=echo))
    elif case == "huge":
        writer.write(http_response(200, b"", length=1 << 30, headers=echo))
    elif case == "slow":
        await seen.until_disconnected(10)
    await writer.drain()
    return False


async def _broken_source() -> Any:
    yield PNG
    raise OSError("the source failed")


async def _failing_provider() -> str:
    raise RuntimeError("vault unreachable")


Scenario = Callable[[str], Awaitable[Any]]


def _status(code: int) -> Scenario:
    async def run(url: str) -> Any:
        async with OrqCore(api_key=KEY, server_url=url, retry_config=OFF) as core:
            return await edit(core, headers={"X-Case": str(code)})

    return run


def _with(core_kw: dict[str, Any], request: Any = None, **options: Any) -> Scenario:
    async def run(url: str) -> Any:
        kw = {"api_key": KEY, "server_url": url, "retry_config": OFF, **core_kw}
        async with OrqCore(**kw) as core:
            opts = RequestOptions(**options) if options else None
            payload: Any = request or body()
            return await router_images_edits_create(core, payload, opts)

    return run


SCENARIOS: dict[str, Scenario] = {
    "BadRequestError": _status(400),
    "AuthenticationError": _status(401),
    "PermissionDeniedError": _status(403),
    "NotFoundError": _status(404),
    "UnprocessableEntityError": _status(422),
    "RateLimitError": _status(429),
    "InternalServerError": _status(502),
    "APIError": _status(409),
    "APIConnectionError": _with({}, headers={"X-Case": "drop"}),
    "APITimeoutError": _with({"timeout_ms": 100}, headers={"X-Case": "slow"}),
    "InvalidRequestError": _with({}, headers={"X-Bad": "a\r\nb"}),
    "SDKValidationError": _with({}, {"model": 1, "prompt": KEY, "image": "nope", "n": 0}),
    "ResponseValidationError": _with({}, headers={"X-Case": "invalid-json"}),
    "UnexpectedClientError": _with({"api_key": _failing_provider}),
    "ResponseTooLargeError": _with({"max_response_bytes": 1024}, headers={"X-Case": "huge"}),
    "InputStreamError": _with({}, body([("camera.png", _broken_source())])),
}


def _error_classes() -> Iterator[str]:
    for name, obj in inspect.getmembers(errors_module, inspect.isclass):
        if issubclass(obj, OrqError) and obj is not OrqError:
            yield name


def test_every_error_class_has_a_scenario() -> None:
    """Point 18: a new error class without a copy/pickle case fails here."""
    missing = set(_error_classes()) - set(SCENARIOS)
    assert not missing, f"add a scenario for {sorted(missing)}"


def _same_or_keyfree(name: str, original: Any, copied: Any) -> None:
    if leaks(repr(original)):
        assert not leaks(repr(copied)), f"{name} still holds the key: {copied!r}"
        return
    if name == "headers":
        original, copied = dict(original), dict(copied)
    assert copied == original, f"{name}: {copied!r} != {original!r}"


def _assert_intact(original: OrqError, copied: OrqError) -> None:
    assert type(copied) is type(original)
    assert (str(copied) == str(original)) or not leaks(str(copied))
    for name in FIELDS:
        if hasattr(original, name):
            assert hasattr(copied, name), f"{type(copied).__name__} lost .{name}"
            _same_or_keyfree(name, getattr(original, name), getattr(copied, name))


@pytest.mark.parametrize("name", list(SCENARIOS))
async def test_errors_pickle_and_copy_intact_without_the_key(name: str) -> None:
    """Point 18: every protocol, ``copy`` and ``deepcopy``; pickled bytes are key-free."""
    async with RawServer(_hostile) as srv:
        result = await asyncio.wait_for(SCENARIOS[name](srv.url), 10)
    error = result.error
    assert type(error).__name__ == name, f"the scenario gave {error!r}"
    for protocol in range(2, pickle.HIGHEST_PROTOCOL + 1):
        data = pickle.dumps(error, protocol=protocol)
        assert not leaks(data.decode("latin-1")), f"the key is in the pickle (protocol {protocol})"
        _assert_intact(error, pickle.loads(data))
    _assert_intact(error, copy.copy(error))
    _assert_intact(error, copy.deepcopy(error))
    pickled_result = pickle.loads(pickle.dumps(result))
    _assert_intact(error, pickled_result.error)

"""Secrets: the API key never leaks, headers cannot be injected, plain HTTP is flagged.

The servers here are hostile on purpose: they echo the key back in bodies, headers and reason
phrases, so anything the SDK copies from a response into an error or a log is caught.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import traceback
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.abc import AbstractResolver, ResolveResult

from orq_async import BackoffStrategy, Err, OrqCore, RequestOptions, RetryConfig
from orq_async.core import InsecureTransportWarning
from orq_async.errors import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    InternalServerError,
    InvalidRequestError,
    NotFoundError,
    OrqError,
    PermissionDeniedError,
    RateLimitError,
    ResponseValidationError,
    SDKValidationError,
    UnexpectedClientError,
    UnprocessableEntityError,
)
from orq_async.funcs.router_images_edits_create import router_images_edits_create
from orq_async.hooks import HookContext, Hooks
from orq_async.models import FileInput
from tests.conftest import OK_BODY, PNG, Server
from tests.reliability._support import RawServer, Seen, http_response

KEY = "sk-orq-7f3a9c1e5b2d4f60-SECRET"
BODY = {"model": "m", "prompt": "p", "image": PNG}
ON = RetryConfig("backoff", BackoffStrategy(1, 5, 2.0, 60_000), retry_connection_errors=True)


async def _hostile(_n: int, seen: Seen, writer: asyncio.StreamWriter) -> bool:
    """Echo the Authorization header everywhere a response can carry text."""
    case = seen.headers.get("x-case", "")
    auth = seen.headers.get("authorization", "")
    echo = {"X-Echo": auth, "X-Request-Id": f"req-{auth}"}
    message = json.dumps({"error": {"message": f"invalid key {auth}", "key": auth}}).encode()
    if case.isdigit():
        writer.write(http_response(int(case), message, headers=echo, reason=f"Nope {auth}"))
    elif case == "not-json":
        writer.write(
            http_response(200, f"hello {auth}".encode(), content_type="text/plain", headers=echo)
        )
    elif case == "echo-content-type":
        writer.write(http_response(200, b"{}", content_type=f"text/plain; k={auth}"))
    elif case == "wrong-shape":
        bad = json.dumps({"created": auth, "data": [{"url": 5, "b64_json": auth}]}).encode()
        writer.write(http_response(200, bad, headers=echo))
    elif case == "invalid-json":
        writer.write(http_response(200, f'{{"created": "{auth}'.encode(), headers=echo))
    elif case == "drop":
        return False
    elif case == "midbody":
        writer.write(http_response(200, auth.encode(), length=10_000, headers=echo))
    elif case == "slow":
        await seen.until_disconnected(10)
    elif case == "ok":
        writer.write(http_response(200, json.dumps(OK_BODY).encode(), headers=echo))
    await writer.drain()
    return False


async def _instant(_seconds: float) -> None:
    return None


async def _failing_provider() -> str:
    raise RuntimeError("vault unreachable")


def _raising_hook(_ctx: HookContext, headers: Any) -> None:
    raise ValueError(f"hook saw {headers.get('Authorization')}")


# (case header, core kwargs, options, body, expected error class)
CASES: dict[str, tuple[str, dict[str, Any], dict[str, Any], dict[str, Any], type[OrqError]]] = {
    "400": ("400", {}, {}, BODY, BadRequestError),
    "401": ("401", {}, {}, BODY, AuthenticationError),
    "403": ("403", {}, {}, BODY, PermissionDeniedError),
    "404": ("404", {}, {}, BODY, NotFoundError),
    "422": ("422", {}, {}, BODY, UnprocessableEntityError),
    "429": ("429", {}, {}, BODY, RateLimitError),
    "500": ("500", {}, {}, BODY, InternalServerError),
    "503 retried": ("503", {"retry_config": ON}, {}, BODY, InternalServerError),
    "302": ("302", {}, {}, BODY, APIError),
    "409 (no subclass)": ("409", {}, {}, BODY, APIError),
    "dropped": ("drop", {"retry_config": ON}, {}, BODY, APIConnectionError),
    "mid-body": ("midbody", {}, {}, BODY, APIConnectionError),
    "refused": ("ok", {}, {"server_url": "refused"}, BODY, APIConnectionError),
    "timeout": ("slow", {}, {"timeout_ms": 100}, BODY, APITimeoutError),
    "not JSON": ("not-json", {}, {}, BODY, ResponseValidationError),
    "content type echo": ("echo-content-type", {}, {}, BODY, ResponseValidationError),
    "wrong shape": ("wrong-shape", {}, {}, BODY, ResponseValidationError),
    "invalid JSON": ("invalid-json", {}, {}, BODY, ResponseValidationError),
    "CR/LF header": ("ok", {}, {"headers": {"X-Bad": "a\r\nb"}}, BODY, InvalidRequestError),
    "bad server_url": ("ok", {}, {"server_url": "ftp://example.com"}, BODY, InvalidRequestError),
    "validation": ("ok", {}, {}, {"model": 1, "image": "nope", "n": 0}, SDKValidationError),
    "key provider fails": ("ok", {"api_key": _failing_provider}, {}, BODY, UnexpectedClientError),
    "hook raises": (
        "ok",
        {"hooks": Hooks(before_request=[_raising_hook])},
        {},
        BODY,
        UnexpectedClientError,
    ),
}


def _chain(error: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    todo: list[BaseException | None] = [error]
    while todo:
        exc = todo.pop()
        if exc is None or id(exc) in seen:
            continue
        seen.add(id(exc))
        yield exc
        todo += [exc.__cause__, exc.__context__]


def _texts_of(obj: Any) -> list[str]:
    return [str(obj), repr(obj)]


@pytest.fixture
def capture_everything(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """DEBUG on the SDK's logger, aiohttp's loggers, asyncio's and the root."""
    caplog.set_level(logging.DEBUG)
    for name in ("orq_async", "aiohttp", "aiohttp.client", "aiohttp.internal", "asyncio"):
        caplog.set_level(logging.DEBUG, logger=name)
    return caplog


@pytest.mark.parametrize("name", list(CASES))
async def test_the_key_never_leaks_from_any_error(
    name: str, capture_everything: pytest.LogCaptureFixture, closed_port: int
) -> None:
    case, core_kwargs, opt_kwargs, body, expected = CASES[name]
    async with RawServer(_hostile) as srv:
        if opt_kwargs.get("server_url") == "refused":
            opt_kwargs = {**opt_kwargs, "server_url": f"http://127.0.0.1:{closed_port}"}
        options = RequestOptions(**{"headers": {"X-Case": case}, **opt_kwargs})
        core = OrqCore(**{"api_key": KEY, "server_url": srv.url, "sleep": _instant, **core_kwargs})
        async with core:
            res = await router_images_edits_create(core, body, options)
            core_texts = _texts_of(core)
    assert isinstance(res, Err)
    assert type(res.error) is expected
    if case.isdigit() or case in ("not-json", "wrong-shape", "invalid-json", "midbody"):
        # The hostile server did receive the key: the echo is real, not a test artefact.
        assert srv.requests[0].headers["authorization"] == f"Bearer {KEY}"

    texts = core_texts + _texts_of(options) + _texts_of(res) + _texts_of(res.meta)
    for exc in _chain(res.error):
        texts += [*_texts_of(exc), repr(exc.args)]
        texts += traceback.format_exception(exc)
    texts.append(capture_everything.text)
    texts += [r.getMessage() for r in capture_everything.records]
    leaks = [t for t in texts if KEY in t]
    assert not leaks, leaks[:3]
    if isinstance(res.error, APIError):
        assert KEY not in res.error.body
        assert "[REDACTED]" in res.error.body


# -- header injection ------------------------------------------------------------------------


def _crlf_hook(_ctx: HookContext, headers: Any) -> None:
    headers["X-From-Hook"] = "v\r\nX-Injected: 1"


async def _crlf_provider() -> str:
    return "sk-rotated\r\nX-Injected: 1"


@pytest.fixture
def newline_file(tmp_path: Path) -> Path:
    path = tmp_path / "evil\nname.png"  # a legal file name on Linux
    path.write_bytes(PNG)
    return path


INJECTIONS: dict[str, tuple[dict[str, Any], dict[str, Any], Any, type[OrqError]]] = {
    "key CRLF": ({"api_key": "sk\r\nX-Injected: 1"}, {}, PNG, InvalidRequestError),
    "key LF": ({"api_key": "sk\nX-Injected: 1"}, {}, PNG, InvalidRequestError),
    "key CR": ({"api_key": "sk\rX-Injected: 1"}, {}, PNG, InvalidRequestError),
    "key NUL": ({"api_key": "sk\0x"}, {}, PNG, InvalidRequestError),
    "rotated key CRLF": ({"api_key": _crlf_provider}, {}, PNG, InvalidRequestError),
    "header value CRLF": ({}, {"headers": {"X-A": "v\r\nX-Injected: 1"}}, PNG, InvalidRequestError),
    "header value LF": ({}, {"headers": {"X-A": "v\nX-Injected: 1"}}, PNG, InvalidRequestError),
    "header value CR": ({}, {"headers": {"X-A": "v\rX-Injected: 1"}}, PNG, InvalidRequestError),
    "header name CRLF": ({}, {"headers": {"X-A\r\nX-Injected": "1"}}, PNG, InvalidRequestError),
    "user agent LF": ({"user_agent": "ua\nX-Injected: 1"}, {}, PNG, InvalidRequestError),
    "hook header CRLF": (
        {"hooks": Hooks(before_request=[_crlf_hook])},
        {},
        PNG,
        InvalidRequestError,
    ),
    "filename CRLF": ({}, {}, FileInput("a\r\nX-Injected: 1.png", PNG), SDKValidationError),
    "filename LF (tuple)": ({}, {}, ("a\nb.png", PNG), SDKValidationError),
    "filename CR in a list": ({}, {}, [PNG, ("a\rb.png", PNG)], SDKValidationError),
    "filename from a path": ({}, {}, "newline_file", SDKValidationError),
    "part content type CRLF": (
        {},
        {},
        FileInput("a.png", PNG, "image/png\r\nX-Injected: 1"),
        SDKValidationError,
    ),
    "part content type LF (tuple)": ({}, {}, ("a.png", PNG, "image/png\nX: 1"), SDKValidationError),
    "extra file name CRLF": (
        {},
        {"extra_files": {"mask": FileInput("m\r\n.png", PNG)}},
        PNG,
        SDKValidationError,
    ),
    "extra file content type CR": (
        {},
        {"extra_files": {"mask": ("m.png", PNG, "image/png\rX: 1")}},
        PNG,
        SDKValidationError,
    ),
}


@pytest.mark.parametrize("name", list(INJECTIONS))
async def test_cr_lf_is_refused_before_anything_is_sent(name: str, newline_file: Path) -> None:
    core_kwargs, opt_kwargs, image, expected = INJECTIONS[name]
    if image == "newline_file":
        image = newline_file
    async with RawServer(_hostile) as srv:
        core = OrqCore(**{"api_key": KEY, "server_url": srv.url, **core_kwargs})
        async with core:
            res = await router_images_edits_create(
                core, {"model": "m", "prompt": "p", "image": image}, RequestOptions(**opt_kwargs)
            )
    assert isinstance(res, Err)
    assert type(res.error) is expected, res.error
    assert srv.connections == 0, "nothing may reach the server"
    assert "X-Injected: 1" not in str(res.error)


async def test_part_names_with_cr_lf_are_escaped_not_injected(server: Server) -> None:
    """Part *names* are quoted the WHATWG way (%0D%0A), so they cannot start a header."""
    evil = "note\r\nX-Injected: 1"
    async with OrqCore(KEY, server_url=server.url) as core:
        res = await router_images_edits_create(
            core,
            {"model": "m", "prompt": "p", "image": PNG},
            RequestOptions(
                extra_fields={evil: "v"}, extra_files={evil + "f": FileInput("m.png", PNG)}
            ),
        )
    assert res.ok
    (req,) = server.requests
    assert b"X-Injected: 1\r\n" not in req.body
    # A web-standard parser decodes the names back intact; on the wire they were escaped.
    assert [p.name for p in req.parts if p.name.startswith("note")] == [evil, evil + "f"]
    raw = [p.raw_disposition for p in req.parts if p.name.startswith("note")]
    assert all('name="note%0D%0AX-Injected: 1' in r for r in raw), raw


# -- plain HTTP to a non-loopback host ------------------------------------------------------


class LoopbackResolver(AbstractResolver):
    """Resolves every name to 127.0.0.1, so "remote" hosts stay on this machine."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        self.asked.append(host)
        return [
            {
                "hostname": host,
                "host": "127.0.0.1",
                "port": port,
                "family": socket.AF_INET,
                "proto": 0,
                "flags": socket.AI_NUMERICHOST,
            }
        ]

    async def close(self) -> None:
        return None


async def _ok(_n: int, _seen: Seen, writer: asyncio.StreamWriter) -> bool:
    writer.write(http_response(200, json.dumps(OK_BODY).encode()))
    await writer.drain()
    return False


@pytest.mark.parametrize(
    ("host", "key", "warns"),
    [
        ("gateway.example.test", KEY, True),
        ("my.orq.ai", KEY, True),  # the real gateway, mistyped as http://
        ("gateway.example.test", None, False),  # no key, nothing to protect
        ("localhost", KEY, False),
        ("127.0.0.1", KEY, False),
    ],
)
async def test_plain_http_with_a_key_to_a_non_loopback_host_warns(
    host: str, key: str | None, warns: bool
) -> None:
    resolver = LoopbackResolver()
    connector = aiohttp.TCPConnector(resolver=resolver)
    async with RawServer(_ok) as srv, aiohttp.ClientSession(connector=connector) as session:
        port = srv.url.rsplit(":", 1)[1]
        url = f"http://{host}:{port}"
        async with OrqCore(key, server_url=url, session=session) as core:
            if warns:
                with pytest.warns(InsecureTransportWarning, match=host) as caught:
                    res = await router_images_edits_create(core, BODY)
                assert caught[0].filename == __file__, "the warning points at the caller"
                assert KEY not in str(caught[0].message)
            else:
                with warnings.catch_warnings():
                    warnings.simplefilter("error")
                    res = await router_images_edits_create(core, BODY)
    assert res.ok, res
    (seen,) = srv.requests  # the traffic stayed on loopback
    assert seen.headers["host"] == f"{host}:{port}"
    assert (seen.headers.get("authorization") == f"Bearer {key}") if key else True
    if host not in ("127.0.0.1",):
        assert resolver.asked == [host]  # resolved by us, to loopback: no real DNS, no traffic


@pytest.mark.parametrize("key", ["bench-key", "sk-" + "x" * 45, "a+/b=c" * 3])
def test_the_shortest_echo_of_a_key_is_still_redacted(key: str) -> None:
    """Texts shorter than any form of the key skip the search (a request id, most often);
    each form at exactly its own length is still found: the key, and each base64 fragment."""
    import base64

    from orq_async._redact import REDACTED, Redactor, _base64_fragments

    redactor = Redactor(key)
    forms = [key, key.upper(), *_base64_fragments(key.encode())]
    for form in forms:
        assert redactor.text(form) == REDACTED
        assert redactor.found_in(form)
    short = key[: min(len(f) for f in forms) - 1]  # shorter than every form: left as it is
    assert redactor.text(short) is short
    echoed = base64.b64encode(f"user:{key}".encode()).decode()
    assert REDACTED in redactor.text(f"Basic {echoed}")

"""Issue 10, points 16 and 17: the API key never leaks, in any encoding.

- Point 16: a server whose broken reply quotes the ``Authorization`` header it received makes
  aiohttp's parser error quote it too. Neither ``traceback.format_exception(err)`` nor the
  ``repr``/``str``/``args`` of the error and of its whole ``__cause__``/``__context__`` chain
  may contain the key.
- Point 17: a key echoed JSON-escaped (``\\/``, ``\\uXXXX``), percent-encoded, base64-encoded,
  upper-cased or split by a line break is redacted from ``str(err)``, ``err.body`` and
  ``err.json``.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import re
import traceback
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote, unquote

import pytest

from orq_async import OrqCore
from orq_async.errors import APIError, OrqError
from tests.adversarial._support import KEY, OFF, chain, edit, err_of
from tests.reliability._support import Behaviour, RawServer, Seen, http_response

_B64 = [
    base64.b64encode(KEY.encode()).decode(),
    base64.urlsafe_b64encode(KEY.encode()).decode(),
    base64.b64encode(KEY.encode()).decode().rstrip("="),
]
_UNICODE_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")


def _decodings(text: str) -> Iterator[str]:
    """``text`` and what a reader recovers from it: unescaped, unwrapped, percent-decoded."""
    unescaped = _UNICODE_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)
    unescaped = unescaped.replace("\\/", "/").replace("\\r", "").replace("\\n", "")
    for base in (text, unescaped):
        yield base
        yield "".join(base.split())
        yield unquote(base)


def leaks(text: str) -> bool:
    """Whether any reasonable encoding of the key can be read back out of ``text``."""
    if any(b64 in text for b64 in _B64):
        return True
    return any(KEY.lower() in variant.lower() for variant in _decodings(text))


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _strings(k)
            yield from _strings(v)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _raw_reply(make: Callable[[bytes], bytes]) -> Behaviour:
    async def reply(_n: int, seen: Seen, writer: asyncio.StreamWriter) -> bool:
        auth = seen.headers.get("authorization", "").encode("latin-1")
        writer.write(make(auth))
        await writer.drain()
        return False

    return reply


PARSER_ECHOES: dict[str, Callable[[bytes], bytes]] = {
    "status line": lambda auth: b"HTTP/1.1 4xx " + auth + b"\r\n\r\n",
    "non-HTTP reply": lambda auth: b"ERROR " + auth + b"\r\n\r\n",
    "header without colon": lambda auth: b"HTTP/1.1 200 OK\r\n" + auth + b"\r\n\r\n",
    "header name": lambda auth: (
        b"HTTP/1.1 200 OK\r\n" + auth.replace(b" ", b"\x01") + b": x\r\n\r\n"
    ),
    "chunk size": lambda auth: (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + auth + b"\r\n"
    ),
    "Content-Length": lambda auth: b"HTTP/1.1 200 OK\r\nContent-Length: " + auth + b"\r\n\r\n",
}


@pytest.mark.parametrize("where", list(PARSER_ECHOES))
async def test_parser_errors_quoting_the_key_never_carry_it(
    where: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Point 16: the formatted traceback, every error in the chain and the DEBUG logs are
    key-free."""
    caplog.set_level(logging.DEBUG)
    async with (
        RawServer(_raw_reply(PARSER_ECHOES[where])) as srv,
        OrqCore(api_key=KEY, server_url=srv.url, retry_config=OFF) as core,
    ):
        result = await asyncio.wait_for(edit(core), 10)
    error = err_of(result, OrqError)
    assert len(srv.requests) == 1
    formatted = "".join(traceback.format_exception(error))
    assert not leaks(formatted), formatted
    for exc in chain(error):
        for text in (repr(exc), str(exc), *map(repr, exc.args)):
            assert not leaks(text), f"{type(exc).__name__}: {text}"
    assert not leaks(caplog.text), caplog.text


def _json_escaped(key: str) -> str:
    return key.replace("/", "\\/")


def _unicode_escaped(key: str) -> str:
    return "".join(f"\\u{ord(c):04x}" for c in key)


ENCODINGS: dict[str, Callable[[str], str]] = {
    "raw": lambda key: key,
    "JSON \\/": _json_escaped,
    "JSON \\uXXXX": _unicode_escaped,
    "percent-encoded": lambda key: quote(key, safe=""),
    "percent-encoded lower": lambda key: quote(key, safe="").lower(),
    "base64": lambda key: base64.b64encode(key.encode()).decode(),
    "base64url": lambda key: base64.urlsafe_b64encode(key.encode()).decode(),
    "upper-cased": str.upper,
    "split by LF": lambda key: key[:12] + "\\n" + key[12:],
    "split by CRLF": lambda key: key[:12] + "\\r\\n" + key[12:],
}


def _echoing_json(encode: Callable[[str], str]) -> Behaviour:
    async def reply(_n: int, seen: Seen, writer: asyncio.StreamWriter) -> bool:
        key = seen.headers.get("authorization", "").removeprefix("Bearer ")
        echoed = encode(key)  # already JSON-safe text: the escapes are written as they are
        text = (
            f'{{"error": {{"message": "invalid key {echoed}", "key": "{echoed}"}},'
            f' "hint": ["{echoed}"]}}'
        )
        writer.write(http_response(401, text.encode()))
        await writer.drain()
        return False

    return reply


@pytest.mark.parametrize("encoding", list(ENCODINGS))
async def test_an_echoed_key_is_redacted_in_every_encoding(encoding: str) -> None:
    """Point 17: ``str(err)``, ``err.body`` and ``err.json`` hold no form of the key."""
    async with (
        RawServer(_echoing_json(ENCODINGS[encoding])) as srv,
        OrqCore(api_key=KEY, server_url=srv.url, retry_config=OFF) as core,
    ):
        result = await asyncio.wait_for(edit(core), 10)
    error = err_of(result, APIError)
    assert error.status_code == 401
    assert not leaks(str(error)), str(error)
    assert not leaks(error.body), error.body
    assert error.json is not None, "the body is JSON and must still parse after redaction"
    assert not leaks(json.dumps(error.json)), error.json
    for text in _strings(error.json):
        assert not leaks(text), text

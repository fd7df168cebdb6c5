"""One HTTP attempt, I/O only: send the body, read a bounded response, report what happened.

:func:`send_once` returns the raw status, headers and (decoded) body bytes, or a
:class:`TransportFailure` holding the error; it never raises but for cancellation. Whether to
retry, which error class a status maps to, and decoding the JSON are pure steps elsewhere
(:mod:`orq_async._classify`, the operation's decoder).

Bounded by construction: the response is read up to ``max_response_bytes`` (after
decompression, which is done here with a bounded ``zlib`` so a 250 KiB bomb cannot inflate to
256 MiB), a ``Content-Length`` above the cap is refused before any of the body is read, and an
encoding other than gzip/deflate is refused (the client only advertises those two).
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import Mapping
from typing import Protocol

import aiohttp
from aiohttp.http_exceptions import HttpProcessingError
from yarl import URL

from orq_async._multipart import EncodedBody, Progress
from orq_async._redact import Redactor
from orq_async.errors import (
    APIConnectionError,
    APITimeoutError,
    InvalidRequestError,
    OrqError,
    ResponseTooLargeError,
    UnexpectedClientError,
)

__all__ = ["ACCEPT_ENCODING", "RawResponse", "TransportFailure", "send_once"]

ACCEPT_ENCODING = "gzip, deflate"
_CLOSED = "the core was closed while this call was in flight"
_READ_CHUNK = 64 * 1024


class RawResponse:
    """What the server sent: status, headers and the body bytes (decoded, within the cap)."""

    __slots__ = ("body", "headers", "status")

    def __init__(self, status: int, headers: Mapping[str, str], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body


class TransportFailure:
    """No usable response: the error, and whether it is a connection-type (retryable) one."""

    __slots__ = ("connection", "error", "timed_out")

    def __init__(self, error: OrqError, *, connection: bool = False) -> None:
        self.error = error
        self.connection = connection
        self.timed_out = isinstance(error, APITimeoutError)


class _TooLarge(Exception):
    pass


class _BadEncoding(Exception):
    pass


class _Decoder(Protocol):
    """What ``_read_body`` uses of a ``zlib.decompressobj`` (whose class zlib keeps private)."""

    @property
    def eof(self) -> bool: ...

    def decompress(self, data: bytes, /, max_length: int = 0) -> bytes: ...


def _decompressor(encoding: str, first: bytes) -> _Decoder:
    if encoding in ("gzip", "x-gzip"):
        return zlib.decompressobj(16 + zlib.MAX_WBITS)
    # "deflate" is meant to be zlib-wrapped, but some servers send raw deflate.
    wrapped = len(first) >= 2 and first[0] & 0x0F == 8 and (first[0] << 8 | first[1]) % 31 == 0
    return zlib.decompressobj(zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS)


def _plain_within(resp: aiohttp.ClientResponse, cap: int | None) -> bool:
    """Whether the body has a ``Content-Length`` within ``cap`` and no encoding: then
    ``resp.read()`` is bounded (the parser stops at Content-Length)."""
    length = resp.content_length
    return (
        length is not None
        and (cap is None or length <= cap)
        and "Content-Encoding" not in resp.headers
    )


async def _read_body(resp: aiohttp.ClientResponse, cap: int | None) -> bytes:
    """The body within ``cap`` bytes after decoding, whatever its framing and encoding (the
    plain case is :func:`_plain_within`'s); raises _TooLarge or _BadEncoding."""
    length = resp.content_length
    if cap is not None and length is not None and length > cap:
        raise _TooLarge
    encoding = resp.headers.get("Content-Encoding", "").strip().lower()
    if encoding not in ("", "identity", "gzip", "x-gzip", "deflate"):
        raise _BadEncoding(f"the server sent Content-Encoding {encoding!r}, which is not supported")
    out = bytearray()
    decoder: _Decoder | None = None
    async for received in resp.content.iter_chunked(_READ_CHUNK):
        chunk = received
        if encoding not in ("", "identity"):
            if decoder is None:
                decoder = _decompressor(encoding, received)
            room = 0 if cap is None else cap - len(out) + 1
            try:
                chunk = decoder.decompress(received, room)
            except zlib.error as exc:
                raise _BadEncoding(f"the {encoding} response body is corrupt: {exc}") from None
        out += chunk
        if cap is not None and len(out) > cap:
            raise _TooLarge
    if decoder is not None and not decoder.eof:
        raise _BadEncoding(f"the {encoding} response body is truncated")
    return bytes(out)


def _cancelled_by_caller() -> bool:
    """Whether the current task was cancelled by someone, not by the session closing.

    Asked only once the session is closed. Python 3.10 has no ``Task.cancelling()``: there a
    cancellation that arrives after the core closed counts as the close (a caller's own cancel
    racing with ``aclose()`` then ends as that ``Err`` too).
    """
    cancelling = getattr(asyncio.current_task(), "cancelling", None)
    return cancelling is not None and cancelling() > 0


async def send_once(
    session: aiohttp.ClientSession,
    url: URL,
    headers: Mapping[str, str],
    body: EncodedBody,
    timeout: aiohttp.ClientTimeout,
    max_bytes: int | None,
    redactor: Redactor,
    progress: Progress | None = None,
) -> RawResponse | TransportFailure:
    """Send the request once; never raises but for a caller's cancellation."""
    payload = body.payload(progress)
    try:
        async with session.post(
            url,
            data=payload,
            headers=headers,
            timeout=timeout,
            allow_redirects=False,
            auto_decompress=False,
        ) as resp:
            try:
                if _plain_within(resp, max_bytes):  # the common case, one coroutine less
                    raw = await resp.read()
                else:
                    raw = await _read_body(resp, max_bytes)
            except _TooLarge:
                resp.close()  # stop reading at once; the connection is not reused
                assert max_bytes is not None
                return TransportFailure(ResponseTooLargeError(resp.status, resp.headers, max_bytes))
            except _BadEncoding as exc:
                resp.close()
                return TransportFailure(APIConnectionError(str(exc)), connection=True)
            return RawResponse(resp.status, resp.headers, raw)
    except asyncio.CancelledError:
        if payload.input_error or not session.closed or _cancelled_by_caller():
            raise
        return TransportFailure(APIConnectionError(_CLOSED))
    except Exception as exc:
        if payload.input_error:  # the caller's source failed, not the network
            return TransportFailure(payload.input_error)
        if session.closed:
            closed = APIConnectionError(_CLOSED)
            closed.__cause__ = redactor.exception(exc)
            return TransportFailure(closed)
        return _failure(exc, url, timeout, redactor)


def _failure(
    exc: Exception, url: URL, timeout: aiohttp.ClientTimeout, redactor: Redactor
) -> TransportFailure:
    """Classify an exception of the transport; its text and chain are kept free of the key."""
    error: OrqError
    connection = True
    if isinstance(exc, asyncio.TimeoutError):  # not the builtin TimeoutError on Python 3.10
        if isinstance(exc, aiohttp.ServerTimeoutError) and timeout.sock_read is not None:
            message = f"the server sent nothing for {timeout.sock_read:g} s after the request"
        else:
            message = f"no complete response within {timeout.total:g} s"
        error = APITimeoutError(message)
    elif isinstance(exc, (aiohttp.InvalidURL, aiohttp.InvalidUrlClientError)):
        error, connection = InvalidRequestError(f"invalid URL: {exc}"), False
    elif isinstance(exc, aiohttp.ClientConnectorError):
        where = "the proxy " if isinstance(exc, aiohttp.ClientProxyConnectionError) else ""
        error = APIConnectionError(f"cannot connect to {where}{exc.host}:{exc.port}: {exc}")
    elif isinstance(exc, (aiohttp.ClientError, OSError, HttpProcessingError)):
        # Malformed HTTP (bad status line, bad chunking, ...) is a server or network fault.
        detail = redactor.text(str(exc)) or type(exc).__name__
        error = APIConnectionError(f"connection to {url.host}:{url.port} failed: {detail}")
    else:  # anything else is a bug to surface, not to raise into the caller
        error, connection = (
            UnexpectedClientError(f"unexpected {type(exc).__name__} while sending"),
            False,
        )
    error.__cause__ = redactor.exception(exc)
    return TransportFailure(error, connection=connection)

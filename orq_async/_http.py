"""One HTTP attempt and the classification of its outcome; no retry logic here."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

import aiohttp
from multidict import CIMultiDictProxy
from yarl import URL

from orq_async._multipart import EncodedBody, Progress
from orq_async.errors import (
    APIConnectionError,
    APITimeoutError,
    InvalidRequestError,
    OrqError,
    UnexpectedClientError,
    api_error_for_status,
)
from orq_async.result import Err, Ok, ResponseMeta, Result
from orq_async.retries import parse_retry_after

__all__ = ["Attempt", "Decoder", "send_once"]

Decoder = Callable[[int, "CIMultiDictProxy[str]", bytes], "Ok[Any] | OrqError"]
"""Turns a 2XX response (status, headers, body) into ``Ok(value)`` or an error."""

_NO_HEADERS: Mapping[str, str] = {}


class Attempt:
    """What one attempt produced: a value or an error, and what the server said.

    A plain slotted class, not attrs: it is private, and import time counts (issue 5).
    """

    __slots__ = ("connection_failed", "headers", "outcome", "request_id", "status")

    def __init__(
        self,
        outcome: Ok[Any] | OrqError,
        status: int | None = None,
        headers: Mapping[str, str] = _NO_HEADERS,
        connection_failed: bool = False,
        request_id: str | None = None,  # from the headers, with the key redacted
    ) -> None:
        self.outcome = outcome
        self.status = status
        self.headers = headers
        self.connection_failed = connection_failed
        self.request_id = request_id

    @property
    def retry_after(self) -> float | None:
        """Seconds the server asked to wait, if it did."""
        return parse_retry_after(self.headers) if self.headers else None

    def should_retry(self, codes: Callable[[int], bool], connection_errors: bool) -> bool:
        """Retry a listed non-2XX status, or a connection failure when those are retried."""
        if self.connection_failed:
            return connection_errors
        return self.status is not None and not 200 <= self.status < 300 and codes(self.status)

    def to_result(self, attempts: int) -> Result[Any, OrqError]:
        """The final Result, with the transport facts in ``meta``."""
        meta = ResponseMeta(
            status_code=self.status,
            headers=self.headers,
            request_id=self.request_id,
            attempts=attempts,
        )
        if isinstance(self.outcome, Ok):
            return Ok(self.outcome.value, meta=meta)
        return Err(self.outcome, meta=meta)


def _bare(exc: BaseException) -> BaseException:
    """The exception without its traceback: its frames' locals hold the request headers (and
    so the key), which crash reporters that capture locals would otherwise see."""
    return exc.with_traceback(None)


def _redact(text: str, secret: str | None) -> str:
    return text.replace(secret, "[REDACTED]") if secret and secret in text else text


async def send_once(
    session: aiohttp.ClientSession,
    url: URL,
    headers: Mapping[str, str],
    body: EncodedBody,
    timeout: aiohttp.ClientTimeout,
    decode: Decoder,
    *,
    secret: str | None,
    attempt: int,
    log: logging.Logger | None = None,
    progress: Progress | None = None,
) -> Attempt:
    """Send the request once and classify what happened; never raises but for cancellation."""
    started = time.perf_counter()
    try:
        async with session.post(
            url,
            data=body.payload(progress),
            headers=headers,
            timeout=timeout,
            allow_redirects=False,
        ) as resp:
            raw = await resp.read()
            status, rheaders = resp.status, resp.headers
    except asyncio.TimeoutError as exc:  # not the builtin on Python 3.10
        if isinstance(exc, aiohttp.ServerTimeoutError) and timeout.sock_read is not None:
            message = f"the server sent nothing for {timeout.sock_read} s after the request"
        else:
            message = f"no complete response within {timeout.total} s"
        error: OrqError = APITimeoutError(message)
        error.__cause__ = _bare(exc)
        return _failed(log, error, started, url, attempt, connection_failed=True)
    except aiohttp.ClientConnectorError as exc:
        # The aiohttp exception stays reachable as __cause__ (e.g. a certificate error).
        where = "the proxy " if isinstance(exc, aiohttp.ClientProxyConnectionError) else ""
        error = APIConnectionError(f"cannot connect to {where}{exc.host}:{exc.port}: {exc}")
        error.__cause__ = _bare(exc)
        return _failed(log, error, started, url, attempt, connection_failed=True)
    except (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError) as exc:
        error = APIConnectionError(f"connection to {url.host}:{url.port} failed: {exc!s}")
        error.__cause__ = _bare(exc)
        return _failed(log, error, started, url, attempt, connection_failed=True)
    except (aiohttp.InvalidURL, aiohttp.InvalidUrlClientError) as exc:
        return _failed(log, InvalidRequestError(f"invalid URL: {exc}"), started, url, attempt)
    except Exception as exc:  # anything else is a bug to surface, not to raise into the caller
        error = UnexpectedClientError(f"unexpected {type(exc).__name__} while sending")
        error.__cause__ = _bare(exc)
        return _failed(log, error, started, url, attempt)
    if log is not None:
        elapsed = (time.perf_counter() - started) * 1000
        log.debug(
            "POST %s attempt %d -> %d (%d bytes) in %.1f ms",
            url,
            attempt,
            status,
            len(raw),
            elapsed,
        )
    # Whatever text reaches a repr or a message is redacted, however the server echoes the key.
    request_id = rheaders.get("x-request-id") or rheaders.get("request-id")
    request_id = None if request_id is None else _redact(request_id, secret)
    if 200 <= status < 300:
        outcome = decode(status, rheaders, raw)
        if isinstance(outcome, OrqError) and secret and secret in outcome.message:
            outcome.message = _redact(outcome.message, secret)
            outcome.args = (outcome.message,)
        return Attempt(outcome, status, rheaders, request_id=request_id)
    text = _redact(raw.decode("utf-8", "replace"), secret)
    error_cls = api_error_for_status(status)
    error = error_cls(status, rheaders, text, request_id=request_id)
    return Attempt(error, status, rheaders, request_id=request_id)


def _failed(
    log: logging.Logger | None,
    error: OrqError,
    started: float,
    url: URL,
    attempt: int,
    *,
    connection_failed: bool = False,
) -> Attempt:
    if log is not None:
        elapsed = (time.perf_counter() - started) * 1000
        log.debug("POST %s attempt %d failed in %.1f ms: %r", url, attempt, elapsed, error)
    return Attempt(error, connection_failed=connection_failed)

"""Issue 10, point 9: malformed HTTP from the server is a connection fault, not a client bug.

A raw asyncio server answers with broken HTTP. Each case is ``Err(APIConnectionError)``
(never ``UnexpectedClientError``), made once with retries off and retried to the limit when
``retry_connection_errors`` is on; the attempts are counted on the server side.
"""

from __future__ import annotations

import asyncio

import pytest

from orq_async import BackoffStrategy, OrqCore, RetryConfig
from orq_async.errors import APIConnectionError
from tests.adversarial._support import OFF, OK_JSON, ON, edit, err_of, instant
from tests.reliability._support import Behaviour, RawServer, Seen

STATUS_ONLY = RetryConfig(
    "backoff", BackoffStrategy(1, 5, 2.0, 60_000), retry_connection_errors=False
)
"""Retries on for statuses (5XX, 429) but not for connection errors."""

OK_HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"

REPLIES: dict[str, bytes] = {
    "bad status line": b"HTTP/1.1 abc OK\r\nContent-Length: 0\r\n\r\n",
    "status out of range": b"HTTP/1.1 1000 Huge\r\nContent-Length: 0\r\n\r\n",
    "not HTTP at all": b"SSH-2.0-OpenSSH_9.6\r\n",
    "binary garbage": bytes(range(256)) * 4,
    "header line over the limit": OK_HEAD + b"X-Long: " + b"a" * 200_000 + b"\r\n\r\n",
    "header without colon": OK_HEAD + b"NoColonHere\r\nContent-Length: 2\r\n\r\n{}",
    "bad chunk size": OK_HEAD + b"Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
    "non-numeric Content-Length": OK_HEAD + b"Content-Length: abc\r\n\r\n" + OK_JSON,
    "two different Content-Lengths": OK_HEAD
    + f"Content-Length: {len(OK_JSON)}\r\nContent-Length: 3\r\n\r\n".encode()
    + OK_JSON,
    "204 with a body": b"HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\nhello",
    "junk after the body": OK_HEAD.replace(b"Connection: close\r\n", b"")
    + f"Content-Length: {len(OK_JSON)}\r\n\r\n".encode()
    + OK_JSON
    + b"JUNK-NOT-A-RESPONSE\r\n\r\n",
    "unsupported Content-Encoding": OK_HEAD
    + f"Content-Encoding: br\r\nContent-Length: {len(OK_JSON)}\r\n\r\n".encode()
    + OK_JSON,
}


def _reply(raw: bytes) -> Behaviour:
    async def reply(_n: int, _seen: Seen, writer: asyncio.StreamWriter) -> bool:
        writer.write(raw)
        await writer.drain()
        return False

    return reply


@pytest.mark.parametrize("case", list(REPLIES))
@pytest.mark.parametrize(
    ("retries", "attempts"),
    [(OFF, 1), (STATUS_ONLY, 1), (ON, 4)],
    ids=["off", "statuses only", "connection errors on"],
)
async def test_malformed_http_is_a_connection_error(
    case: str, retries: RetryConfig, attempts: int
) -> None:
    """Point 9: ``Err(APIConnectionError)``; retried (4 attempts) only with connection retries."""
    async with (
        RawServer(_reply(REPLIES[case])) as srv,
        OrqCore(server_url=srv.url, retry_config=retries, sleep=instant) as core,
    ):
        result = await asyncio.wait_for(edit(core), 10)
    err_of(result, APIConnectionError)
    assert len(srv.requests) == attempts == result.meta.attempts

"""Issue 10, points 4 and 5: the retry budget is a deadline; a huge ``Retry-After`` ends it.

``max_elapsed_time`` bounds the whole call: each attempt's timeout is clipped to what is left
of the budget, so a server that never answers cannot stretch a 300 ms budget to the attempt
timeout. A ``Retry-After`` of hundreds of digits (legal in RFC 9110) is a wait far above the
cap, which ends the retries at once instead of overflowing to "absent".
"""

from __future__ import annotations

import asyncio
import time

import pytest

from orq_async import BackoffStrategy, OrqCore, RetryConfig
from orq_async.errors import APITimeoutError, RateLimitError
from tests.adversarial._support import edit, err_of, instant
from tests.reliability._support import Behaviour, RawServer, Seen, http_response

BUDGET_MS = 300
NOISE_S = 0.7  # scheduling noise allowed on a loaded 2-core machine


def _answer_503_then_stall(fast_failures: int) -> Behaviour:
    async def reply(n: int, seen: Seen, writer: asyncio.StreamWriter) -> bool:
        if n <= fast_failures:
            writer.write(http_response(503, b'{"error": "busy"}'))
            await writer.drain()
        else:
            await seen.until_disconnected(30)
        return False

    return reply


@pytest.mark.parametrize("fast_failures", [0, 2], ids=["first attempt stalls", "third stalls"])
async def test_a_call_ends_by_its_retry_budget(fast_failures: int) -> None:
    """Point 4: a 300 ms budget ends the call by ~300 ms though each attempt may take 5 s.

    The server never answers (after two quick 503s in the second case): the attempt that
    stalls must be clipped to what is left of the budget, not run its whole timeout.
    """
    retries = RetryConfig(
        "backoff",
        BackoffStrategy(10, 20, 2.0, max_elapsed_time=BUDGET_MS),
        retry_connection_errors=True,
        max_retries=50,
    )
    async with (
        RawServer(_answer_503_then_stall(fast_failures)) as srv,
        OrqCore(server_url=srv.url, retry_config=retries, timeout_ms=5_000) as core,
    ):
        started = time.monotonic()
        result = await asyncio.wait_for(edit(core), 10)
        elapsed = time.monotonic() - started
    err_of(result, APITimeoutError)
    assert elapsed < BUDGET_MS / 1000 + NOISE_S, f"{elapsed:.2f} s for a {BUDGET_MS} ms budget"
    assert len(srv.requests) == result.meta.attempts == fast_failures + 1


def _rate_limited(headers: dict[str, str]) -> Behaviour:
    async def reply(_n: int, _seen: Seen, writer: asyncio.StreamWriter) -> bool:
        writer.write(http_response(429, b'{"error": "slow down"}', headers=headers))
        await writer.drain()
        return False

    return reply


@pytest.mark.parametrize(
    "headers",
    [
        {"Retry-After": "9" * 300},
        {"Retry-After": "9" * 400},
        {"Retry-After": "1" + "0" * 5000},
        {"retry-after-ms": "9" * 400},
        {"retry-after-ms": "9" * 400, "Retry-After": "1"},
    ],
    ids=["300 digits", "400 digits", "5001 digits", "ms 400 digits", "ms 400 digits + 1 s"],
)
async def test_a_huge_retry_after_ends_the_retries_at_once(headers: dict[str, str]) -> None:
    """Point 5: one attempt, ``Err(RateLimitError)``; never an immediate retry."""
    retries = RetryConfig("backoff", BackoffStrategy(10, 50, 2.0, 60_000), retry_codes=(429,))
    async with (
        RawServer(_rate_limited(headers)) as srv,
        OrqCore(server_url=srv.url, retry_config=retries, sleep=instant) as core,
    ):
        result = await asyncio.wait_for(edit(core), 10)
    err_of(result, RateLimitError)
    assert len(srv.requests) == 1 == result.meta.attempts

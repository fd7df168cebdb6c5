"""The emulator's rate limit: a token bucket per API key under an injectable clock."""

from __future__ import annotations

import aiohttp
import pytest

from orq_async.testing import EDITS_PATH, Emulator
from orq_async.testing._ratelimit import RateLimiter, retry_after_headers

from ._helpers import FakeClock, edit_form


def test_bucket_grants_a_burst_then_refills_at_the_rate() -> None:
    clock = FakeClock()
    limiter = RateLimiter(2.0, 3, clock)
    assert [limiter.take("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.take("a") == pytest.approx(0.5)
    assert limiter.take("b") == 0.0  # another key has its own bucket
    clock.now += 0.5
    assert limiter.take("a") == 0.0
    assert limiter.take("a") == pytest.approx(0.5)
    clock.now += 10  # refills up to the burst only
    assert [limiter.take("a") for _ in range(4)][-1] == pytest.approx(0.5)


@pytest.mark.parametrize(
    ("wait", "seconds", "ms"), [(0.3, "1", "300"), (1.0, "1", "1000"), (1.2, "2", "1200")]
)
def test_retry_after_is_rounded_up(wait: float, seconds: str, ms: str) -> None:
    assert retry_after_headers(wait) == {"Retry-After": seconds, "retry-after-ms": ms}


@pytest.mark.parametrize(("rate", "burst"), [(0, 1), (-1, 1), (float("inf"), 1), (1, 0)])
def test_bad_settings_are_refused(rate: float, burst: int) -> None:
    with pytest.raises(ValueError, match=r"rate_limit|burst"):
        Emulator(rate_limit=rate, burst=burst)


def test_burst_needs_a_rate() -> None:
    with pytest.raises(ValueError, match="burst needs a rate_limit"):
        Emulator(burst=2)


async def _post(session: aiohttp.ClientSession, emu: Emulator, key: str) -> aiohttp.ClientResponse:
    headers = {"Authorization": f"Bearer {key}"}
    async with session.post(emu.url + EDITS_PATH, data=edit_form(), headers=headers) as resp:
        await resp.read()
        return resp


async def test_over_the_limit_answers_429_with_retry_after(
    session: aiohttp.ClientSession,
) -> None:
    clock = FakeClock()
    async with Emulator(rate_limit=4, burst=2, clock=clock, api_keys={"k1", "k2"}) as emu:
        statuses = [(await _post(session, emu, "k1")).status for _ in range(2)]
        refused = await _post(session, emu, "k1")
        assert [*statuses, refused.status] == [200, 200, 429]
        assert refused.headers["Retry-After"] == "1"
        assert refused.headers["retry-after-ms"] == "250"
        assert (await _post(session, emu, "k2")).status == 200  # per key
        clock.now += 0.25
        assert (await _post(session, emu, "k1")).status == 200
        assert (await _post(session, emu, "wrong")).status == 401  # auth first, no token taken
        traces = emu.traces
        assert [t.rate_limited for t in traces] == [False, False, True, False, False, False]
        assert traces[2].status == 429
        assert traces[2].error is not None
        assert traces[2].error.startswith("rate limit exceeded (4 requests/s, burst 2)")
        assert all("k1" not in repr(t.to_json()) for t in traces)


async def test_default_burst_is_the_rate_rounded_up(session: aiohttp.ClientSession) -> None:
    async with Emulator(rate_limit=1.5, clock=FakeClock()) as emu:
        assert [(await _post(session, emu, "k")).status for _ in range(3)] == [200, 200, 429]

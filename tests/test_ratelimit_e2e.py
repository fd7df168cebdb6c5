"""A fan-out against the emulator's rate limit, through the real core, on a virtual clock.

The emulator's token bucket, the core's throttle and its retry sleeps share one clock that
jumps forward whenever every task waits on it (real loopback I/O runs in between), so seconds
of rate-limited traffic take a fraction of a second and no test sleeps for real.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import random
import time
from collections.abc import AsyncIterator

import pytest

from orq_async import Err, Ok, OrqCore, RateLimitError, RequestOptions, RetryConfig
from orq_async.batch import edit_many
from orq_async.models.dicts import CreateImageEditRequestDict
from orq_async.testing import Emulator
from orq_async.throttle import Throttle

from .conftest import PNG

RATE = 10.0  # requests per second, burst 10


class JumpClock:
    """Monotonic time plus a virtual offset; ``sleep`` parks until the driver jumps past it."""

    def __init__(self) -> None:
        self.offset = 0.0
        self._timers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()
        self._driver: asyncio.Task[None] | None = None

    def __call__(self) -> float:
        return time.monotonic() + self.offset

    async def sleep(self, seconds: float) -> None:
        fut = asyncio.get_running_loop().create_future()
        heapq.heappush(self._timers, (self() + max(seconds, 0.0), next(self._seq), fut))
        await fut

    async def _drive(self) -> None:
        while True:
            await asyncio.sleep(0.005)  # real: lets loopback I/O in flight settle first
            while self._timers and self._timers[0][2].done():
                heapq.heappop(self._timers)  # cancelled sleepers
            if not self._timers:
                continue
            at, _, fut = heapq.heappop(self._timers)
            self.offset += max(0.0, at - self())
            fut.set_result(None)

    async def __aenter__(self) -> JumpClock:
        self._driver = asyncio.create_task(self._drive())
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._driver is not None
        self._driver.cancel()
        with pytest.raises(asyncio.CancelledError):
            await self._driver


@pytest.fixture
async def clock() -> AsyncIterator[JumpClock]:
    async with JumpClock() as c:
        yield c


def body(i: int) -> CreateImageEditRequestDict:
    return {"model": "openai/gpt-image-1", "prompt": f"p{i}", "image": PNG}


async def fan_out(clock: JumpClock, throttle: Throttle, n: int) -> tuple[int, int, float]:
    """``n`` edits at concurrency 20: (successes, 429s the emulator sent, virtual seconds)."""
    async with Emulator(rate_limit=RATE, clock=clock, max_traces=1000) as emu:
        async with OrqCore(server_url=emu.url, throttle=throttle, sleep=clock.sleep) as core:
            start = clock()
            ok = 0
            async for _, result in edit_many(core, map(body, range(n)), concurrency=20):
                ok += isinstance(result, Ok)
            elapsed = clock() - start
        refused = sum(1 for t in emu.traces if t.rate_limited)
    return ok, refused, elapsed


async def test_the_shared_cooldown_serves_every_call_at_the_limit(clock: JumpClock) -> None:
    throttle = Throttle(clock=clock, sleep=clock.sleep, rng=random.Random(3))
    ok, refused, elapsed = await fan_out(clock, throttle, 60)
    assert ok == 60
    # The first wave (20 sent against a burst of 10) is refused; after it, the release probes
    # up to the rate and finds it in a refusal or two.
    assert refused <= 15  # measured: 12 (the first wave, 10, and the probes')
    assert elapsed < (60 - 10) / RATE * 1.2  # 5 s at the limit (measured: 5.1 s)
    assert throttle.state.waiting == 0


async def test_without_it_calls_race_each_other_and_fail(clock: JumpClock) -> None:
    throttle = Throttle(cooldown=False, clock=clock, sleep=clock.sleep)
    ok, refused, _ = await fan_out(clock, throttle, 60)
    assert ok < 45  # calls spent their 3 retries on 429s (measured: 20 of 60 succeed)
    assert refused > 100  # measured: about 180


async def test_a_call_whose_budget_ends_first_is_refused_without_sending() -> None:
    async with Emulator(rate_limit=1.0, burst=1) as emu:
        async with OrqCore(server_url=emu.url) as core:
            once = RequestOptions(retries=RetryConfig("none"))
            first = [r async for _, r in edit_many(core, [body(0), body(1)], options=once)]
            assert sorted(type(r).__name__ for r in first) == ["Err", "Ok"]
            assert core.throttle.state.cooldown_until is not None
            short = RequestOptions(retries=RetryConfig("none"), timeout_ms=100)
            [(_, result)] = [item async for item in edit_many(core, [body(2)], options=short)]
        assert len(emu.traces) == 2  # the third call sent nothing
    match result:
        case Err(RateLimitError() as error):
            assert "nothing was sent" in str(error)
        case other:
            pytest.fail(f"expected a RateLimitError, got {other!r}")

"""Fan-out at the server's pace: a shared rate-limit cooldown and an adaptive concurrency limit.

One :class:`Throttle` per core gates every attempt of every call:

- **Cooldown** (on by default). A 429 or 503 carrying ``Retry-After`` / ``retry-after-ms``
  means "no sends to this server before T"; every attempt of every call (first attempts
  included) waits for T, and a call whose deadline ends before T is refused at once.
- **Paced release.** Honouring T exactly would wake every waiting call at the same instant:
  the server's bucket is drained in a millisecond and the next wave of refusals starts a new
  cooldown (the synchronised waves of independent backoff). Instead, once T has passed, sends
  are paced one at a time, evenly spaced (a server's bucket is often empty when its cooldown
  ends: a send early by any jitter would be refused), the first at a random phase within one
  interval after T (an injectable RNG), so several cores or processes do not line up; which
  waiting call gets which slot is first come, first served. The starting pace is what the
  server sustained: its successes since the previous cooldown began (or, for a first one, in
  the last ``max(Retry-After, 1 s)``), answers still arriving during the cooldown included,
  over that span (1 to 10 s), and at least one send per second. After a first cooldown no
  ceiling is known: the pace doubles every second (:data:`PROBE_GROWTH`) until the next
  refusal. A refusal while paced marks the ceiling: the pace restarts at no less than
  :data:`PACE_BACKOFF` of the pace it came at and grows by :data:`PACE_GROWTH` per second.
  Pacing ends once the pace has grown :data:`PACE_END_FACTOR` times without a refusal.
- **Adaptive concurrency** (opt-in): an AIMD limit on calls in flight, +1 per success while
  the limit is in use, halved on a 429/503/timeout (at most once per window of ``limit``
  outcomes, so one burst of refusals counts once), floor 1, ceiling ``max_limit``. Changes are
  logged at DEBUG on the ``orq_async.throttle`` logger.

:class:`Cooldown` and :class:`AimdLimit` are pure state machines fed with clock readings;
:class:`Throttle` is the thin async gate around them (stdlib only). A cooldown is capped at
:data:`MAX_COOLDOWN` seconds, so waits stay bounded even for a call with no deadline.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import math
import random
import time
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Final

import attrs

__all__ = [
    "MAX_COOLDOWN",
    "PACE_BACKOFF",
    "PACE_END_FACTOR",
    "PACE_GROWTH",
    "PROBE_GROWTH",
    "AimdLimit",
    "Cooldown",
    "Throttle",
    "ThrottleState",
]

logger = logging.getLogger("orq_async.throttle")

#: Seconds: the longest cooldown recorded, whatever the server asks (as the retries' cap).
MAX_COOLDOWN: Final = 60.0
#: Per second: how fast the pace grows after a first cooldown (no ceiling known yet).
PROBE_GROWTH: Final = 1.0
#: Per second: how fast the pace grows after a refusal while paced (the ceiling is near).
PACE_GROWTH: Final = 0.05
#: A refusal while paced restarts at no less than this share of the pace it came at.
PACE_BACKOFF: Final = 0.6
#: Pacing ends when the rate has grown this many times over its estimate.
PACE_END_FACTOR: Final = 16.0
_BUCKET = 0.1  # seconds per bucket of the success counter
_BUCKETS = 100  # 10 s of history, the longest span an estimate looks at
_MIN_SPAN = 1.0
_MIN_PACE = 1.0  # sends/s: the pace when little or nothing was served (no basis to estimate)
_REFUSALS = frozenset((429, 503))


class _Served:
    """Successes per 0.1 s bucket over the last 10 s: bounded memory at any rate."""

    __slots__ = ("_counts", "_stamps")

    def __init__(self) -> None:
        self._counts = [0] * _BUCKETS
        self._stamps = [-1] * _BUCKETS

    def add(self, now: float) -> None:
        stamp = int(now / _BUCKET)
        i = stamp % _BUCKETS
        if self._stamps[i] != stamp:
            self._stamps[i] = stamp
            self._counts[i] = 0
        self._counts[i] += 1

    def since(self, start: float, now: float) -> int:
        """Successes recorded in the buckets from ``start`` to ``now`` (both included)."""
        first, last = int(start / _BUCKET), int(now / _BUCKET)
        return sum(c for c, s in zip(self._counts, self._stamps, strict=True) if first <= s <= last)


class Cooldown:
    """The shared cooldown and its paced release, as a pure state machine.

    Feed it :meth:`succeeded` and :meth:`refused` with clock readings; an attempt may send at
    once when ``now >= free_at`` and not :attr:`pacing` (the happy path); otherwise it waits
    until ``until`` and then asks :meth:`claim` for its slot. The pace is estimated when the
    cooldown ends, so it counts the answers still arriving during it (to calls sent before).
    """

    def __init__(self, rng: random.Random | None = None) -> None:
        self.until = -math.inf
        self.free_at = -math.inf
        self.epoch = 0
        self._rng = rng or random.Random()
        self._served = _Served()
        self._rate = 0.0  # the estimate paced from; 0 when not pacing
        self._pending = False  # a cooldown whose pace is estimated when it ends
        self._span = _MIN_SPAN
        self._refused_at = 0.0  # when the current (or last) cooldown started
        self._growth = PACE_GROWTH
        self._refused_pace: float | None = None  # the pace when the cooldown began

    @property
    def pacing(self) -> bool:
        """Whether sends wait for a cooldown or are paced after one."""
        return self._pending or self._rate > 0.0

    def _starting_pace(self, now: float) -> float:
        served = self._served.since(self._refused_at - self._span, now)
        pace = max(served / self._span, _MIN_PACE)
        if self._refused_pace is not None:  # refused while paced: the ceiling is near that
            pace = max(pace, PACE_BACKOFF * self._refused_pace)
        return pace

    def rate(self, now: float) -> float | None:
        """The paced rate (sends/s) at ``now`` (an estimate so far during a cooldown), or None."""
        if self._pending:
            return self._starting_pace(now)
        if not self._rate:
            return None
        elapsed = max(now - self.until, 0.0)
        return float(self._rate * (1.0 + self._growth) ** elapsed)

    def succeeded(self, now: float) -> None:
        """An attempt got a 2XX response."""
        self._served.add(now)

    def refused(self, now: float, retry_after: float) -> bool:
        """A 429/503 asking to wait ``retry_after`` seconds; True when it started a cooldown.

        A refusal during a cooldown may extend it; one after it ends starts a new one.
        """
        wait = min(max(retry_after, 0.0), MAX_COOLDOWN)
        started = now >= self.until
        if started:
            self._refused_pace = self.rate(now)
            # The span measured: since the last cooldown began (a whole cycle of cooldown and
            # release: what the server sustains), or the asked wait for a first cooldown.
            since = now - self._refused_at if self.epoch else wait
            self._span = min(max(since, _MIN_SPAN), _BUCKET * _BUCKETS)
            self._refused_at = now
        if now + wait > self.until:
            # Slots claimed before are void: their holders wait for the new end and claim again.
            self.until = self.free_at = now + wait
            self._pending = True
            self.epoch += 1
        return started

    def claim(self, now: float, deadline: float | None = None) -> float:
        """When an attempt arriving at ``now`` (not before ``until``) may send; claims that slot
        unless it is later than ``deadline``, and returns it."""
        if self._pending:  # the first claim after the cooldown: estimate, pick a random phase
            self._pending = False
            self._rate = self._starting_pace(self.until)
            self._growth = PROBE_GROWTH if self._refused_pace is None else PACE_GROWTH
            self.free_at = self.until + self._rng.random() / self._rate
        at = self.free_at if self.free_at > now else now
        if deadline is not None and at > deadline:
            return at
        rate = self.rate(at)
        if rate is None:
            return at
        if rate >= self._rate * PACE_END_FACTOR:
            self._rate = 0.0
            return at
        self.free_at = at + 1.0 / rate
        return at


class AimdLimit:
    """An additive-increase, multiplicative-decrease limit on calls in flight.

    Args:
        max_limit: the ceiling (the floor is 1).
        initial: the starting limit, default ``min(8, max_limit)``.
        backoff: the factor applied on a drop.
    """

    def __init__(self, max_limit: int, initial: int | None = None, backoff: float = 0.5) -> None:
        if max_limit < 1:
            raise ValueError(f"max_limit must be >= 1, got {max_limit!r}")
        if not 0.0 < backoff < 1.0:
            raise ValueError(f"backoff must be between 0 and 1, got {backoff!r}")
        self.max_limit = max_limit
        self.limit = min(max_limit, 8) if initial is None else min(max(initial, 1), max_limit)
        self._backoff = backoff
        self._since_drop = self.limit  # outcomes since the last decrease

    def succeeded(self, in_flight: int) -> int:
        """A success with ``in_flight`` calls running (itself included); returns the limit."""
        self._since_drop += 1
        if in_flight * 2 >= self.limit and self.limit < self.max_limit:
            self.limit += 1
            logger.debug("adaptive limit up to %d", self.limit)
        return self.limit

    def dropped(self) -> int:
        """A 429/503/timeout: decrease, unless one already did within this window."""
        if self._since_drop < self.limit:
            self._since_drop += 1
            return self.limit
        self._since_drop = 0
        new = max(1, int(self.limit * self._backoff))
        if new != self.limit:
            logger.debug("adaptive limit down from %d to %d", self.limit, new)
            self.limit = new
        return self.limit


@attrs.frozen
class ThrottleState:
    """A snapshot for metrics.

    Args:
        limit: the adaptive limit on calls in flight (None when adaptive is off).
        in_flight: calls holding a slot (0 when adaptive is off).
        waiting: calls waiting for a slot or for the cooldown.
        cooldown_until: the cooldown's end in clock time, None if none is running.
        pace: sends per second while pacing after a cooldown, else None.
    """

    limit: int | None
    in_flight: int
    waiting: int
    cooldown_until: float | None
    pace: float | None = None


class Throttle:
    """The gate a core asks before every attempt; one per core.

    Args:
        cooldown: honour the server's ``Retry-After`` on 429/503 for every call (the default).
        adaptive: limit calls in flight adaptively (AIMD); off by default.
        max_limit: the adaptive limit's ceiling (the connection pool's size).
        clock: monotonic seconds; inject a fake in tests.
        sleep: how waits sleep; inject a fake in tests.
        rng: the random source of the release phase; inject a seeded one in tests.
    """

    def __init__(
        self,
        *,
        cooldown: bool = True,
        adaptive: bool = False,
        max_limit: int = 100,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        if type(max_limit) is not int or max_limit < 1:  # bool is no size
            raise ValueError(f"max_limit must be an int >= 1, got {max_limit!r}")
        self._cooldown = Cooldown(rng) if cooldown else None
        self._limit = AimdLimit(max_limit) if adaptive else None
        self._clock = clock
        self._sleep = sleep
        self._rng = rng
        self._in_flight = 0
        self._waiting = 0
        self._queue: collections.deque[asyncio.Future[None]] = collections.deque()

    def __repr__(self) -> str:
        return f"<Throttle {self.state}>"

    def for_other_server(self) -> Throttle:
        """A cooldown of its own for another server (a per-call ``server_url``): one server's
        ``Retry-After`` says nothing of another's. Same settings; no adaptive limit (the
        connection pool, which that limit sizes, stays this throttle's)."""
        return Throttle(
            cooldown=self._cooldown is not None, clock=self._clock, sleep=self._sleep, rng=self._rng
        )

    @property
    def state(self) -> ThrottleState:
        """The current limit, calls in flight and waiting, cooldown end and pace."""
        cooldown = self._cooldown
        now = self._clock()
        until = None if cooldown is None or cooldown.until <= now else cooldown.until
        return ThrottleState(
            limit=None if self._limit is None else self._limit.limit,
            in_flight=self._in_flight,
            waiting=self._waiting + len(self._queue),
            cooldown_until=until,
            pace=None if cooldown is None else cooldown.rate(now),
        )

    def open(self) -> bool:
        """Whether an attempt may send right now without waiting (the happy path: no await,
        one clock reading and a comparison). :meth:`wait_turn` is needed only when False."""
        cooldown = self._cooldown
        return cooldown is None or (self._clock() >= cooldown.free_at and not cooldown.pacing)

    async def wait_turn(self, deadline: float | None) -> float | None:
        """Wait out any cooldown before an attempt.

        Args:
            deadline: in clock time, when the attempt's own timeout or retry budget ends.

        Returns:
            None when the attempt may send; or, without waiting, the time it could send when
            that is later than ``deadline`` (refuse the call: it cannot be served in time).
        """
        cooldown = self._cooldown
        if cooldown is None:
            return None
        now = self._clock()
        if now >= cooldown.free_at and not cooldown.pacing:
            return None
        self._waiting += 1
        try:
            while True:
                epoch = cooldown.epoch
                if now < cooldown.until:  # wait for its end; a later refusal may extend it
                    if deadline is not None and cooldown.until > deadline:
                        return cooldown.until
                    end = cooldown.until
                    await self._sleep(end - now)
                    # Trust the sleep (an injected one may not move the clock): no spinning.
                    now = max(self._clock(), end)
                    continue
                at = cooldown.claim(now, deadline)
                if deadline is not None and at > deadline:
                    return at
                if at > now:
                    await self._sleep(at - now)
                    now = max(self._clock(), at)
                if cooldown.epoch == epoch:  # no new refusal while asleep: our slot holds
                    return None
        finally:
            self._waiting -= 1

    def observe(
        self, status: int | None, retry_after: float | None, *, timed_out: bool = False
    ) -> None:
        """Feed one attempt's outcome (status None: no response).

        A 429/503 with ``retry_after`` (seconds) starts or extends the cooldown; successes,
        429/503 and timeouts drive the adaptive limit.
        """
        cooldown, limit = self._cooldown, self._limit
        if status is not None and 200 <= status < 300:
            if cooldown is not None:
                cooldown.succeeded(self._clock())
            if limit is not None:
                limit.succeeded(self._in_flight)
                self._wake()
        elif status in _REFUSALS or timed_out:
            started = (
                cooldown is not None
                and retry_after is not None
                and cooldown.refused(self._clock(), retry_after)
            )
            if started:
                logger.debug("cooldown for %.3f s (status %s)", retry_after, status)
            if limit is not None:
                limit.dropped()

    def slot(self) -> contextlib.AbstractAsyncContextManager[None]:
        """One in-flight call slot, held for the whole call; a no-op when adaptive is off."""
        if self._limit is None:
            return _NO_SLOT
        return self._held()

    @contextlib.asynccontextmanager
    async def _held(self) -> AsyncGenerator[None, None]:
        await self._acquire()
        try:
            yield
        finally:
            self._in_flight -= 1
            self._wake()

    async def _acquire(self) -> None:
        assert self._limit is not None
        if self._in_flight < self._limit.limit and not self._queue:
            self._in_flight += 1
            return
        waiter = asyncio.get_running_loop().create_future()
        self._queue.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():  # granted, then cancelled: pass it on
                self._in_flight -= 1
                self._wake()
            else:
                with contextlib.suppress(ValueError):  # _wake may have dropped it already
                    self._queue.remove(waiter)
            raise

    def _wake(self) -> None:
        """Grant slots to waiters, first come first served, up to the current limit."""
        assert self._limit is not None
        while self._queue and self._in_flight < self._limit.limit:
            waiter = self._queue.popleft()
            if not waiter.done():
                self._in_flight += 1
                waiter.set_result(None)


_NO_SLOT: Final = contextlib.nullcontext()

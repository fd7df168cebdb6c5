"""Fan-out at the server's pace: a shared rate-limit cooldown and an adaptive concurrency limit.

One :class:`Throttle` per core gates every attempt of every call:

- **Cooldown** (on by default). A 429 or 503 carrying ``Retry-After`` / ``retry-after-ms``
  means "no sends to this server before T"; every attempt of every call (first attempts
  included) waits for T, and a call whose deadline ends before T is refused at once.
- **Paced release** (:mod:`orq_async._pace`). Honouring T exactly would wake every waiting
  call at once: the server's bucket drained in a millisecond, the next wave of refusals, a new
  cooldown (the synchronised waves of independent backoff). Instead, once T has passed, sends
  are paced one at a time, evenly spaced, the first at a random phase within one interval
  after T (an injectable RNG) so several cores do not line up; first come, first served.
  The server is modelled as a token bucket (a refusal: it is empty):

  - *No ceiling known* (a first cooldown, or one after pacing ended): start at what the last
    ``max(Retry-After, 1 s)`` served (the burst included: it is also the burst's estimate),
    at least one send per second, and probe: the pace grows by :data:`PROBE_GROWTH` per second.
  - *Refused while paced*: the ceiling. The rate is below the pace refused; at least what was
    served since an earlier refusal a second or more before (the bucket empty at both ends)
    over that span; and at least what the bucket must refill for the last release's pacing,
    from full (at most the burst estimate), to empty it when it did. Pacing resumes at
    :data:`PACE_RESUME` of that and grows by :data:`PACE_GROWTH` per second; first,
    :data:`BANK_SPEND` of what the bucket banked during the cooldown (at most the burst) goes
    at twice the pace. An estimate resting on under a second (a few answers) grows by 20% per
    second, but only up to the midpoint of what its count allows (half an answer more), then
    as above. Each send is stamped with the cooldown's release count: a refusal of a send made
    before the last release (the tail of a wave, arriving late) is not a refusal of the pace.
  - Pacing ends once the pace has grown :data:`PACE_END_FACTOR` times with no call queued
    behind it.

  The cooldown cannot spare the first wave: every call in flight when the bucket empties is
  refused before any refusal comes back (up to the concurrency; the adaptive limit, starting
  low, spares most of it). The pacing bounds what comes after.
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
import random
import time
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Final

import attrs

from orq_async._pace import (
    BANK_SPEND,
    MAX_COOLDOWN,
    PACE_END_FACTOR,
    PACE_GROWTH,
    PACE_RESUME,
    PROBE_GROWTH,
    Cooldown,
)

__all__ = [
    "BANK_SPEND",
    "MAX_COOLDOWN",
    "PACE_END_FACTOR",
    "PACE_GROWTH",
    "PACE_RESUME",
    "PROBE_GROWTH",
    "AimdLimit",
    "Cooldown",
    "Throttle",
    "ThrottleState",
]

logger = logging.getLogger("orq_async.throttle")

_REFUSALS = frozenset((429, 503))


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
        self,
        status: int | None,
        retry_after: float | None,
        *,
        timed_out: bool = False,
        sent_release: int | None = None,
    ) -> None:
        """Feed one attempt's outcome (status None: no response).

        A 429/503 with ``retry_after`` (seconds) starts or extends the cooldown, unless it
        answers a send made before the cooldown's last release (``sent_release``: what
        :attr:`releases` was when the attempt sent); successes, 429/503 and timeouts drive
        the adaptive limit.
        """
        if status is not None and 200 <= status < 300:
            self.succeeded()
            return
        cooldown, limit = self._cooldown, self._limit
        if status in _REFUSALS or timed_out:
            started = (
                cooldown is not None
                and retry_after is not None
                and cooldown.refused(self._clock(), retry_after, sent_release)
            )
            if started:
                logger.debug("cooldown for %.3f s (status %s)", retry_after, status)
            if limit is not None:
                limit.dropped()

    def succeeded(self) -> None:
        """Feed a 2XX outcome: :meth:`observe` of a success, without its dispatch."""
        cooldown, limit = self._cooldown, self._limit
        if cooldown is not None:
            cooldown.succeeded(self._clock())
        if limit is not None:
            limit.succeeded(self._in_flight)
            self._wake()

    @property
    def releases(self) -> int:
        """Cooldowns released so far; stamp a send with it and pass it to :meth:`observe`."""
        cooldown = self._cooldown
        return 0 if cooldown is None else cooldown.releases

    @property
    def clock(self) -> Callable[[], float]:
        """The clock it reads: :meth:`wait_turn`'s deadlines and answers are in its time."""
        return self._clock

    @property
    def adaptive(self) -> bool:
        """Whether the adaptive limit is on (then every call holds a slot)."""
        return self._limit is not None

    def slot(self) -> contextlib.AbstractAsyncContextManager[None]:
        """One in-flight call slot, held for the whole call; a no-op when adaptive is off."""
        if self._limit is None:
            return _NO_SLOT
        return self._held()

    @contextlib.asynccontextmanager
    async def _held(self) -> AsyncGenerator[None, None]:
        await self.acquire()
        try:
            yield
        finally:
            self.release()

    async def acquire(self) -> None:
        """Take an in-flight slot, waiting for one if the limit is reached (adaptive only);
        :meth:`release` gives it back. Cancelled while waiting, it holds nothing."""
        await self._acquire()

    def release(self) -> None:
        """Give back the slot :meth:`acquire` took."""
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

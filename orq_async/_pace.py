"""The shared cooldown and its paced release: a pure state machine (see :mod:`.throttle`).

The server is modelled as a token bucket: ``r`` tokens per second, at most ``b`` banked. A
refusal means the bucket is empty; so between two refusals the server served exactly what it
refilled: ``r`` times the time between them, less what a full bucket could not bank during the
cooldown in between. That gives the rate from what the client itself saw, with no header to
trust but ``Retry-After``.
"""

from __future__ import annotations

import collections
import math
import random
from typing import Final

__all__ = [
    "BANK_SPEND",
    "MAX_COOLDOWN",
    "PACE_END_FACTOR",
    "PACE_GROWTH",
    "PACE_RESUME",
    "PROBE_GROWTH",
    "Cooldown",
    "paced_rate",
]

#: Seconds: the longest cooldown recorded, whatever the server asks (as the retries' cap).
MAX_COOLDOWN: Final = 60.0
#: Per second: how fast the pace grows while no ceiling is known (a first cooldown).
PROBE_GROWTH: Final = 3.0
#: Per second: how fast the pace grows once a ceiling is known (after a refusal while paced).
PACE_GROWTH: Final = 0.005
#: After a refusal, pacing resumes at this share of the rate estimated from the last cycles.
PACE_RESUME: Final = 0.97
#: After a refusal while paced, this share of what the bucket banked during the cooldown is
#: spent at twice the pace (the rest is the margin for the burst's over-estimate).
BANK_SPEND: Final = 0.8
#: Pacing ends when the rate has grown this many times over its estimate.
PACE_END_FACTOR: Final = 16.0
_BUCKET = 0.1  # seconds per bucket of the success counter
_HORIZON = 10.0  # seconds: the oldest history an estimate looks at
_BUCKETS = int(_HORIZON / _BUCKET)
_MIN_SPAN = 1.0  # seconds: the shortest span an estimate divides by (fewer counts are noise)
_TENTATIVE_GROWTH = 0.2  # per second, after an estimate from under a second: a few answers
_MIN_PACE = 1.0  # sends/s: the pace when little or nothing was served (no basis to estimate)


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
    """The shared cooldown and its paced release.

    Feed it :meth:`succeeded` and :meth:`refused` with clock readings; an attempt may send at
    once when ``now >= free_at`` and not :attr:`pacing` (the happy path); otherwise it waits
    until ``until`` and then asks :meth:`claim` for its slot. The pace is estimated when the
    cooldown ends, so it counts the answers still arriving during it (to calls sent before).
    """

    def __init__(self, rng: random.Random | None = None) -> None:
        self.until = -math.inf
        self.free_at = -math.inf
        self.epoch = 0
        self.releases = 0  # cooldowns released so far: a send is stamped with it
        self._rng = rng or random.Random()
        self._served = _Served()  # for a first estimate: what the last seconds served
        self._count = 0  # successes so far
        self._rate = 0.0  # the estimate paced from; 0 when not pacing
        self._growth = PACE_GROWTH
        # After an estimate from under a second: the midpoint of what its count allows (the
        # tentative growth stops there, then grows as under a known ceiling); else None.
        self._cap: float | None = None
        self._pending = False  # a cooldown whose pace is estimated when it ends
        self._refused_at = -math.inf  # when the current (or last) cooldown began
        self._wait = 0.0  # the wait it asked for
        self._refused_pace: float | None = None  # the pace it came at (None: not paced)
        self._released_at = -math.inf  # when the cooldown before it ended
        self._burst = 0.0  # the bucket's size, over-estimated: the first window's successes
        self._bank = 0.0  # tokens the bucket banked during the cooldown, left to spend
        # (began, successes when it ended) of recent cooldowns: the bucket was empty at each.
        self._cycles: collections.deque[tuple[float, int]] = collections.deque(maxlen=16)

    @property
    def pacing(self) -> bool:
        """Whether sends wait for a cooldown or are paced after one."""
        return self._pending or self._rate > 0.0

    def _estimate(self, now: float) -> tuple[float, float, float | None, float | None]:
        """The starting pace, its growth, its cap (see ``_cap``), and the burst estimate when
        no ceiling is known yet (else None)."""
        began = self._refused_at
        cycles = self._cycles
        refused_pace = self._refused_pace
        if refused_pace is None or not cycles:
            # Not paced (a first cooldown, or pacing had ended): no ceiling known; what the last
            # max(wait, 1 s) served, the burst included, and probe from there.
            span = min(max(self._wait, _MIN_SPAN), _HORIZON)
            served = self._served.since(began - span, now)
            return max(served / span, _MIN_PACE), PROBE_GROWTH, None, float(served)
        # Served since an earlier empty bucket, over that span (the latest a second or more
        # before, else the oldest kept): at most the rate, as the bucket was empty at both ends
        # and could only lose tokens while full.
        then, count = next((c for c in reversed(cycles) if began - c[0] >= _MIN_SPAN), cycles[0])
        span = max(began - then, 1e-3)
        served = self._count - count
        rate = served / span
        if self._cap is None:
            # What the last release's pacing, kept by the fan-out from a full bucket, says.
            sending = began - self._released_at
            rate = max(rate, paced_rate(self._rate, self._growth, sending, self._burst))
        rate = min(rate, refused_pace)  # refused at that pace: the rate is below it
        pace = max(PACE_RESUME * rate, _MIN_PACE)
        if span >= _MIN_SPAN:
            return pace, PACE_GROWTH, None, None
        # A few answers, and the last may still have been on its way: the rate is about
        # (served + 0.5) / span, give or take half an answer (10% over 0.2 s). Grow quickly to
        # that midpoint, then as under a known ceiling: past it a refusal is likelier than not.
        cap = min(PACE_RESUME * (served + 0.5) / span, PACE_RESUME * refused_pace)
        return pace, _TENTATIVE_GROWTH, max(cap, pace), None

    def rate(self, now: float) -> float | None:
        """The paced rate (sends/s) at ``now`` (an estimate so far during a cooldown), or None."""
        if self._pending:
            return self._estimate(now)[0]
        if not self._rate:
            return None
        elapsed = max(now - self._released_at, 0.0)
        rate = float(self._rate * (1.0 + self._growth) ** elapsed)
        cap = self._cap
        if cap is None:
            return rate
        return min(rate, float(cap * (1.0 + PACE_GROWTH) ** elapsed))

    def succeeded(self, now: float) -> None:
        """An attempt got a 2XX response."""
        self._served.add(now)
        self._count += 1

    def refused(self, now: float, retry_after: float, sent_release: int | None = None) -> bool:
        """A 429/503 asking to wait ``retry_after`` seconds; True when it started a cooldown.

        A refusal during a cooldown may extend it; one after it ends starts a new one, unless
        it answers a send made before the last release (``sent_release``: :attr:`releases` when
        it was sent): that one tells of the bucket before the cooldown, which has refilled it
        since (the tail of a wave, arriving late), and is not a refusal of the pace.
        """
        if sent_release is not None and sent_release < self.releases and now >= self.until:
            return False
        wait = min(max(retry_after, 0.0), MAX_COOLDOWN)
        started = now >= self.until
        if started:
            self._refused_pace = self.rate(now)
            self._refused_at = now
            self._wait = wait
        if now + wait > self.until:
            # Slots claimed before are void: their holders wait for the new end and claim again.
            self.until = self.free_at = now + wait
            self._pending = True
            self.epoch += 1
        return started

    def _release(self) -> None:
        """The first claim after a cooldown: estimate the pace, pick a random phase."""
        self._pending = False
        self.releases += 1
        rate, growth, cap, burst = self._estimate(self.until)
        self._bank = 0.0
        if burst is None:  # a ceiling: the bucket refilled during the cooldown, up to full
            banked = min(self._burst, rate / PACE_RESUME * (self.until - self._refused_at))
            self._bank = BANK_SPEND * banked
        else:  # each is an over-estimate (the window's rate included): the least
            self._burst = min(self._burst, burst) if self._burst else burst
        self._rate, self._growth, self._cap = rate, growth, cap
        self._cycles.append((self._refused_at, self._count))
        self._released_at = self.until
        self.free_at = self.until + self._rng.random() / self._rate

    def claim(self, now: float, deadline: float | None = None) -> float:
        """When an attempt arriving at ``now`` (not before ``until``) may send; claims that slot
        unless it is later than ``deadline``, and returns it."""
        if self._pending:
            self._release()
        at = self.free_at if self.free_at > now else now
        if deadline is not None and at > deadline:
            return at
        rate = self.rate(at)
        if rate is None:
            return at
        ceiling = self._rate * PACE_END_FACTOR
        if rate >= ceiling:
            if at <= now:  # grown that far and no one queued behind the pace: it ends
                self._rate = 0.0
                return at
            rate = ceiling  # slots claimed ahead keep the pace until then
        if self._bank >= 1.0:  # at twice the rate, a send takes half a token net of the refill
            self._bank -= 0.5
            rate *= 2.0
        self.free_at = at + 1.0 / rate
        return at


def paced_rate(pace: float, growth: float, elapsed: float, burst: float) -> float:
    """The bucket's rate ``r`` if pacing from ``pace`` (growing by ``growth`` per second) from a
    full bucket of ``burst`` emptied it after ``elapsed`` seconds.

    The bucket stays full while the pace is under ``r``, then drains by ``pace - r``: ``r``
    solves ``burst = integral of (pace - r) from the crossing to elapsed``, decreasing in ``r``
    (bisection). An over-estimated burst gives a lower rate: the safe side.
    """
    log_g = math.log1p(growth)

    def sent(t: float) -> float:
        return pace * math.expm1(log_g * t) / log_g

    low, high = 0.0, pace * math.exp(log_g * elapsed)  # the pace at the refusal
    for _ in range(40):
        rate = (low + high) / 2
        crossing = min(max(math.log(rate / pace) / log_g, 0.0), elapsed) if rate > 0 else 0.0
        if sent(elapsed) - sent(crossing) - rate * (elapsed - crossing) > burst:
            low = rate  # drained more than it held: the rate is higher
        else:
            high = rate
    return low

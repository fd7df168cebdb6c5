"""The emulator's rate limit: a token bucket per API key, driven by an injectable clock.

Each key's bucket holds up to ``burst`` tokens and refills at ``rate`` tokens per second; a
request takes one token or is refused with the time until one is available. Requests without a
key share one bucket (keyed by a hash: the key itself is kept nowhere). Pure state, no I/O: a
refusal is a :class:`GatewayError` 429 with ``Retry-After`` for the app to answer.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable

import attrs

from ._errors import GatewayError

__all__ = ["RateLimiter", "limiter", "retry_after_headers"]

#: Buckets kept at most (the least recently used go first), so random keys cannot grow memory.
MAX_BUCKETS = 10_000


@attrs.define
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """Token buckets of ``burst`` tokens refilled at ``rate`` per second, one per key."""

    def __init__(self, rate: float, burst: int, clock: Callable[[], float]) -> None:
        if not (math.isfinite(rate) and rate > 0):
            raise ValueError(f"rate_limit must be a number > 0, got {rate!r}")
        if type(burst) is not int or burst < 1:  # bool is no size
            raise ValueError(f"burst must be an integer >= 1, got {burst!r}")
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}

    def take(self, key: str) -> float:
        """Take a token for ``key``: 0.0 when granted, else the seconds until one is available."""
        now = self._clock()
        bucket = self._buckets.pop(key, None)
        if bucket is None:
            bucket = _Bucket(float(self.burst), now)
        self._buckets[key] = bucket  # most recently used last
        if len(self._buckets) > MAX_BUCKETS:
            del self._buckets[next(iter(self._buckets))]
        elapsed = max(0.0, now - bucket.updated)
        bucket.tokens = min(float(self.burst), bucket.tokens + elapsed * self.rate)
        bucket.updated = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        return (1.0 - bucket.tokens) / self.rate

    def refuse(self, api_key: str | None) -> GatewayError | None:
        """Take a token for a request with ``api_key``; return the 429 to answer when over."""
        wait = self.take(hashlib.sha256((api_key or "").encode()).hexdigest())
        if wait <= 0:
            return None
        return GatewayError(
            429,
            f"rate limit exceeded ({self.rate:g} requests/s, burst {self.burst});"
            f" retry in {wait:.3f} s",
            type="rate_limit_error",
            code="rate_limit_exceeded",
            headers=retry_after_headers(wait),
        )


def limiter(
    rate_limit: float | None, burst: int | None, clock: Callable[[], float]
) -> RateLimiter | None:
    """The limiter of an emulator: none without ``rate_limit``; ``burst`` defaults to it."""
    if rate_limit is None:
        if burst is not None:
            raise ValueError("burst needs a rate_limit")
        return None
    return RateLimiter(
        rate_limit, burst if burst is not None else max(1, math.ceil(rate_limit)), clock
    )


def retry_after_headers(wait: float) -> dict[str, str]:
    """``Retry-After`` in whole seconds (rounded up, at least 1) and ``retry-after-ms``."""
    ms = math.ceil(round(wait * 1000, 6))  # round first: 0.3 s is 300 ms, not 301
    return {"Retry-After": str(max(1, math.ceil(ms / 1000))), "retry-after-ms": str(max(1, ms))}

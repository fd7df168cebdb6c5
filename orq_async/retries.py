"""Client-side HTTP retries (tenacity): the client sending the same request again.

Not to be confused with the gateway's ``retry`` request field (:class:`GatewayRetry`), which
asks the gateway to retry the *provider* call server-side.

Policy:

- ``RetryConfig("none")`` makes one attempt. ``RetryConfig("backoff")`` retries responses whose
  status is in ``retry_codes`` and, if ``retry_connection_errors``, connection failures and
  timeouts, up to ``max_retries`` times and within ``backoff.max_elapsed_time``.
- The wait is exponential with jitter: ``initial_interval * exponent ** (retry - 1)``, scaled
  by a random factor in [0.5, 1], capped by ``max_interval``. A server's ``retry-after-ms`` or
  ``Retry-After`` (seconds or HTTP date) replaces it, capped by ``max_interval``; a server
  asking for more than :data:`RETRY_AFTER_HARD_CAP` seconds ends the retries at once.
- When retries are exhausted, the last outcome is returned as it is.
- The core's default, :data:`SAFE_DEFAULT`, retries only 429: this is a paid, non-idempotent
  POST, and a 5XX, timeout or broken connection after the upload may already have been billed.
  A 429 was refused before any work. Opt into more with ``RetryConfig("backoff")``.
"""

from __future__ import annotations

import email.utils
import math
import random
import time
from collections.abc import Awaitable, Callable, Collection, Mapping
from typing import Any, Literal, Protocol, TypeVar, cast

import attrs
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_result,
    stop_after_attempt,
)
from tenacity.stop import stop_base

from orq_async._guards import check_count, check_milliseconds, check_number

__all__ = [
    "DEFAULT_RETRY_CODES",
    "RETRY_AFTER_HARD_CAP",
    "SAFE_DEFAULT",
    "BackoffStrategy",
    "RetryConfig",
    "Retryable",
    "parse_retry_after",
    "retry_codes_matcher",
    "retry_after_first",
]

#: Seconds; a server asking to wait longer than this ends the retries instead of sleeping.
RETRY_AFTER_HARD_CAP = 60.0
DEFAULT_RETRY_CODES: tuple[int | str, ...] = (429, 500, 502, 503, 504)


def retry_codes_matcher(codes: Collection[int | str]) -> Callable[[int], bool]:
    """Return a predicate for statuses in ``codes`` (``429``, ``"429"``, ``"5XX"``)."""
    exact: set[int] = set()
    hundreds: set[int] = set()
    for code in cast("Collection[object]", codes):  # untyped callers may pass anything
        if not isinstance(code, (int, str)) or isinstance(code, bool):
            raise ValueError(f"retry code must be like 429 or '5XX', got {code!r}")
        text = str(code).strip().upper()
        if len(text) == 3 and text.endswith("XX") and text[0].isdigit():
            hundreds.add(int(text[0]))
        elif text.isdigit() and 100 <= int(text) <= 599:
            exact.add(int(text))
        else:
            raise ValueError(f"retry code must be like 429 or '5XX', got {code!r}")
    return lambda status: status in exact or status // 100 in hundreds


def _non_negative(_inst: object, attr: attrs.Attribute[Any], value: float) -> None:
    check_number(attr.name, value)


def _positive(_inst: object, attr: attrs.Attribute[Any], value: float) -> None:
    if value is None:
        raise TypeError(f"{attr.name} must be a number of milliseconds, got None")
    check_milliseconds(attr.name, value)


def _retries(_inst: object, attr: attrs.Attribute[Any], value: int) -> None:
    check_count(attr.name, value, minimum=0)


def _codes(_inst: object, attr: attrs.Attribute[Any], value: object) -> None:
    if isinstance(value, (str, bytes)) or not isinstance(value, Collection):
        raise TypeError(f"{attr.name} must be a tuple of statuses such as (429, '5XX')")
    try:
        retry_codes_matcher(cast("Collection[int | str]", value))
    except ValueError as exc:
        raise ValueError(f"{attr.name}: {exc}") from None


def _flag(_inst: object, attr: attrs.Attribute[Any], value: bool) -> None:
    if not isinstance(value, bool):
        raise TypeError(f"{attr.name} must be a bool, got {value!r}")


@attrs.frozen
class BackoffStrategy:
    """Exponential backoff; intervals in milliseconds, as in the official SDKs."""

    initial_interval: int = attrs.field(default=500, validator=_non_negative)
    max_interval: int = attrs.field(default=60_000, validator=_non_negative)
    exponent: float = attrs.field(default=1.5, validator=_non_negative)
    #: The retry budget, counted from the first attempt's start: no attempt runs past it.
    max_elapsed_time: int = attrs.field(default=3_600_000, validator=_positive)


@attrs.frozen
class RetryConfig:
    """Client retries of the HTTP call.

    Args:
        strategy: ``"none"`` (one attempt) or ``"backoff"``.
        backoff: the intervals.
        retry_connection_errors: also retry connection failures and timeouts.
        max_retries: retries after the first attempt, at most.
        retry_codes: statuses to retry: ints, ``"429"`` or ranges like ``"5XX"``.
    """

    strategy: Literal["none", "backoff"] = attrs.field(
        default="backoff", validator=attrs.validators.in_(("none", "backoff"))
    )
    backoff: BackoffStrategy = attrs.field(
        factory=BackoffStrategy, validator=attrs.validators.instance_of(BackoffStrategy)
    )
    retry_connection_errors: bool = attrs.field(default=True, validator=_flag)
    max_retries: int = attrs.field(default=3, kw_only=True, validator=_retries)
    retry_codes: tuple[int | str, ...] = attrs.field(
        default=DEFAULT_RETRY_CODES, kw_only=True, validator=_codes
    )


SAFE_DEFAULT = RetryConfig("backoff", retry_connection_errors=False, retry_codes=(429,))


def parse_retry_after(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds the server asks to wait: ``retry-after-ms``, then ``Retry-After`` (or None)."""
    millis = headers.get("retry-after-ms")
    if millis is not None:
        try:
            value = float(millis) / 1000
        except ValueError:
            value = math.nan
        if not math.isnan(value):
            return max(value, 0.0)  # inf (hundreds of digits) means "longer than any cap"
    raw = headers.get("retry-after")
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(raw)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        value = when.timestamp() - (time.time() if now is None else now)
    return None if math.isnan(value) else max(value, 0.0)


class Retryable(Protocol):
    """What the retry loop needs to know about one attempt's outcome."""

    @property
    def retry_after(self) -> float | None:
        """Seconds the server asked to wait, if it did."""

    def should_retry(self, codes: Callable[[int], bool], connection_errors: bool) -> bool:
        """Whether the outcome is worth another attempt under this policy."""
        ...


R = TypeVar("R", bound=Retryable)


class _stop_on_long_retry_after(stop_base):
    def __call__(self, retry_state: RetryCallState) -> bool:
        outcome = retry_state.outcome
        if outcome is None or outcome.failed:
            return True
        wait = outcome.result().retry_after
        return wait is not None and wait > RETRY_AFTER_HARD_CAP


def _make_wait(backoff: BackoffStrategy) -> Callable[[RetryCallState], float]:
    initial = backoff.initial_interval / 1000
    cap = backoff.max_interval / 1000

    def wait(retry_state: RetryCallState) -> float:
        outcome = retry_state.outcome
        asked = outcome.result().retry_after if outcome and not outcome.failed else None
        if asked is not None:
            seconds = min(asked, cap)
        else:
            base = initial * backoff.exponent ** (retry_state.attempt_number - 1)
            seconds = min(cap, base * random.uniform(0.5, 1.0))
        return float(seconds)

    return wait


class _stop_before_deadline(stop_base):
    """``stop_before_delay`` counted from ``started`` (the first attempt's start)."""

    def __init__(self, started: float, max_delay: float) -> None:
        self.started = started
        self.max_delay = max_delay

    def __call__(self, retry_state: RetryCallState) -> bool:
        ended = retry_state.outcome_timestamp
        elapsed = (time.monotonic() if ended is None else ended) - self.started
        return elapsed + retry_state.upcoming_sleep >= self.max_delay


def retry_budget(config: RetryConfig) -> float | None:
    """Seconds of the retry budget (``backoff.max_elapsed_time``), or None when the policy
    allows one attempt only (no retries). A body that cannot be sent twice has none either:
    the caller knows (``orq_async._pipeline.first_deadline``)."""
    if config.strategy == "none" or config.max_retries == 0:
        return None
    return config.backoff.max_elapsed_time / 1000


async def retry_after_first(
    attempt: Callable[[int, float | None], Awaitable[R]],
    first: R,
    started: float,
    budget: float,
    config: RetryConfig,
    codes: Callable[[int], bool],
    *,
    sleep: Callable[[float], Awaitable[None]],
    before_sleep: Callable[[RetryCallState], None] | None = None,
) -> R:
    """Retry after a ``first`` outcome, calling ``attempt(n, deadline)`` for n = 2, 3, ...
    until one needs no retry or the policy stops; return the last outcome.

    The caller makes the first attempt itself, ``started`` (``time.monotonic()``) being when
    the ``budget`` (seconds, :func:`retry_budget`) began and ``started + budget`` the deadline
    it gave that attempt: most calls need no retry, and
    those build no tenacity object. Each attempt clips its own timeout to the deadline, so a
    call never ends later than its budget. Exceptions (``CancelledError`` included) propagate.
    """
    connection_errors = config.retry_connection_errors
    deadline = started + budget
    made: R | None = first
    retrying = AsyncRetrying(
        stop=(
            stop_after_attempt(config.max_retries + 1)
            | _stop_on_long_retry_after()
            | _stop_before_deadline(started, budget)
        ),
        wait=_make_wait(config.backoff),
        retry=retry_if_result(lambda outcome: outcome.should_retry(codes, connection_errors)),
        retry_error_callback=lambda state: state.outcome.result() if state.outcome else None,
        sleep=sleep,
        before_sleep=before_sleep,
    )
    counter = 0

    async def one() -> R:
        nonlocal counter, made
        counter += 1
        if made is not None:  # tenacity's first attempt is the one already made
            outcome, made = made, None
            return outcome
        return await attempt(counter, deadline)

    result: R = await retrying(one)
    return result

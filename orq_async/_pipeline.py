"""The steps of one call between the plan and the Result: each attempt, and the decoding.

:meth:`Attempts.make` is what the retry loop calls for attempt *n*: before-request hooks, the
throttle's gate, the timeout clipped to the retry budget, one :func:`send_once`, the pure
:func:`classify`, and feeding the throttle. :func:`decode_result` turns the last attempt into
the ``Result``, decoding a 2XX body once, after the retries.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

import aiohttp

from orq_async._classify import Attempt, classify
from orq_async._http import send_once
from orq_async._logging import log_send, retry_logger
from orq_async._multipart import EncodedBody
from orq_async._plan import CallPlan, header_problem
from orq_async._redact import Redactor
from orq_async.errors import (
    OrqError,
    RateLimitError,
    ResponseTooLargeError,
    ResponseValidationError,
)
from orq_async.hooks import BeforeRequestHook, HookContext, run_before_request
from orq_async.options import RequestOptions
from orq_async.result import Err, ResponseMeta, Result, ok_with_meta
from orq_async.retries import retry_after_first

if TYPE_CHECKING:
    from orq_async.throttle import Throttle

__all__ = ["Attempts", "decode_result", "first_deadline", "retry"]

T = TypeVar("T")
Decoder = Callable[[int, Any, bytes], "T | ResponseValidationError"]


class Attempts:
    """Makes attempt ``n`` of one call (:meth:`make`); ``made`` counts the attempts (for
    ``meta``)."""

    __slots__ = (
        "body",
        "headers",
        "hooks",
        "log",
        "made",
        "operation_id",
        "options",
        "plan",
        "redactor",
        "session",
        "throttle",
    )

    def __init__(
        self,
        operation_id: str,
        options: RequestOptions,
        plan: CallPlan,
        session: aiohttp.ClientSession,
        headers: dict[str, str],
        body: EncodedBody,
        redactor: Redactor,
        hooks: list[BeforeRequestHook],
        throttle: Throttle | None,
        log: logging.Logger | None,
    ) -> None:
        self.operation_id = operation_id
        self.options = options
        self.plan = plan
        self.session = session
        self.headers = headers
        self.body = body
        self.redactor = redactor
        self.hooks = hooks
        self.throttle = throttle
        self.log = log  # None unless the debug logger is on
        self.made = 0

    async def make(self, number: int, deadline: float | None) -> Attempt:
        """Attempt ``number``; ``deadline`` (monotonic) ends the retry budget, if any."""
        self.made = number
        plan = self.plan
        sent = self.headers
        if self.hooks:
            changed = await self._run_hooks(number)
            if isinstance(changed, OrqError):
                return Attempt(changed)
            sent = changed
        throttle = self.throttle
        mark = None
        if throttle is not None:
            if not throttle.open():  # the happy path does not await
                refused = await self._wait_turn(throttle, deadline)
                if refused is not None:
                    return Attempt(refused)
            mark = throttle.releases  # a refusal of this send is stale after a later release
        timeout = self._timeout(deadline)
        log = self.log
        if log is not None:
            log_send(log, plan.url, number, self.body, sent)
        raw = await send_once(
            self.session,
            plan.url,
            sent,
            self.body,
            timeout,
            plan.max_bytes,
            self.redactor,
            plan.progress,
        )
        outcome = classify(raw, self.redactor)
        if throttle is not None:
            status = outcome.status
            if status is not None and 200 <= status < 300:
                throttle.succeeded()
            else:
                asked = outcome.retry_after if status in (429, 503) else None
                throttle.observe(status, asked, timed_out=outcome.timed_out, sent_release=mark)
        if log is not None:
            log.debug("POST %s attempt %d -> %s", plan.url, number, outcome.status or "failed")
        return outcome

    async def _run_hooks(self, number: int) -> dict[str, str] | OrqError:
        ctx = HookContext(self.operation_id, self.plan.base_url, number, self.options)
        changed = await run_before_request(self.hooks, ctx, self.headers)
        if isinstance(changed, OrqError):
            return changed
        problem = header_problem(changed, " set by a hook")
        return changed if problem is None else problem

    async def _wait_turn(self, throttle: Throttle, deadline: float | None) -> OrqError | None:
        """Wait out the throttle's cooldown, or refuse the attempt if it outlasts the budget.

        ``deadline`` is in ``time.monotonic()`` time; the throttle's clock may be another (a
        test's fake one): the deadline is handed over in the throttle's time.
        """
        total = self.plan.total_s
        now = time.monotonic()
        ends = deadline if total is None else now + total
        if deadline is not None and ends is not None and deadline < ends:
            ends = deadline
        clock_now = throttle.clock()
        blocked = await throttle.wait_turn(None if ends is None else ends - now + clock_now)
        return None if blocked is None else cooldown_error(blocked - clock_now)

    def _timeout(self, deadline: float | None) -> aiohttp.ClientTimeout:
        """This attempt's timeout: the plan's, clipped to what is left of the retry budget (or
        of the first attempt's, after a wait for a pooled connection)."""
        timeout, total = self.plan.timeout, self.plan.total_s
        if deadline is not None:
            left = deadline - time.monotonic()
            if total is None or left < total:
                return clipped_timeout(left, timeout.sock_read)
        return timeout


def clipped_timeout(left: float, sock_read: float | None) -> aiohttp.ClientTimeout:
    """A timeout of ``left`` seconds rounded down to the millisecond (at least one), shared
    by the attempts that end in the same millisecond: a fan-out queued for the pool clips
    each first attempt, and a new ``ClientTimeout`` per call would cost more than the rest of
    the clipping."""
    key = (max(int(left * 1000), 1), sock_read)
    timeout = _CLIPPED.get(key)
    if timeout is None:
        if len(_CLIPPED) >= 256:
            _CLIPPED.clear()
        timeout = _CLIPPED[key] = aiohttp.ClientTimeout(total=key[0] / 1000, sock_read=sock_read)
    return timeout


_CLIPPED: dict[tuple[int, float | None], aiohttp.ClientTimeout] = {}


def first_deadline(
    plan: CallPlan, replayable: bool, waited_since: float | None
) -> tuple[float | None, float | None, float]:
    """``(deadline of the first attempt, retry budget, start)``, all ``time.monotonic()``.

    The budget is None when no retry is possible; ``waited_since`` (when the call started
    waiting for a pooled connection, if it did) moves the first attempt's timeout earlier.
    """
    budget = plan.budget_s if replayable else None  # a body sent once has no retries
    started = time.monotonic()
    first = None if budget is None else started + budget
    if waited_since is not None and plan.total_s is not None:
        queued_end = waited_since + plan.total_s
        first = queued_end if first is None else min(first, queued_end)
    return first, budget, started


async def retry(
    attempt: Attempts,
    last: Attempt,
    started: float,
    budget: float,
    sleep: Callable[[float], Awaitable[None]],
) -> Attempt:
    """The retries the plan's policy allows after a first attempt that asks for one (tenacity
    only for those)."""
    plan = attempt.plan
    return await retry_after_first(
        attempt.make,
        last,
        started,
        budget,
        plan.retry,
        plan.codes,
        sleep=sleep,
        before_sleep=None if attempt.log is None else retry_logger(attempt.log),
    )


def decode_result(
    decode: Decoder[T], last: Attempt, made: int, redactor: Redactor
) -> Result[T, OrqError]:
    """The final Result of the last attempt: a 2XX body decoded once, with its meta."""
    outcome = last.outcome
    if isinstance(outcome, OrqError):
        if isinstance(outcome, ResponseTooLargeError):
            outcome.headers = redactor.headers(outcome.headers)
        return Err(outcome, meta=_redacted_meta(last, made, redactor))
    assert last.status is not None
    value = decode(last.status, last.headers, outcome)
    if isinstance(value, ResponseValidationError):
        if redactor.found_in(value.message):
            value.message = redactor.text(value.message)
            value.args = (value.message,)
        value.headers = redactor.headers(value.headers)
        value.body = redactor.body(value.body)
        return Err(value, meta=_redacted_meta(last, made, redactor))
    return ok_with_meta(value, last.status, last.headers, last.request_id, made)


def _redacted_meta(last: Attempt, made: int, redactor: Redactor) -> ResponseMeta:
    """An error's meta, its headers free of the key (an ``Err`` may be pickled or logged)."""
    return ResponseMeta(
        status_code=last.status,
        headers=redactor.headers(last.headers),
        request_id=last.request_id,
        attempts=made,
    )


def cooldown_error(wait: float) -> RateLimitError:
    """The error of a call refused without sending: the cooldown outlasts its deadline."""
    error = RateLimitError(429, {}, "")
    error.message = (
        f"the server asked for a pause of {max(wait, 0):.3f} s more, past this call's "
        "timeout or retry budget; nothing was sent"
    )
    error.args = (error.message,)
    return error
